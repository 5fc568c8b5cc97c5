"""The second queue in the reference app: slow reports fill their workers, and an email is
still sent at once, because it waits on another queue (TASKIQ_SLOW_QUEUE=true)."""

from __future__ import annotations

import time

import pytest

from tests.email.conftest import ADMIN_TOKEN
from tests.support.waiting import wait_for

pytestmark = pytest.mark.broker
SLOW = {"TASKIQ_SLOW_QUEUE": "true"}


def test_an_email_is_sent_while_slow_reports_fill_every_slot_of_their_queue(
    broker_env, start_worker, start_api, mail_settings, smtp, record_property
):
    api = start_api(broker_env, **mail_settings, **SLOW)
    start_worker(broker_env, PUBLIC_BASE_URL=api.base_url, **mail_settings, **SLOW)
    start_worker(broker_env, extra=["--queue", "slow"], **mail_settings, **SLOW,
                 TASKIQ_WORKER_CONCURRENCY=2)  # fmt: skip
    with api.client() as client:
        ids = [client.post("/reports", json={"title": f"slow {n}", "values": [1, 2],
                                             "delay_ms": 60_000}).json()["id"]
               for n in range(2)]  # fmt: skip

        def statuses() -> list[str]:
            return [client.get(f"/reports/{report_id}").json()["status"] for report_id in ids]

        wait_for(lambda: statuses() == ["processing"] * 2, timeout=30,
                 what="both slots of the slow queue busy")  # fmt: skip
        asked = time.monotonic()
        signed_up = client.post("/users", json={"email": "ada@example.com", "name": "Ada"})
        assert signed_up.status_code == 202, signed_up.text
        wait_for(lambda: len(smtp.to("ada@example.com")) == 2, timeout=30,
                 what="the welcome and verification emails")  # fmt: skip
        record_property("email_seconds", round(time.monotonic() - asked, 3))
        assert statuses() == ["processing"] * 2  # sent while the reports still ran

        def queues() -> dict[str, str]:  # task name -> the broker:queue its run was on
            runs = client.get("/tasks/runs", params={"limit": 50},
                              headers={"X-Admin-Token": ADMIN_TOKEN}).json()["items"]  # fmt: skip
            return {run["task_name"]: run["broker"] for run in runs}

        # Runs are recorded in batches (every TASKIQ_RUNS_FLUSH_INTERVAL): wait for both.
        seen = wait_for(lambda: {"process_report", "send_welcome_email"} <= set(q := queues())
                        and q, timeout=15, what="both runs in /tasks")  # fmt: skip
    assert seen["process_report"] == f"{broker_env.broker_type}:{broker_env.queue}.slow"
    assert seen["send_welcome_email"] == f"{broker_env.broker_type}:{broker_env.queue}"
