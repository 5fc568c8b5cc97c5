"""The scheduler process on three brokers: labelled and runtime schedules, two schedulers.

Every schedule here ticks each second (an ``interval`` of 1 s) or once (``at``): no test waits
for a cron minute. Runs are counted where they land (the probe's file, or the run records).
"""

from __future__ import annotations

import itertools
import signal
import socket
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.schedule_probe import read_ticks
from tests.support.servers import PrivateRedis
from tests.support.waiting import wait_for

PROBE = "tests.support.schedule_probe"
pytestmark = pytest.mark.slow


def claims(database: str) -> list[tuple[str, str]]:
    """(tick, claimed_by) of every interval tick the schedulers claimed (the probe's), in order.

    The probe's label has no ``schedule_id``, so each scheduler gives it a random one: the
    schedulers must still agree which schedule a tick belongs to."""
    with sqlite3.connect(database, timeout=30) as db:
        return db.execute(
            "SELECT tick, claimed_by FROM taskiq_schedule_ticks WHERE tick LIKE 'i%' "
            "ORDER BY claimed_at"
        ).fetchall()


def finished_runs(database: str, task_name: str) -> int:
    try:
        with sqlite3.connect(database, timeout=30) as db:
            return db.execute(
                "SELECT count(*) FROM task_runs WHERE task_name = ? AND status = 'succeeded'",
                (task_name,),
            ).fetchone()[0]
    except sqlite3.OperationalError:  # the table is not there yet
        return 0


def test_a_labelled_schedule_runs_once_a_tick(broker_env, tmp_path, start_worker, start_scheduler):
    runs = str(tmp_path / "ticks.db")
    start_worker(broker_env, extra=[PROBE], PROBE_RUNS_PATH=runs)
    start_scheduler(broker_env, extra=[PROBE], PROBE_RUNS_PATH=runs)
    ticks = wait_for(lambda: len(read_ticks(runs)) >= 4 and read_ticks(runs), timeout=30,
                     what="4 runs of the labelled schedule")  # fmt: skip
    gaps = [later - earlier for earlier, later in itertools.pairwise(ticks)]
    assert min(gaps) > 0.5, f"a tick ran twice: {gaps}"


def test_two_schedulers_send_each_tick_once_and_the_survivor_takes_over(
    broker_env, tmp_path, start_worker, start_scheduler
):
    runs, database = str(tmp_path / "ticks.db"), str(broker_env.database_path)
    start_worker(broker_env, extra=[PROBE], PROBE_RUNS_PATH=runs)
    schedulers = [start_scheduler(broker_env, extra=[PROBE], PROBE_RUNS_PATH=runs)
                  for _ in range(2)]  # fmt: skip
    wait_for(lambda: len(read_ticks(runs)) >= 3, timeout=30, what="3 runs")
    leader_pid = int(claims(database)[-1][1].rpartition(":")[2])
    leader = next(s for s in schedulers if s.pid == leader_pid)
    survivor = next(s for s in schedulers if s is not leader)
    leader.signal_group(signal.SIGKILL)  # no goodbye: its claims simply stop
    leader.wait_exit(timeout=10)
    at_kill = len(claims(database))
    wait_for(lambda: len(claims(database)) >= at_kill + 3, timeout=30, what="3 more ticks")
    survivor.stop(grace=5.0)
    ticks = claims(database)
    wait_for(lambda: len(read_ticks(runs)) >= len(ticks) - 1, timeout=15, what="every run")
    ran = len(read_ticks(runs))
    # A tick claimed by the leader in the instant it died may be lost; none is ever doubled.
    assert len(ticks) - 1 <= ran <= len(ticks), (ran, ticks)
    numbers = [int(tick.removeprefix("i")) for tick, _ in ticks]
    assert len(set(numbers)) == len(numbers)
    assert max(b - a for a, b in itertools.pairwise(numbers)) <= 2, numbers
    after = {by for _, by in ticks[at_kill:]}
    assert after == {f"{socket.gethostname()}:{survivor.pid}"}


