"""taskiq-dashboard plugged in with its middleware: a real dashboard server, a real worker.

The dashboard runs under uvicorn (``dashboard_app``) with SQLite storage in the test's temp
dir; the worker and the enqueuing process get TASKIQ_DASHBOARD_URL/TOKEN. What the dashboard
saw is read from its own database and its own pages. Then the dashboard is down (nothing
listening, or a server that never answers): tasks must still run, and not wait for it.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.brokers import BrokerEnv
from tests.support.probe_tasks import read_runs
from tests.support.processes import UvicornServer, free_port
from tests.support.producer import kick, producer
from tests.support.waiting import wait_for

pytest.importorskip(
    "taskiq_dashboard",
    reason="taskiq-dashboard is an optional extra: pip install '.[dashboard]' (or '.[dev]')",
)

pytestmark = pytest.mark.broker
PROBE = ["tests.support.probe_tasks"]
TOKEN = "dashboard-test-token"
# taskiq-dashboard's TaskStatus
IN_PROGRESS, COMPLETED, FAILURE, QUEUED = 0, 1, 2, 3
MIDDLEWARE_TIMEOUT = 5.0  # DashboardMiddleware's default HTTP timeout, in seconds


class DashboardServer(UvicornServer):
    """``uvicorn --factory ...dashboard:dashboard_app`` on a free port, SQLite storage."""

    def __init__(self, tmp_path: Path) -> None:
        self.database = tmp_path / "dashboard.db"
        env = BrokerEnv("sqlite", tmp_path).process_env()  # no stray TASKIQ_* settings
        env.update({
            "TASKIQ_DASHBOARD__STORAGE_TYPE": "sqlite",
            "TASKIQ_DASHBOARD__SQLITE__DSN": f"sqlite+aiosqlite:///{self.database}",
            "TASKIQ_DASHBOARD__API__TOKEN": TOKEN,
        })  # fmt: skip
        target = "taskiq_extras.dashboard:dashboard_app"
        log = tmp_path / "dashboard.log"
        super().__init__(target, env, log, factory=True, ready_path="/liveness")
        self.command.append("--no-access-log")

    def task(self, task_id: str) -> dict | None:
        """The dashboard's row for ``task_id``, from its own database."""
        try:
            with sqlite3.connect(self.database, timeout=30) as db:
                db.row_factory = sqlite3.Row
                row = db.execute(
                    "SELECT * FROM tasks WHERE id = ?", (uuid.UUID(task_id).hex,)
                ).fetchone()
        except sqlite3.OperationalError:  # the table is not there yet
            return None
        return dict(row) if row else None


@pytest.fixture
def dashboard(tmp_path) -> Iterator[DashboardServer]:
    server = DashboardServer(tmp_path)
    try:
        yield server.start_and_wait()
    finally:
        server.stop()


def dashboard_settings(url: str) -> dict[str, str]:
    return {"TASKIQ_DASHBOARD_URL": url, "TASKIQ_DASHBOARD_TOKEN": TOKEN}


async def test_the_dashboard_sees_each_task_with_its_status(dashboard, start_worker, tmp_path):
    env = BrokerEnv("sqlite", tmp_path)
    settings = dashboard_settings(f"{dashboard.base_url}/")
    worker = start_worker(env, extra=PROBE, **settings)
    runs_db = str(tmp_path / "runs.db")
    async with producer(env, **settings) as broker:
        ok = await kick(broker, "probe.record_run", path=runs_db, key="ok", hold_ms=10)
        bad = await kick(broker, "probe.fail", reason="on purpose")

    done = wait_for(
        lambda: (row := dashboard.task(ok.task_id)) and row["status"] == COMPLETED and row,
        timeout=30,
        what="the dashboard to show the task completed",
    )
    assert done["name"] == "probe.record_run"
    assert done["worker"] == f"sqlite:{env.queue}"  # our broker_name
    assert done["queued_at"] and done["started_at"] and done["finished_at"]
    assert '"key": "ok"' in done["kwargs"]  # it keeps every argument, in clear
    assert done["error"] is None
    assert json.loads(done["result"]) == {"value": worker.child_pids()[0]}  # wrapped by `fixed`

    failed = wait_for(
        lambda: (row := dashboard.task(bad.task_id)) and row["status"] == FAILURE and row,
        timeout=30,
        what="the dashboard to show the task failed",
    )
    assert failed["name"] == "probe.fail"
    assert "ValueError" in failed["error"] and "boom: on purpose" in failed["error"]

    check_pages(dashboard, ok.task_id, "probe.record_run")


def status_of(method: str, url: str, **kwargs) -> int:
    """One request on its own connection: after an unhandled error uvicorn drops the
    connection, so a second request on a kept-alive one would be reset."""
    return httpx.request(method, url, timeout=10, **kwargs).status_code


