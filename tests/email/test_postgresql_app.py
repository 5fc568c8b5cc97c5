"""The reference app on PostgreSQL (migrated), as on several machines: Redis for the queue,
PostgreSQL for the data. A report, the sign-up emails and a scheduled notification all go
through; the task runs and results land in PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.email.conftest import ADMIN_TOKEN
from tests.support.brokers import make_broker_env
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]
ADMIN = {"X-Admin-Token": ADMIN_TOKEN}


def runs_in_postgresql(url: str) -> dict[str, str]:
    import asyncpg

    async def read() -> dict[str, str]:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            rows = await connection.fetch("SELECT task_name, status FROM task_runs")
        finally:
            await connection.close()
        return {row["task_name"]: row["status"] for row in rows}

    return asyncio.run(read())


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_the_app_on_postgresql_runs_a_report_emails_and_a_schedule(
    broker, postgres_url, tmp_path, start_api, start_worker, start_scheduler, mail_settings, smtp
):
    env = make_broker_env(broker, tmp_path)
    env.overrides["DATABASE_URL"] = postgres_url
    try:
        api = start_api(env, **mail_settings)
        start_worker(env, PUBLIC_BASE_URL=api.base_url, **mail_settings)
        start_scheduler(env, **mail_settings)
        with api.client() as client:
            report = client.post("/reports", json={"title": "pg", "values": [1, 2, 3]}).json()

            def complete():
                found = client.get(f"/reports/{report['id']}").json()
                return found["status"] == "complete" and found

            done = wait_for(complete, timeout=30, what="the report")
            assert done["result"]["sum"] == 6.0
            assert client.post("/users", json={"email": "pg@example.com", "name": "Pg"}
                               ).status_code == 202  # fmt: skip
            wait_for(lambda: len(smtp.to("pg@example.com")) == 2, timeout=30, what="sign-up")
            soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
            notify = {"user_id": 1, "subject": "Scheduled", "message": "on time"}
            scheduled = client.post("/schedules", headers=ADMIN, json={
                "task_name": "send_notification_email", "at": soon, "kwargs": notify})  # fmt: skip
            assert scheduled.status_code == 201, scheduled.text
            wait_for(lambda: "Scheduled" in {m.subject for m in smtp.to("pg@example.com")},
                     timeout=30, what="the scheduled notification")  # fmt: skip

        def recorded():
            runs = runs_in_postgresql(postgres_url)
            return runs.get("send_notification_email") == "succeeded" and runs

        runs = wait_for(recorded, timeout=15, what="the run records")
        assert runs["process_report"] == "succeeded"
    finally:
        asyncio.run(env.cleanup())
