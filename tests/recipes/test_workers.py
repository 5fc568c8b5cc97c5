"""recipes/workers on every broker: tasks spread over processes, each capped at its concurrency.

Recycling (--max-tasks-per-child), the concurrency cap of the app's own tasks and SIGTERM are
proved for the reference app in tests/reference_app/test_worker_knobs.py and test_faults.py.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from collections import defaultdict

import pytest

from recipes.workers.tasks import most_at_once
from tests.support.dead_letters import read_dead_letters
from tests.support.processes import WorkerProcess
from tests.support.producer import kick, producer
from tests.support.recipes import run_recipe
from tests.support.waiting import async_wait_for, wait_for

pytestmark = pytest.mark.broker
TASKS = "recipes.workers.tasks"


async def run_jobs(broker, jobs: int, hold_ms: int) -> list[dict]:
    tasks = [await kick(broker, "workers.report_pid", job=n, hold_ms=hold_ms) for n in range(jobs)]
    results = [await task.wait_result(timeout=30) for task in tasks]
    assert not any(r.is_err for r in results), [r.error for r in results]
    return [r.return_value for r in results]


def test_the_recipe_runs_as_a_reader_runs_it(broker_env):
    output = run_recipe("workers", broker_env)
    assert "12 tasks ran in 2 worker processes:" in output
    jobs = [int(n) for line in re.findall(r"jobs \[([\d, ]+)\]", output) for n in line.split(",")]
    assert sorted(jobs) == list(range(12))  # every task ran, once
    assert all(int(n) <= 2 for n in re.findall(r"at most (\d+) at once", output))


async def test_tasks_spread_over_the_processes_each_within_its_concurrency(
    broker_env, start_worker
):
    worker = start_worker(
        broker_env, extra=[TASKS], TASKIQ_WORKER_PROCESSES=2, TASKIQ_WORKER_CONCURRENCY=3
    )
    async with producer(broker_env) as broker:
        runs = await run_jobs(broker, jobs=16, hold_ms=300)
    per_process = defaultdict(list)
    for run in runs:
        per_process[run["pid"]].append(run)
    assert set(per_process) == set(worker.child_pids())  # both processes took work
    assert sorted(r["job"] for r in runs) == list(range(16))
    assert all(most_at_once(mine) <= 3 for mine in per_process.values())


async def test_the_seeds_command_runs_the_recipes_tasks_when_given_the_module(broker_env, tmp_path):
    command = [sys.executable, "-m", "taskiq", "worker",
               "reference_app.infrastructure.taskiq.worker:email_broker", TASKS,
               "--workers", "2"]  # fmt: skip
    worker = WorkerProcess(broker_env.process_env(), tmp_path / "taskiq-worker.log")
    worker.command = command
    worker.start_and_wait(listeners=2)
    try:
        async with producer(broker_env) as broker:
            (run,) = await run_jobs(broker, jobs=1, hold_ms=10)
        assert run["pid"] in worker.child_pids()
    finally:
        worker.stop()


async def test_a_worker_that_did_not_import_the_module_dead_letters_the_task(
    broker_env, start_worker
):
    start_worker(broker_env)  # no extra module: only the app's own tasks
    async with producer(broker_env) as broker:
        job = await kick(broker, "workers.report_pid", job=1)
        result = await job.wait_result(timeout=20)  # whoever waits learns why, at once
        letters = await async_wait_for(
            lambda: read_dead_letters(broker_env, broker), timeout=20, what="the dead letter"
        )
    (letter,) = letters
    assert "unknown task 'workers.report_pid'" in letter[1]
    assert "passed to `taskiq worker`" in letter[1]
    assert result.is_err and "unknown task 'workers.report_pid'" in str(result.error)

    def recorded() -> tuple | None:  # /tasks shows it failed with the reason, not queued
        with sqlite3.connect(broker_env.database_path) as db:
            return db.execute("SELECT status, error_type, error_message FROM task_runs "
                              "WHERE task_id = ?", (job.task_id,)).fetchone()  # fmt: skip

    status, error_type, message = wait_for(
        lambda: (row := recorded()) and row[0] != "queued" and row, timeout=20,
        what="the run to be recorded as failed",
    )  # fmt: skip
    assert (status, error_type) == ("failed", "UnknownTaskError")
    assert "unknown task 'workers.report_pid'" in message
