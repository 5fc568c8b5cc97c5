"""Extras: task runs: what every task did, recorded by a middleware, readable by the web process.

``TaskRunRecorder`` is a taskiq middleware. It notes each run's lifecycle (queued at
``.kiq()``, started, succeeded with its duration, failed with the error type and message,
retried, started again after a redelivery) in the app's database, table ``task_runs``, one row
per task id. Every process writes there (the web process the *queued* event, the workers the
rest), so the web process can show what happens across processes and brokers.

Recording must not slow tasks down: events are buffered in memory and written in one batch
every ``flush_interval`` seconds (and on shutdown) by a background task, so a task pays for an
append to a list, not for a database round trip. The price: a process killed with SIGKILL
loses the events of its last ``flush_interval``. Monitoring is best effort; delivery is not.
Old runs are pruned by age and by count.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Float,
    Integer,
    String,
    Table,
    Text,
    case,
    delete,
    func,
    select,
)
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine
from taskiq import TaskiqMessage, TaskiqMiddleware, TaskiqResult

from .database import metadata, open_tables
from .sqlite_writer import SQLiteWriter

logger = logging.getLogger(__name__)

task_runs = Table(
    "task_runs",
    metadata,
    Column("task_id", String(64), primary_key=True),
    Column("task_name", String(200), nullable=False, index=True),
    Column("broker", String(50), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("rank", Integer, nullable=False),
    Column("queued_at", Float, index=True),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("duration_ms", Float),
    Column("starts", Integer, nullable=False, default=0),  # > 1: redelivered or retried
    Column("retries", Integer, nullable=False, default=0),
    Column("error_type", String(200)),
    Column("error_message", Text),
    Column("worker_pid", Integer),
    Column("labels", JSON(none_as_null=True)),
    Column("updated_at", Float, nullable=False, index=True),
)

# A later event never overwrites a more final status (events from different processes can
# arrive in any order): queued < started/retried < succeeded/failed.
RANK = {"queued": 0, "started": 1, "retried": 1, "retrying": 1, "succeeded": 2, "failed": 2}
PUBLIC_LABELS = ("timeout", "retry_on_error", "max_retries", "priority", "delay")


# How a new event's row is folded into the row already stored for its task: one table of
# rules, which both the SQL upsert and ``merge_rows`` (for events of one flush) are built from.
MERGE_RULES = {
    "status": "ranked",  # a later event never undoes a more final status
    "rank": "ranked",
    "starts": "sum",
    "retries": "sum",
    "updated_at": "new",
    "queued_at": "first",  # the first value stays
    "labels": "first",
    "started_at": "latest",  # the latest value wins, unless it is empty
    "finished_at": "latest",
    "duration_ms": "latest",
    "error_type": "latest",
    "error_message": "latest",
    "worker_pid": "latest",
}  # task_id, task_name and broker stay the first event's


def merge_rows(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``new`` applied on top of ``old`` by the rules of ``MERGE_RULES``, as the upsert does."""
    newer = new["rank"] >= old["rank"]
    merged = dict(old)
    for key, rule in MERGE_RULES.items():
        if rule == "ranked":
            merged[key] = new[key] if newer else old[key]
        elif rule == "sum":
            merged[key] = old[key] + new[key]
        elif rule == "new":
            merged[key] = new[key]
        elif rule == "first":
            merged[key] = old[key] if old[key] is not None else new[key]
        else:  # latest
            merged[key] = new[key] if new[key] is not None else old[key]
    return merged


def _merge_sql(key: str, rule: str, new: Any, old: Any) -> Any:
    """The SQL of one rule of ``MERGE_RULES``, for ``ON CONFLICT DO UPDATE SET``."""
    if rule == "ranked":
        return case((new.rank >= old.rank, new[key]), else_=old[key])
    if rule == "sum":
        return old[key] + new[key]
    if rule == "new":
        return new[key]
    if rule == "first":
        return func.coalesce(old[key], new[key])
    return func.coalesce(new[key], old[key])


@dataclass
class RunEvent:
    task_id: str
    task_name: str
    status: str
    at: float = field(default_factory=time.time)
    labels: dict[str, Any] | None = None
    duration_ms: float | None = None
    error_type: str | None = None
    error_message: str | None = None


