"""Task sessions on PostgreSQL: NullPool or a pool per worker process, and worker processes
recycled by --max-tasks-per-child leave no connection behind on the server."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.brokers import BrokerEnv
from tests.support.postgres import HOST, PORT
from tests.support.producer import kick, producer
from tests.support.waiting import wait_for

PROBE = ["tests.support.probe_tasks"]
PROCESSES, CONCURRENCY = 2, 2


def connections(url: str) -> int:
    """Client connections to the test's database on the server, ours excluded."""
    import asyncpg

    async def count() -> int:
        connection = await asyncpg.connect(host=HOST, port=PORT, user="postgres",
                                           database="postgres")  # fmt: skip
        try:
            return await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND backend_type = "
                "'client backend' AND pid <> pg_backend_pid()",
                url.rpartition("/")[2],
            )
        finally:
            await connection.close()

    return asyncio.run(count())


@pytest.mark.slow
@pytest.mark.parametrize("pool_size", [0, 2], ids=["NullPool", "pool-of-2"])
def test_recycled_workers_leave_no_connection_on_the_server(
    postgres_url, tmp_path, start_worker, pool_size
):
    env = BrokerEnv("sqlite", tmp_path, overrides={"DATABASE_URL": postgres_url})
    worker = start_worker(env, extra=PROBE, listeners=PROCESSES,
                          TASKIQ_WORKER_PROCESSES=PROCESSES,
                          TASKIQ_WORKER_CONCURRENCY=CONCURRENCY,
                          TASKIQ_MAX_TASKS_PER_WORKER=5,  # recycled every 5 tasks
                          DATABASE_TASK_POOL_SIZE=pool_size,
                          TASKIQ_RUNS_ENABLED="false")  # the tasks' connections only  # fmt: skip

    async def run_tasks() -> set[int]:
        async with producer(env) as broker:
            tasks = [await kick(broker, "probe.database_backend") for _ in range(40)]
            results = [await task.wait_result(timeout=60) for task in tasks]
        assert not [r for r in results if r.is_err], [r.error for r in results if r.is_err]
        return {r.return_value for r in results}

    backends = asyncio.run(run_tasks())
    assert len(worker.started_pids()) > PROCESSES  # processes were recycled on the way
    # What is still open now is what the live processes hold: none with NullPool.
    held = connections(postgres_url)
    assert held <= PROCESSES * pool_size, held
    if pool_size == 0:
        assert held == 0 and len(backends) == 40  # a new connection for every task
    worker.stop()
    wait_for(lambda: connections(postgres_url) == 0, timeout=15,
             what="every connection closed once the workers stopped")  # fmt: skip
