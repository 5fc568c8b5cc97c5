"""Progress from a running task (taskiq's ``set_progress`` / ``get_progress``) on every backend.

taskiq's ``AsyncResultBackend`` accepts ``set_progress`` and stores nothing; our SQLite and
database result backends used to inherit that, so ``get_progress`` answered None there while
taskiq-redis's backend kept it. Now all three keep the last progress per task, as JSON, under
the results' expiry, readable by another process as soon as ``set_progress`` returns.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time

import pytest
from taskiq import TaskiqResult
from taskiq.depends.progress_tracker import TaskProgress, TaskState

from reference_app.infrastructure.taskiq.brokers import build_broker
from taskiq_extras.result_backend import DatabaseResultBackend
from taskiq_extras.sqlite_broker import SQLiteBroker, SQLiteResultBackend
from tests.support.brokers import TEST_REDIS_DB, BrokerEnv
from tests.support.producer import kick, producer
from tests.support.waiting import async_wait_for

pytestmark = pytest.mark.broker
PROGRESS_TASKS = ["tests.support.progress_tasks"]


async def stored_progress(env: BrokerEnv, task_id: str) -> tuple[str, float] | None:
    """The raw progress the backend keeps for ``task_id`` and the seconds it has left."""
    if env.broker_type == "redis":
        from redis.asyncio import Redis

        key = f"{env.queue}:result:{task_id}__progress"
        async with Redis(host="127.0.0.1", port=6379, db=TEST_REDIS_DB) as redis:
            raw, ttl = await redis.get(key), await redis.ttl(key)
        return None if raw is None else (raw.decode(), float(ttl))
    # SQLite keeps it in the broker's file; RabbitMQ's results live in the app's database.
    path = env.tmp_path / "broker.db" if env.broker_type == "sqlite" else env.database_path
    with sqlite3.connect(path) as db:
        row = db.execute(
            "SELECT payload, expires_at FROM taskiq_progress WHERE task_id = ?", (task_id,)
        ).fetchone()
    return None if row is None else (row[0], row[1] - time.time())


async def test_progress_a_task_sets_in_a_worker_is_readable_right_after(
    broker_env, start_worker, tmp_path
):
    start_worker(broker_env, extra=PROGRESS_TASKS)
    marks = tmp_path / "marks"
    marks.mkdir()
    async with producer(broker_env) as broker:
        task = await kick(broker, "probe.report_steps", folder=str(marks), steps=3)
        seen = []
        for step in ("1", "2", "3", "done"):
            mark = marks / f"set-{step}"
            await async_wait_for(lambda m=mark: asyncio.to_thread(m.exists), timeout=20,
                                 what=f"the task to set step {step}")  # fmt: skip
            # Read once, at once: set_progress has returned in the worker.
            seen.append(await broker.result_backend.get_progress(task.task_id))
            (marks / f"read-{step}").touch()
        result = await task.wait_result(timeout=20)
        after = await broker.result_backend.get_progress(task.task_id)
    assert not result.is_err, result.error
    assert [(p.state, p.meta) for p in seen] == [
        ("STARTED", {"step": 1, "of": 3}),
        ("STARTED", {"step": 2, "of": 3}),
        ("STARTED", {"step": 3, "of": 3}),
        ("SUCCESS", {"step": 3, "of": 3}),  # meta kept: the worker read its last progress
    ]
    # Ours and taskiq-redis's alike: the last progress outlives the result's arrival, until
    # it expires as results do.
    assert after is not None and after.state == "SUCCESS"


@pytest.mark.parametrize("extras", ["true", "false"], ids=["extras", "stock"])
async def test_the_backend_keeps_the_last_progress_as_json_for_the_results_ttl(broker_env, extras):
    settings = broker_env.settings(TASKIQ_EXTRAS=extras, TASKIQ_RESULT_TTL_SECONDS=120)
    worker = build_broker(settings)
    worker.is_worker_process = True  # its result backend is the one a worker writes with
    reader = build_broker(settings)  # a separate client: what the API process reads with
    await worker.startup()
    await reader.startup()
    task_id = f"{broker_env.queue}-progress"
    try:
        assert await reader.result_backend.get_progress(task_id) is None  # nothing set yet
        await worker.result_backend.set_progress(
            task_id, TaskProgress(state=TaskState.STARTED, meta={"percent": 10})
        )
        first = await reader.result_backend.get_progress(task_id)
        await worker.result_backend.set_progress(
            task_id, TaskProgress(state="resizing", meta={"percent": 60})
        )
        second = await reader.result_backend.get_progress(task_id)
        raw = await stored_progress(broker_env, task_id)
        # The result arrives: the progress is still there (its own row or key, its own TTL).
        await worker.result_backend.set_result(
            task_id, TaskiqResult(is_err=False, return_value=1, execution_time=0.1)
        )
        after_result = await reader.result_backend.get_progress(task_id)
    finally:
        await reader.shutdown()
        await worker.shutdown()
    assert (first.state, first.meta) == ("STARTED", {"percent": 10})
    assert (second.state, second.meta) == ("resizing", {"percent": 60})  # replaced, not added
    assert raw is not None
    payload, seconds_left = raw
    assert json.loads(payload) == {"state": "resizing", "meta": {"percent": 60}}  # JSON text
    assert 100 < seconds_left <= 120  # TASKIQ_RESULT_TTL_SECONDS, as for a result
    assert after_result is not None and after_result.meta == {"percent": 60}


def progress(percent: int) -> TaskProgress:
    return TaskProgress(state=TaskState.STARTED, meta={"percent": percent})


OLD_RESULTS_TABLE = """
CREATE TABLE taskiq_results (
    task_id VARCHAR(64) NOT NULL, payload TEXT NOT NULL, expires_at FLOAT NOT NULL,
    PRIMARY KEY (task_id)
);
CREATE INDEX ix_taskiq_results_expires_at ON taskiq_results (expires_at);
INSERT INTO taskiq_results VALUES ('old', '{"is_err":false,"log":null,"return_value":7,
  "execution_time":0.1,"labels":{},"error":null}', 1e12);
