"""Task runs, as the API shows them, on every broker with real worker processes."""

from __future__ import annotations

import signal
import sqlite3

import pytest

from tests.support import probe_tasks
from tests.support.producer import kick, producer
from tests.support.waiting import wait_for

pytestmark = pytest.mark.broker
PROBE = ["tests.support.probe_tasks"]


def run_of(client, task_id: str) -> dict | None:
    response = client.get(f"/tasks/runs/{task_id}")
    return response.json() if response.status_code == 200 else None


def wait_run(client, task_id: str, predicate, what: str, timeout: float = 30) -> dict:
    return wait_for(
        lambda: (run := run_of(client, task_id)) is not None and predicate(run) and run,
        timeout=timeout,
        what=what,
    )


async def test_each_kind_of_run_shows_the_right_history(
    broker_env, start_worker, start_api, tmp_path
):
    worker = start_worker(broker_env, extra=PROBE, TASKIQ_RETRY_DELAY=0.1)
    api = start_api(broker_env)
    runs_db = str(tmp_path / "runs.db")
    async with producer(broker_env) as broker:
        ok = await kick(broker, "probe.record_run", path=runs_db, key="ok", hold_ms=10)
        bad = await kick(broker, "probe.fail", reason="on purpose")
        flaky = await kick(
            broker, "probe.flaky", labels=probe_tasks.flaky.labels,
            path=runs_db, key="flaky", fail_times=2,
        )  # fmt: skip

    with api.client() as client:
        done = wait_run(client, ok.task_id, lambda r: r["status"] == "succeeded", "ok")
        assert done["queued_at"] and done["started_at"] and done["finished_at"]
        assert done["duration_ms"] >= 10 and done["starts"] == 1
        assert done["broker"] == broker_env.broker_type

        failed = wait_run(client, bad.task_id, lambda r: r["status"] == "failed", "failure")
        assert failed["error_type"] == "ValueError"
        assert failed["error_message"] == "boom: on purpose"

        retried = wait_run(client, flaky.task_id, lambda r: r["status"] == "succeeded", "retry")
        assert retried["retries"] == 2 and retried["starts"] == 3
        assert retried["error_type"] == "ConnectionError"  # what the failed tries said

        # Killed mid-run: the whole worker goes down while `long` runs; a new one finishes it.
        async with producer(broker_env) as broker:
            long = await kick(broker, "probe.record_run", path=runs_db, key="long", hold_ms=3000)
        wait_run(client, long.task_id, lambda r: r["status"] == "started", "long to start")
        worker.signal_group(signal.SIGKILL)
        worker.wait_exit(timeout=10)
        start_worker(broker_env, extra=PROBE)
        again = wait_run(
            client, long.task_id, lambda r: r["status"] == "succeeded", "redelivery", timeout=60
        )
        assert again["starts"] == 2 and again["redelivered"] is True

        stats = client.get("/tasks/stats").json()
        assert stats["tasks"]["probe.fail"]["failure_rate"] == 1.0
        assert stats["brokers"][broker_env.broker_type]["counts"]["succeeded"] >= 3


def test_runs_recorded_by_the_web_process_and_two_workers_agree(
    broker_env, start_worker, start_api
):
    start_worker(broker_env, TASKIQ_WORKER_PROCESSES=2)
    api = start_api(broker_env)
    with api.client() as client:
        task_ids = {
            client.post("/reports", json={"title": f"r{n}", "values": [n]}).json()["task_id"]
            for n in range(40)
        }

        def all_succeeded():
            page = client.get("/tasks/runs", params={"task_name": "process_report", "limit": 500})
            body = page.json()
            done = [r for r in body["items"] if r["status"] == "succeeded"]
            return body if len(done) == 40 else None

        body = wait_for(all_succeeded, timeout=60, what="40 succeeded runs")
    assert body["total"] == 40
    assert {r["task_id"] for r in body["items"]} == task_ids  # none missing, none extra
    assert all(r["starts"] == 1 for r in body["items"])  # none doubled
    assert all(r["queued_at"] for r in body["items"])  # the web process's part is there
    assert len({r["worker_pid"] for r in body["items"]}) == 2  # both processes worked
    with sqlite3.connect(broker_env.database_path) as db:
        executed = db.execute("SELECT count(*) FROM reports WHERE runs = 1").fetchone()[0]
    assert executed == 40
