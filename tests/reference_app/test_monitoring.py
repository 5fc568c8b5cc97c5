"""Task runs, as the API shows them, on every broker with real worker processes."""

from __future__ import annotations

import signal
import sqlite3

import pytest

from tests.support import probe_tasks
from tests.support.processes import ROOT
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
        assert done["broker"] == f"{broker_env.broker_type}:{broker_env.queue}"

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
        on_queue = f"{broker_env.broker_type}:{broker_env.queue}"
        assert stats["brokers"][on_queue]["counts"]["succeeded"] >= 3


def test_runs_recorded_by_the_web_process_and_two_workers_agree(
    broker_env, start_worker, start_api
):
    start_worker(broker_env, TASKIQ_WORKER_PROCESSES=2)
    api = start_api(broker_env)
    with api.client() as client:
        task_ids = {
            client.post("/reports", json={"title": f"r{n}", "values": [n], "delay_ms": 50}).json()[
                "task_id"
            ]
            for n in range(40)
        }

        def all_recorded():
            page = client.get("/tasks/runs", params={"task_name": "process_report", "limit": 500})
            body = page.json()
            # Each process flushes its own part every 0.5 s, in any order: the workers' part
            # (succeeded) can land before the web process's (queued_at), or after it.
            done = [r for r in body["items"] if r["status"] == "succeeded" and r["queued_at"]]
            return body if len(done) == 40 else None

        body = wait_for(all_recorded, timeout=60, what="40 succeeded runs with their queued_at")
    assert body["total"] == 40
    assert {r["task_id"] for r in body["items"]} == task_ids  # none missing, none extra
    assert all(r["starts"] == 1 for r in body["items"])  # none doubled
    assert len({r["worker_pid"] for r in body["items"]}) == 2  # both processes worked
    with sqlite3.connect(broker_env.database_path) as db:
        executed = db.execute("SELECT count(*) FROM reports WHERE runs = 1").fetchone()[0]
    assert executed == 40


def test_the_tasks_page_shows_registry_counts_and_errors(tmp_path, start_worker, start_api):
    from tests.support.brokers import BrokerEnv

    env = BrokerEnv("sqlite", tmp_path)
    start_worker(env)
    api = start_api(env)
    with api.client() as client:
        queued = client.post("/reports", json={"title": "x", "values": [1]}).json()
        wait_run(client, queued["task_id"], lambda r: r["status"] == "succeeded", "the run")
        page = client.get("/tasks")
    assert page.status_code == 200
    html = page.text
    assert '<meta http-equiv="refresh" content="2">' in html
    assert "<code>process_report</code>" in html
    assert "reference_app.modules.reports.tasks.process_report_task" in html  # registry
    assert 'class="succeeded" data-count="succeeded">1<' in html


def test_the_page_in_a_browser_shows_counts_changing_while_tasks_run(
    tmp_path, start_worker, start_api
):
    from selenium.webdriver.common.by import By

    from tests.support.brokers import BrokerEnv
    from tests.support.browser import chromium

    env = BrokerEnv("sqlite", tmp_path)
    start_worker(env, TASKIQ_WORKER_CONCURRENCY=1)
    api = start_api(env)
    with chromium(tmp_path) as browser, api.client() as client:
        for n in range(30):  # about 6 s of work: the page refreshes every 2 s meanwhile
            client.post("/reports", json={"title": f"r{n}", "values": [n], "delay_ms": 200})
        browser.get(f"{api.base_url}/tasks")

        def succeeded() -> int:
            cells = browser.find_elements(
                By.CSS_SELECTOR, 'tr[data-task="process_report"] td[data-count="succeeded"]'
            )
            try:
                return int(cells[0].text) if cells else 0
            except Exception:  # the page was replaced under us by its refresh: read again
                return 0

        first = wait_for(lambda: succeeded() or None, timeout=20, what="a first count")
        later = wait_for(lambda: (n := succeeded()) > first and n, timeout=20,
                         what="the count to grow on its own")  # fmt: skip
        assert browser.title.startswith("Tasks")
        shots = ROOT / "build" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(shots / "tasks-page.png"))
    assert later > first