"""


@pytest.mark.parametrize("backend", ["sqlite", "database"])
async def test_a_file_made_before_progress_existed_gains_its_table(tmp_path, backend):
    """A broker file (or app database) with only the old ``taskiq_results`` table: the next
    start adds ``taskiq_progress``, and the results already stored stay readable."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_RESULTS_TABLE)
    broker: SQLiteBroker | None = None
    if backend == "sqlite":
        broker = SQLiteBroker(path)
        await broker.startup()
        results = SQLiteResultBackend(broker)
    else:
        results = DatabaseResultBackend(f"sqlite+aiosqlite:///{path}")
        await results.startup()
    try:
        await results.set_progress("new", progress(50))
        read = await results.get_progress("new")
        old = await results.get_result("old")
    finally:
        await (broker.shutdown() if broker is not None else results.shutdown())
    assert read is not None and read.meta == {"percent": 50}
    assert old.return_value == 7


@pytest.mark.parametrize("backend", ["sqlite", "database"])
async def test_expired_progress_is_not_read_and_is_pruned_with_the_results(tmp_path, backend):
    broker: SQLiteBroker | None = None
    if backend == "sqlite":
        broker = SQLiteBroker(tmp_path / "queue.db")
        await broker.startup()
        results = SQLiteResultBackend(broker, ttl_seconds=-1)  # expired on arrival
        table_file = tmp_path / "queue.db"
    else:
        results = DatabaseResultBackend(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
                                        ttl_seconds=-1)  # fmt: skip
        await results.startup()
        table_file = tmp_path / "app.db"
    try:
        await results.set_progress("gone", progress(30))
        assert await results.get_progress("gone") is None
        # The next write that prunes (the first of each hundred) takes expired progress too.
        if broker is not None:
            broker._result_writes = 100
        else:
            results._writes = 100
        await results.set_result("any", TaskiqResult(is_err=False, return_value=None,
                                                     execution_time=0.0))  # fmt: skip
    finally:
        await (broker.shutdown() if broker is not None else results.shutdown())
    with sqlite3.connect(table_file) as db:
        assert db.execute("SELECT count(*) FROM taskiq_progress").fetchone() == (0,)


async def test_progress_that_is_not_json_is_refused_not_pickled(tmp_path):
    broker = SQLiteBroker(tmp_path / "queue.db")
    await broker.startup()
    try:
        with pytest.raises(Exception, match="Unable to serialize"):
            await SQLiteResultBackend(broker).set_progress(
                "t", TaskProgress(state="STARTED", meta=object())
            )
    finally:
        await broker.shutdown()


async def test_progress_writes_share_the_group_commit_with_results_and_acks(tmp_path):
    """On SQLite, progress goes through the broker's writer like results: one commit for
    what arrives together, and ``set_progress`` returns once its batch is committed."""
    from tests.support.outbox import record_outbox_writes

    broker = SQLiteBroker(tmp_path / "queue.db")
    await broker.startup()
    writes = record_outbox_writes(broker)
    results = SQLiteResultBackend(broker)
    try:
        await asyncio.gather(*(results.set_progress(f"t{n}", progress(n)) for n in range(5)))
        read = [await results.get_progress(f"t{n}") for n in range(5)]
    finally:
        await broker.shutdown()
    assert writes == [["progress"] * 5]
    assert [p.meta["percent"] for p in read] == [0, 1, 2, 3, 4]