@pytest.mark.parametrize("broker_env", ["sqlite"], indirect=True)
def test_without_the_extras_two_schedulers_send_every_tick_twice(
    broker_env, tmp_path, start_worker, start_scheduler
):
    """The trap the extras close: stock taskiq wants exactly one scheduler process."""
    runs = str(tmp_path / "ticks.db")
    stock = {"PROBE_RUNS_PATH": runs, "TASKIQ_EXTRAS": "false"}
    start_worker(broker_env, extra=[PROBE], **stock)
    for _ in range(2):
        start_scheduler(broker_env, extra=[PROBE], **stock)
    ticks = wait_for(lambda: len(read_ticks(runs)) >= 6 and read_ticks(runs), timeout=30,
                     what="6 runs")  # fmt: skip
    doubled = [b - a for a, b in itertools.pairwise(ticks) if b - a < 0.5]
    assert doubled, f"expected some ticks sent twice, runs at {ticks}"


def test_runtime_schedules_survive_a_scheduler_restart(
    broker_env, start_api, start_worker, start_scheduler
):
    database = str(broker_env.database_path)
    api = start_api(broker_env)
    start_worker(broker_env)
    scheduler = start_scheduler(broker_env)
    with api.client() as http:
        every = http.post("/schedules", json={"task_name": "purge_old_reports",
                                              "interval_seconds": 1})  # fmt: skip
        assert every.status_code == 201, every.text
        soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
        once = http.post("/schedules", json={
            "task_name": "send_notification_email", "at": soon,
            "kwargs": {"user_id": 1, "subject": "Hi", "message": "once"}})  # fmt: skip
        assert once.status_code == 201, once.text
        wait_for(lambda: finished_runs(database, "purge_old_reports") >= 2, timeout=30,
                 what="2 runs of the runtime schedule")  # fmt: skip
        scheduler.stop()
        assert scheduler.proc.returncode == 0, scheduler.log()[-2000:]  # SIGTERM: a clean stop
        scheduler = start_scheduler(broker_env)  # a new process: it reads them again
        before = finished_runs(database, "purge_old_reports")
        wait_for(lambda: finished_runs(database, "purge_old_reports") >= before + 2, timeout=30,
                 what="runs after the restart")  # fmt: skip
        wait_for(lambda: finished_runs(database, "send_notification_email") == 1, timeout=30,
                 what="the one-off schedule")  # fmt: skip
        listed = {s["schedule_id"] for s in http.get("/schedules").json()}
        assert listed == {every.json()["schedule_id"]}  # the one-off is gone once sent
        assert http.delete(f"/schedules/{every.json()['schedule_id']}").status_code == 204
        assert http.get("/schedules").json() == []
        assert http.delete(f"/schedules/{every.json()['schedule_id']}").status_code == 404
    assert finished_runs(database, "send_notification_email") == 1


@pytest.mark.parametrize("broker_env", ["redis"], indirect=True)
def test_runtime_schedules_survive_a_restart_of_a_persistent_redis(
    broker_env, tmp_path, start_api, start_worker, start_scheduler
):
    redis = PrivateRedis(tmp_path / "redis", persistent=True)
    redis.dir.mkdir()
    redis.start()
    try:
        broker_env.overrides |= {"TASKIQ_REDIS_PORT": str(redis.port), "TASKIQ_REDIS_DB": "0"}
        database = str(broker_env.database_path)
        api = start_api(broker_env)
        start_worker(broker_env)
        scheduler = start_scheduler(broker_env)
        with api.client() as http:
            added = http.post("/schedules", json={"task_name": "purge_old_reports",
                                                  "interval_seconds": 1})  # fmt: skip
            assert added.status_code == 201, added.text
            wait_for(lambda: finished_runs(database, "purge_old_reports") >= 1, timeout=30,
                     what="a first run")  # fmt: skip
            scheduler.stop()
            redis.stop()
            redis.start()  # the same port and directory: it replays its append-only file
            start_scheduler(broker_env)
            before = finished_runs(database, "purge_old_reports")
            wait_for(lambda: finished_runs(database, "purge_old_reports") >= before + 2,
                     timeout=60, what="runs after Redis came back")  # fmt: skip
            assert [s["schedule_id"] for s in http.get("/schedules").json()] == [
                added.json()["schedule_id"]
            ]
    finally:
        redis.stop()
