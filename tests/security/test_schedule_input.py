"""POST /schedules refuses a bad schedule at once (422, saying why) and stores nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.security.conftest import TOKEN, client

NOTIFY = {"user_id": 1, "subject": "Hi", "message": "m"}


def body(**fields):
    return {"task_name": "send_notification_email", "kwargs": NOTIFY, **fields}


@pytest.mark.parametrize(
    ("sent", "says"),
    [
        (body(cron="61 * * * *"), "minute '61' is not in 0-59"),
        (body(cron="* * *"), "a cron line has 5 fields"),
        (body(cron="*/0 * * * *"), "step in '*/0' is 0"),
        (body(cron="0 9 * * *", timezone="Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
        (body(at="2020-01-01T09:00:00"), "is in the past"),
        (body(at="2020-01-01T09:00:00+01:00", timezone="Europe/Paris"), "is in the past"),
        (body(), "give exactly one of at, interval_seconds or cron"),
        (body(cron="0 9 * * *", interval_seconds=60), "give exactly one"),
        (body(interval_seconds=0), "greater than or equal to 1"),
        (body(interval_seconds=60, kwargs={"user_id": 1}), "missing a required argument"),
        (body(interval_seconds=60, kwargs={**NOTIFY, "db": 1}), "unexpected keyword"),
        ({"task_name": "send_email", "interval_seconds": 60}, "cannot be scheduled"),
        ({"task_name": "no_such_task", "interval_seconds": 60}, "cannot be scheduled"),
        (body(interval_seconds=60, extra=1), "Extra inputs are not permitted"),
    ],
    ids=["cron-minute-61", "cron-3-fields", "cron-step-0", "unknown-zone", "past-time",
         "past-time-paris", "no-kind", "two-kinds", "interval-0", "missing-kwarg",
         "depends-kwarg", "not-allowed", "unknown-task", "unknown-field"],
)  # fmt: skip
async def test_a_bad_schedule_is_a_clear_422(app_with, sent, says):
    app = app_with(ADMIN_TOKEN=TOKEN)
    async with app.router.lifespan_context(app), client(app) as http:
        response = await http.post("/schedules", json=sent, headers={"X-Admin-Token": TOKEN})
        listed = await http.get("/schedules", headers={"X-Admin-Token": TOKEN})
    assert response.status_code == 422, response.text
    assert says in response.text
    assert listed.json() == []  # nothing was stored


async def test_an_allowed_name_that_is_no_task_is_refused(app_with):
    app = app_with(ADMIN_TOKEN=TOKEN, SCHEDULES_ALLOWED_TASKS='["ghost"]')
    async with app.router.lifespan_context(app), client(app) as http:
        response = await http.post("/schedules", headers={"X-Admin-Token": TOKEN},
                                   json={"task_name": "ghost", "interval_seconds": 5})  # fmt: skip
    assert response.status_code == 422
    assert "is not a task of the scheduler's broker" in response.text


async def test_schedules_need_the_admin_token(app_with):
    app = app_with(ADMIN_TOKEN=TOKEN)
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    async with app.router.lifespan_context(app), client(app) as http:
        anonymous = await http.post("/schedules", json=body(at=soon))
        listing = await http.get("/schedules")
        wrong = await http.delete("/schedules/abc", headers={"X-Admin-Token": "nope"})
    assert (anonymous.status_code, listing.status_code, wrong.status_code) == (401, 401, 401)
