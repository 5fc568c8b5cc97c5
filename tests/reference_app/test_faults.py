"""Faults on every broker: killed workers, stopped workers, poison messages. Nothing is lost.

Each scenario goes through the real path: HTTP -> broker -> worker process -> database.
The numbers each run measured are written to build/faults/<broker>.json for the docs.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
from taskiq import BrokerMessage, TaskiqMessage

from tests.support.dead_letters import read_dead_letters
from tests.support.fault_records import record
from tests.support.producer import kick, producer
from tests.support.waiting import async_wait_for, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]
REPORTS = 200
PROBE = ["tests.support.probe_tasks"]


def status_counts(db_path: Path) -> dict[str, int]:
    if not db_path.exists():
        return {}
    with sqlite3.connect(db_path, timeout=30) as db:
        try:
            return dict(db.execute("SELECT status, count(*) FROM reports GROUP BY status"))
        except sqlite3.OperationalError:
            return {}


def rerun_count(db_path: Path) -> int:
    with sqlite3.connect(db_path, timeout=30) as db:
        return db.execute("SELECT count(*) FROM reports WHERE runs > 1").fetchone()[0]


def post_reports(api, count: int, delay_ms: int) -> list[int]:
    with api.client() as client:
        ids = []
        for n in range(count):
            response = client.post(
                "/reports", json={"title": f"r{n}", "values": [n, 1], "delay_ms": delay_ms}
            )
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
    return ids


def test_sigkill_mid_batch_loses_nothing(broker_env, start_worker, start_api):
    """200 reports; the whole worker SIGKILLed mid-run; no task enqueued after the kill."""
    api = start_api(broker_env)
    db = broker_env.database_path
    post_reports(api, REPORTS, delay_ms=40)  # all queued before any worker runs
    worker = start_worker(broker_env, TASKIQ_WORKER_PROCESSES=1, TASKIQ_WORKER_CONCURRENCY=4)

    wait_for(lambda: status_counts(db).get("complete", 0) >= 20, timeout=60, what="20 done",
             interval=0.01)  # fmt: skip
    worker.signal_group(signal.SIGKILL)  # main process and its children, no goodbye
    worker.wait_exit(timeout=10)
    done_at_kill = status_counts(db).get("complete", 0)
    assert done_at_kill < REPORTS / 2, "the kill came too late to test anything"

    restarted = time.monotonic()
    start_worker(broker_env, TASKIQ_WORKER_PROCESSES=1, TASKIQ_WORKER_CONCURRENCY=4)
    wait_for(
        lambda: status_counts(db).get("complete", 0) == REPORTS,
        timeout=90,
        what=f"all {REPORTS} reports to complete",
    )
    recovery = time.monotonic() - restarted
    counts = status_counts(db)
    assert counts == {"complete": REPORTS}
    record(
        broker_env.broker_type,
        "sigkill_mid_batch",
        {
            "tasks": REPORTS,
            "complete_at_kill": done_at_kill,
            "lost": REPORTS - counts.get("complete", 0),
            "rerun_after_redelivery": rerun_count(db),
            "seconds_to_finish_after_restart": round(recovery, 2),
        },
    )


def test_worker_processes_sigkilled_at_random_points_lose_nothing(
    broker_env, start_worker, start_api
):
    """1,000 reports, 2 worker processes; three times, at a random point of the run, one of
    them (chosen at random) is SIGKILLed and taskiq's manager starts a new one. Every report
    completes; a redelivered one runs again and finds its work done (duplicates counted)."""
    tasks, kills = 1000, 3
    seed = int(os.environ.get("FAULT_SEED", random.SystemRandom().randrange(10**6)))
    rng = random.Random(seed)
    print(f"FAULT_SEED={seed}")  # to replay this exact run
    api = start_api(broker_env)
    db = broker_env.database_path
    post_reports(api, tasks, delay_ms=5)
    worker = start_worker(broker_env, TASKIQ_WORKER_PROCESSES=2, TASKIQ_WORKER_CONCURRENCY=4)
    started = time.monotonic()
    kill_points = sorted(rng.sample(range(100, 800), kills))
    killed = []
    for point in kill_points:
        wait_for(lambda p=point: status_counts(db).get("complete", 0) >= p, timeout=90,
                 what=f"{point} done", interval=0.005)  # fmt: skip
        wait_for(lambda: len(worker.child_pids()) == 2, timeout=30, what="2 worker processes")
        victim = rng.choice(worker.child_pids())
        os.kill(victim, signal.SIGKILL)
        killed.append((point, victim))
        # Gone for good before the next round, so the next victim is never this one.
        wait_for(lambda v=victim: v not in worker.child_pids(), timeout=30,
                 what=f"process {victim} to die")  # fmt: skip
    wait_for(lambda: status_counts(db).get("complete", 0) == tasks, timeout=120,
             what=f"all {tasks} reports to complete")  # fmt: skip
    seconds = time.monotonic() - started
    assert status_counts(db) == {"complete": tasks}
    wait_for(lambda: len(set(worker.started_pids())) >= 2 + kills, timeout=30,
             what="taskiq to replace every killed process")  # fmt: skip
    assert worker.alive()
    record(
        broker_env.broker_type,
        "sigkill_random_processes",
        {
            "tasks": tasks,
            "kills": kills,
            "killed_at_completed": [point for point, _ in killed],
            "lost": tasks - status_counts(db).get("complete", 0),
            "rerun_after_redelivery": rerun_count(db),
            "seconds_to_finish": round(seconds, 2),
            "seed": seed,
        },
    )


@pytest.mark.parametrize("target", ["main process", "process group"])
def test_sigterm_stops_the_worker_in_time_and_loses_nothing(
    broker_env, start_worker, start_api, target
):
    api = start_api(broker_env)
    worker = start_worker(
        broker_env,
        TASKIQ_WORKER_PROCESSES=2,
        TASKIQ_WORKER_CONCURRENCY=2,
        TASKIQ_WAIT_TASKS_TIMEOUT=5,
        TASKIQ_SHUTDOWN_TIMEOUT=2,
    )
    db = broker_env.database_path
    post_reports(api, 30, delay_ms=300)
    wait_for(lambda: status_counts(db).get("complete", 0) >= 2, timeout=60, what="2 done")

    sent = time.monotonic()
    if target == "main process":
        worker.signal_main(signal.SIGTERM)  # as `docker stop` and systemd do
    else:
        worker.signal_group(signal.SIGTERM)  # as Ctrl-C in a terminal does
    worker.wait_exit(timeout=5 + 2 + 5)  # wait-tasks + shutdown timeouts, and a margin
    exit_seconds = time.monotonic() - sent
    assert worker.child_pids() == []
    assert "Traceback" not in worker.log()

    start_worker(broker_env, TASKIQ_WORKER_PROCESSES=2, TASKIQ_WORKER_CONCURRENCY=2)
    wait_for(lambda: status_counts(db).get("complete", 0) == 30, timeout=90, what="all 30 complete")
    assert status_counts(db) == {"complete": 30}
    record(
        broker_env.broker_type,
        f"sigterm_{target.replace(' ', '_')}",
        {"tasks": 30, "lost": 0, "exit_seconds": round(exit_seconds, 2)},
    )


async def test_poison_messages_are_moved_aside_and_the_worker_keeps_going(
    broker_env, start_worker, start_api
):
    api = start_api(broker_env)
    worker = start_worker(broker_env)
    async with producer(broker_env) as broker:
        await broker.kick(
            BrokerMessage(task_id="bad-1", task_name="x", message=b"{not json", labels={})
        )
        await kick(broker, "no_such.task", anything=1)
        good = post_reports(api, 1, delay_ms=0)[0]
        wait_for(
            lambda: status_counts(broker_env.database_path).get("complete") == 1,
            timeout=30,
            what="the good report after the poison",
        )
        letters = []

        async def collect():
            letters.extend(await read_dead_letters(broker_env, broker))
            return len(letters) >= 2

        from tests.support.waiting import async_wait_for

        await async_wait_for(collect, timeout=20, what="two dead letters")

    reasons = sorted(reason for _, reason in letters)
    assert len(letters) == 2, letters
    assert reasons[0].startswith("malformed message")
    assert "unknown task 'no_such.task'" in reasons[1]
    assert b"{not json" in [payload for payload, _ in letters]
    assert worker.alive()
    assert good == 1


async def test_a_run_that_breaks_after_the_task_returned_is_not_left_hanging(
    broker_env, start_worker
):
    """The task returns, then its session's commit fails: taskiq saves no result and sends no
    ack. Our receiver gives the message back; it is tried again and, failing every time, ends
    in the dead letters after TASKIQ_MAX_DELIVERIES, instead of sitting with its worker."""
    limits = {"TASKIQ_MAX_DELIVERIES": 2, "TASKIQ_LEASE_SECONDS": 1}
    worker = start_worker(broker_env, extra=PROBE, **limits)
    async with producer(broker_env, **limits) as broker:  # RabbitMQ: same queue arguments
        await kick(broker, "probe.commit_fails")
        letters = await async_wait_for(
            lambda: read_dead_letters(broker_env, broker), timeout=60, what="the dead letter"
        )
    assert b"probe.commit_fails" in letters[0][0]
    assert worker.log().count("A run failed outside its task function") >= 2
    assert worker.alive()


async def test_an_admin_lists_dead_letters_and_replays_one_once_it_can_run(
    broker_env, start_worker, start_api
):
    """A task moved aside (here by hand, as after a crash loop) runs again when replayed; a
    malformed one is refused and kept; both need the admin token."""
    token = "dead-letter-adm1n-token"
    admin = {"X-Admin-Token": token}
    api = start_api(broker_env, ADMIN_TOKEN=token)
    start_worker(broker_env)
    report_id = post_reports(api, 1, delay_ms=0)[0]
    task_id = f"replayed-{uuid.uuid4().hex}"
    async with producer(broker_env) as broker:
        good = broker.formatter.dumps(
            TaskiqMessage(task_id=task_id, task_name="process_report", labels={}, args=[],
                          kwargs={"report_id": report_id})
        ).message  # fmt: skip
        await broker.dead_letter(good, "parked by the test")
        await broker.dead_letter(b"{not json", "malformed message (parked by the test)")

    with api.client() as client:
        assert client.get("/tasks/dead-letters").status_code == 401
        letters = client.get("/tasks/dead-letters", headers=admin).json()["items"]
        (parked,) = [letter for letter in letters if letter["task_id"] == task_id]
        (malformed,) = [letter for letter in letters if letter["payload"] == "{not json"]
        assert parked["task_name"] == "process_report"
        assert parked["reason"] == "parked by the test"
        replay = f"/tasks/dead-letters/{parked['id']}/replay"
        assert client.post(replay).status_code == 401
        refused = client.post(f"/tasks/dead-letters/{malformed['id']}/replay", headers=admin)
        assert refused.status_code == 409
        assert "not a taskiq message" in refused.json()["detail"]
        missing = client.post("/tasks/dead-letters/999999999/replay", headers=admin)
        assert missing.status_code == 404

        replayed = client.post(replay, headers=admin)
        assert replayed.status_code == 200, replayed.text
        assert replayed.json() == {
            "replayed": parked["id"], "task_id": task_id, "task_name": "process_report"
        }  # fmt: skip

        def run_status():
            response = client.get(f"/tasks/runs/{task_id}", headers=admin)
            return response.status_code == 200 and response.json()["status"] == "succeeded"

        wait_for(run_status, timeout=30, what="the replayed task to run")
        left = client.get("/tasks/dead-letters", headers=admin).json()["items"]
        assert [letter["id"] for letter in left] == [malformed["id"]]
        assert client.post(replay, headers=admin).status_code == 404  # replayed only once