def check_pages(dashboard: DashboardServer, task_id: str, task_name: str) -> None:
    # Its pages need no token: only /api/ (the events) does. Keep it on a private network.
    for path in ("/", f"/tasks/{uuid.UUID(task_id)}"):
        page = httpx.get(f"{dashboard.base_url}{path}", timeout=10)
        assert page.status_code == 200 and task_name in page.text, path
    # Events without the right token are refused (with a 500, not a 401: its middleware raises
    # HTTPException where FastAPI does not turn it into a response) and not stored.
    forged_id = str(uuid.uuid4())
    body = {"taskName": "forged", "worker": "w", "queuedAt": "2026-01-01T00:00:00"}
    for headers in ({}, {"access-token": "wrong"}):
        url = f"{dashboard.base_url}/api/tasks/{forged_id}/queued"
        assert status_of("POST", url, json=body, headers=headers) in (401, 500)
    assert dashboard.task(forged_id) is None


def test_a_scalar_result_breaks_the_dashboard_pages_without_fixed(dashboard):
    """Why ``fixed`` wraps results: what the plain middleware sends for ``return 42``.

    When this fails, taskiq-dashboard reads scalar results: drop that part of ``fixed``.
    """
    task_id = uuid.uuid4()
    now = "2026-01-01T00:00:00"
    events = {
        "queued": {"taskName": "plain.answer", "worker": "w", "queuedAt": now},
        "started": {"taskName": "plain.answer", "worker": "w", "startedAt": now},
        "executed": {"finishedAt": now, "executionTime": 0.1, "returnValue": {"return_value": 42}},
    }
    for event, body in events.items():
        url = f"{dashboard.base_url}/api/tasks/{task_id}/{event}"
        assert status_of("POST", url, json=body, headers={"access-token": TOKEN}) == 204
    assert status_of("GET", f"{dashboard.base_url}/tasks/{task_id}") == 500
    assert status_of("GET", f"{dashboard.base_url}/") == 500  # the whole task list
    assert "dict_type" in dashboard.log()


def hanging_server() -> socket.socket:
    """A port that accepts connections (the kernel does) but never answers a request."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock


async def run_burst(
    env: BrokerEnv, runs_db: str, count: int, **settings
) -> tuple[dict[str, float], list[str]]:
    """Enqueue ``count`` tasks at once; per task, the time from ``.kiq()`` to its end (ms),
    and the tasks' ids."""
    kicked: dict[str, float] = {}
    task_ids = []
    kick_costs = []
    async with producer(env, **settings) as broker:
        await kick(broker, "probe.record_run", path=runs_db, key="warm-up")
        wait_for(lambda: any(r[0] == "warm-up" and r[3] for r in read_runs(runs_db)),
                 timeout=30, what="the warm-up task")  # fmt: skip
        for n in range(count):
            key = f"burst-{n}"
            kicked[key] = time.time()
            task_ids.append((await kick(broker, "probe.record_run", path=runs_db, key=key)).task_id)
            kick_costs.append(time.time() - kicked[key])
        finished = wait_for(
            lambda: (
                (done := {r[0]: r[3] for r in read_runs(runs_db) if r[3]})
                and all(key in done for key in kicked)
                and done
            ),
            timeout=120,
            what=f"{count} tasks to finish",
        )
    latencies = sorted(finished[key] - kicked[key] for key in kicked)
    return {
        "kick_ms": statistics.mean(kick_costs) * 1000,
        "mean_ms": statistics.mean(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000,
        "max_ms": latencies[-1] * 1000,
        "wall_per_task_ms": (max(finished[k] for k in kicked) - min(kicked.values()))
        / count
        * 1000,
    }, task_ids


async def test_tasks_run_and_do_not_wait_when_the_dashboard_is_down(
    dashboard, start_worker, tmp_path
):
    """Per task latency: no dashboard, dashboard up, nothing listening, a dashboard that hangs."""
    count = 100
    hanging = hanging_server()
    cases = {
        "no dashboard": {},
        "dashboard up": dashboard_settings(f"{dashboard.base_url}/"),
        "refused": dashboard_settings(f"http://127.0.0.1:{free_port()}/"),
        "hanging": dashboard_settings(f"http://127.0.0.1:{hanging.getsockname()[1]}/"),
    }
    numbers = {}
    try:
        for name, settings in cases.items():
            case_dir = tmp_path / name.replace(" ", "-")
            case_dir.mkdir()
            env = BrokerEnv("sqlite", case_dir)
            worker = start_worker(env, extra=PROBE, **settings)
            numbers[name], task_ids = await run_burst(
                env, str(case_dir / "runs.db"), count, **settings
            )
            assert worker.alive()
            log = worker.log()
            worker.stop()
            if name == "dashboard up":  # every one completed, none stuck "in progress"
                wait_for(
                    lambda ids=task_ids: all(
                        (row := dashboard.task(task_id)) and row["status"] == COMPLETED
                        for task_id in ids
                    ),
                    timeout=30,
                    what=f"the dashboard to show {count} tasks completed",
                )
            if name in ("refused", "hanging"):
                # Each event failed and was logged; no task failed because of it.
                assert "taskiq_dashboard" in log or "POST api/tasks" in log, log[-2000:]
    finally:
        hanging.close()

    print(f"\nper task, {count} tasks enqueued at once (ms):")
    for name, row in numbers.items():
        print(f"  {name:13} " + "  ".join(f"{k}={v:7.1f}" for k, v in row.items()))
    for name in ("refused", "hanging"):
        # Had a task waited for its events, it would take the middleware's 5 s timeout.
        assert numbers[name]["max_ms"] < MIDDLEWARE_TIMEOUT * 1000