class TaskRunRecorder(TaskiqMiddleware):
    """Records task runs in ``task_runs``. Add it to a broker with ``add_middlewares``."""

    def __init__(
        self,
        database_url: str,
        *,
        broker_name: str,
        flush_interval: float = 0.5,
        max_age_seconds: float = 7 * 24 * 3600,
        max_rows: int = 100_000,
        default_max_retries: int = 3,  # SmartRetryMiddleware's default_retry_count
    ) -> None:
        super().__init__()
        self.database_url = database_url
        self.broker_name = broker_name
        self.flush_interval = flush_interval
        self.max_age_seconds = max_age_seconds
        self.max_rows = max_rows
        self.default_max_retries = default_max_retries
        self._events: list[RunEvent] = []
        self._errors: dict[str, BaseException] = {}
        self._upsert_statement: Any = None
        self._engine: AsyncEngine | None = None
        self._sqlite: SQLiteWriter | None = None  # a SQLite file: flushes run on the loop
        self._sqlite_upsert = ""
        self._flusher: asyncio.Task[None] | None = None
        self._flushes = 0
        self._lock = asyncio.Lock()

    # -- lifecycle ------------------------------------------------------------------------
    async def startup(self) -> None:
        self._engine, self._sqlite = await open_tables(self.database_url)
        if self._sqlite is not None:
            # The same upsert as text, run by SQLiteWriter: through SQLAlchemy's thread each
            # flush also waited for the GIL while the loop ran tasks (see SQLiteWriter).
            named = sqlite_dialect.dialect(paramstyle="named")  # :task_id, as our rows' keys
            self._sqlite_upsert = str(self._statement().compile(dialect=named))
        self._flusher = asyncio.get_running_loop().create_task(self._flush_forever())

    async def shutdown(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        await self.flush()
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    # -- the hooks: each only appends to a list ---------------------------------------------
    # --8<-- [start:hooks]
    def post_send(self, message: TaskiqMessage) -> None:
        labels = {k: v for k, v in message.labels.items() if k in PUBLIC_LABELS}
        self._events.append(RunEvent(message.task_id, message.task_name, "queued", labels=labels))

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        status = "retried" if int(message.labels.get("_retries", 0) or 0) else "started"
        self._events.append(RunEvent(message.task_id, message.task_name, status))
        return message

    def _will_retry(self, message: TaskiqMessage) -> bool:
        """Whether taskiq's SmartRetryMiddleware will run this failed task again."""
        labels = message.labels
        if str(labels.get("retry_on_error", "")).lower() not in ("true", "1"):
            return False
        retries = int(labels.get("_retries", 0) or 0) + 1
        return retries < int(labels.get("max_retries", self.default_max_retries))

    def on_error(
        self, message: TaskiqMessage, result: TaskiqResult[Any], exception: BaseException
    ) -> None:
        # Runs before the retry middleware replaces the error with NoResultError.
        self._errors[message.task_id] = exception

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        error = self._errors.pop(message.task_id, None) or result.error
        status = "succeeded"
        if result.is_err:
            status = "retrying" if self._will_retry(message) else "failed"
        self._events.append(
            RunEvent(
                message.task_id,
                message.task_name,
                status,
                duration_ms=round(result.execution_time * 1000, 3),
                error_type=type(error).__name__ if error is not None else None,
                error_message=str(error)[:2000] if error is not None else None,
            )
        )

    # --8<-- [end:hooks]

    # -- writing ----------------------------------------------------------------------------
    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                await self.flush()
            except Exception:  # the database is busy or down: keep the events, try again
                logger.warning("Could not record task runs; will retry", exc_info=True)

    async def flush(self) -> None:
        """Write the buffered events now (tests and shutdown call it directly)."""
        if self._engine is None or not self._events:
            return
        async with self._lock:
            events, self._events = self._events, []
            try:
                # One statement, compiled once, one row per task: an executemany.
                rows = self._coalesce(events)
                if self._sqlite is not None:
                    await self._sqlite.run(self._upsert_sqlite, rows)
                else:
                    async with self._engine.begin() as connection:
                        await connection.execute(self._statement(), rows)
            except BaseException:
                self._events[:0] = events  # nothing is dropped on a failed write
                raise
            self._flushes += 1
            if self._flushes % 50 == 1:  # now and then is enough
                try:
                    async with self._engine.begin() as connection:
                        await self.prune(connection)
                except Exception:  # the runs are written; the next prune will do
                    logger.warning("Could not prune old task runs", exc_info=True)

    def _upsert_sqlite(self, db: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
        for row in rows:  # what SQLAlchemy's JSON type does for this column
            if row["labels"] is not None:
                row["labels"] = json.dumps(row["labels"])
        db.executemany(self._sqlite_upsert, rows)

    def _row(self, event: RunEvent) -> dict[str, Any]:
        started = event.status in ("started", "retried")
        return {
            "task_id": event.task_id,
            "task_name": event.task_name,
            "broker": self.broker_name,
            "status": event.status,
            "rank": RANK[event.status],
            "queued_at": event.at if event.status == "queued" else None,
            "started_at": event.at if started else None,
            "finished_at": event.at if RANK[event.status] == 2 or event.duration_ms else None,
            "duration_ms": event.duration_ms,
            "starts": 1 if started else 0,
            "retries": 1 if event.status == "retried" else 0,
            "error_type": event.error_type,
            "error_message": event.error_message,
            "worker_pid": os.getpid() if event.status != "queued" else None,
            "labels": event.labels,
            "updated_at": event.at,
        }

    def _coalesce(self, events: list[RunEvent]) -> list[dict[str, Any]]:
        """One row per task: a busy worker's task usually starts and ends within one flush,
        and one upsert costs half of two. ``merge_rows`` follows the upsert's own rules, so
        the table ends the same as if every event were written one by one."""
        rows: dict[str, dict[str, Any]] = {}
        for event in events:
            row = self._row(event)
            old = rows.get(event.task_id)
            rows[event.task_id] = row if old is None else merge_rows(old, row)
        return list(rows.values())

    def _statement(self) -> Any:
        """The upsert, built once: a later event never undoes a more final status."""
        if self._upsert_statement is not None:
            return self._upsert_statement
        assert self._engine is not None
        insert = postgresql_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(task_runs)
        new, old = statement.excluded, task_runs.c
        self._upsert_statement = statement.on_conflict_do_update(
            index_elements=[old.task_id],
            set_={key: _merge_sql(key, rule, new, old) for key, rule in MERGE_RULES.items()},
        )
        return self._upsert_statement

    async def prune(self, connection: Any) -> None:
        """Delete runs older than ``max_age_seconds``, then all but the newest ``max_rows``."""
        cutoff = time.time() - self.max_age_seconds
        await connection.execute(delete(task_runs).where(task_runs.c.updated_at < cutoff))
        count = (await connection.execute(select(func.count()).select_from(task_runs))).scalar()
        if count and count > self.max_rows:
            oldest_kept = (
                select(task_runs.c.updated_at)
                .order_by(task_runs.c.updated_at.desc())
                .offset(self.max_rows - 1)
                .limit(1)
                .scalar_subquery()
            )
            await connection.execute(delete(task_runs).where(task_runs.c.updated_at < oldest_kept))
