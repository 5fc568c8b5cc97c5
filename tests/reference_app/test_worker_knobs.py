"""FastroAI's worker knobs really work: TASKIQ_WORKER_CONCURRENCY and TASKIQ_MAX_TASKS_PER_WORKER.

taskiq reads no environment variable; our launcher maps them to ``--max-async-tasks`` and
``--max-tasks-per-child``. These tests watch real worker processes run probe tasks.
"""

from __future__ import annotations

import pytest

from tests.support.probe_tasks import read_runs
from tests.support.producer import kick, producer
from tests.support.waiting import async_wait_for

pytestmark = pytest.mark.broker
PROBE = ["tests.support.probe_tasks"]


def max_overlap(runs) -> dict[int, int]:
    """For each worker pid, the most tasks it ran at the same moment."""
    most: dict[int, int] = {}
    for pid in {run[1] for run in runs}:
        events = []
        for _key, run_pid, started, finished in runs:
            if run_pid == pid:
                events += [(started, 1), (finished, -1)]
        running = 0
        for _, step in sorted(events, key=lambda e: (e[0], e[1])):
            running += step
            most[pid] = max(most.get(pid, 0), running)
    return most


async def finished_runs(path: str, count: int, timeout: float):
    async def done():
        runs = read_runs(path)
        finished = [r for r in runs if r[3] is not None]
        return finished if len({r[0] for r in finished}) >= count else None

    return await async_wait_for(done, timeout=timeout, interval=0.1, what=f"{count} probe runs")


async def test_a_worker_never_runs_more_than_the_concurrency_setting(
    broker_env, start_worker, tmp_path
):
    start_worker(broker_env, extra=PROBE, TASKIQ_WORKER_PROCESSES=1, TASKIQ_WORKER_CONCURRENCY=3)
    runs_db = str(tmp_path / "runs.db")
    async with producer(broker_env) as broker:
        for n in range(12):
            await kick(broker, "probe.record_run", path=runs_db, key=f"t{n}", hold_ms=300)
        runs = await finished_runs(runs_db, 12, timeout=30)

    assert max(max_overlap(runs).values()) == 3  # reached, never exceeded


async def test_a_worker_process_is_replaced_after_n_tasks_and_nothing_is_lost(
    broker_env, start_worker, tmp_path
):
    worker = start_worker(
        broker_env,
        extra=PROBE,
        TASKIQ_WORKER_PROCESSES=1,
        TASKIQ_WORKER_CONCURRENCY=2,
        TASKIQ_MAX_TASKS_PER_WORKER=4,
    )
    runs_db = str(tmp_path / "runs.db")
    async with producer(broker_env) as broker:
        for n in range(20):
            await kick(broker, "probe.record_run", path=runs_db, key=f"t{n}", hold_ms=20)
        runs = await finished_runs(runs_db, 20, timeout=60)

    keys = sorted(run[0] for run in runs)
    assert keys == sorted(f"t{n}" for n in range(20))  # every task ran exactly once
    per_pid: dict[int, int] = {}
    for run in runs:
        per_pid[run[1]] = per_pid.get(run[1], 0) + 1
    assert max(per_pid.values()) <= 4  # no process ran more than N
    assert len(per_pid) >= 5  # so at least 20 / 4 processes took turns
    assert set(per_pid) <= set(worker.started_pids())  # all of them started by the manager


async def test_a_task_longer_than_the_lease_runs_once(broker_env, start_worker, tmp_path):
    """The worker renews the lease while the task runs; nobody else starts it meanwhile."""
    start_worker(broker_env, extra=PROBE, TASKIQ_WORKER_PROCESSES=2, TASKIQ_LEASE_SECONDS=1)
    runs_db = str(tmp_path / "runs.db")
    async with producer(broker_env) as broker:
        await kick(broker, "probe.record_run", path=runs_db, key="long", hold_ms=4000)
        runs = await finished_runs(runs_db, 1, timeout=30)
    assert len(read_runs(runs_db)) == 1 == len(runs)  # four leases long, one run


async def test_tasks_use_the_apps_dependencies_and_results_come_back(broker_env, start_worker):
    """taskiq-fastapi runs the app's lifespan in the worker; the result backend returns JSON."""
    start_worker(broker_env, extra=PROBE)
    async with producer(broker_env) as broker:
        task = await kick(broker, "probe.app_title")
        result = await task.wait_result(timeout=20)
    assert not result.is_err, result.error
    assert result.return_value == {"title": "Taskiq reference app", "has_sessionmaker": True}


async def test_a_task_that_blocks_the_event_loop_loses_its_lease_and_runs_again(
    broker_env, start_worker, tmp_path
):
    """At-least-once, shown: a frozen worker cannot renew, so another worker runs the task.
    RabbitMQ has no lease (it redelivers when a connection drops), so there it runs once."""
    start_worker(broker_env, extra=PROBE, TASKIQ_WORKER_PROCESSES=2, TASKIQ_LEASE_SECONDS=1)
    runs_db = str(tmp_path / "runs.db")
    async with producer(broker_env) as broker:
        await kick(broker, "probe.block_loop", path=runs_db, key="frozen", seconds=3)
        expected = 1 if broker_env.broker_type == "rabbitmq" else 2
        runs = await async_wait_for(
            lambda: _runs_when(runs_db, expected), timeout=30, what=f"{expected} runs"
        )
    assert len(runs) == expected
    assert len({pid for _, pid, _, _ in runs}) == expected  # each run in another process


async def _runs_when(path: str, count: int):
    runs = read_runs(path)
    return runs if len(runs) >= count else None
