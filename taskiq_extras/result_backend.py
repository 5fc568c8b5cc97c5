"""Extras: task results kept in the app's database, as JSON, with an expiry.

Used with the RabbitMQ broker (SQLite keeps results in its own file, Redis in Redis). Any
database SQLAlchemy can reach asynchronously works, so workers on other machines share it when
``DATABASE_URL`` points at a server such as PostgreSQL. On a SQLite file, results are written
on the event loop by ``SQLiteWriter``, not through SQLAlchemy's thread.

Progress (taskiq's ``set_progress``, what ``ProgressTracker`` calls) is kept too, in a
``taskiq_progress`` table beside the results: the last one set per task, as JSON, expiring
``ttl_seconds`` after it was set. taskiq's base class accepts progress and drops it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any, TypeVar

from sqlalchemy import Column, Float, String, Table, Text, delete, select
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateIndex, CreateTable
from taskiq import AsyncResultBackend, TaskiqResult
from taskiq.depends.progress_tracker import TaskProgress
from taskiq.exceptions import ResultGetError

from .database import metadata, open_tables
from .group_commit import WRITE_INTERVAL, GroupCommit
from .sqlite_writer import SQLiteWriter

_ReturnType = TypeVar("_ReturnType")

results_table = Table(
    "taskiq_results",
    metadata,
    Column("task_id", String(64), primary_key=True),
    Column("payload", Text, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)

# The last progress a running task reported: a table of its own, so a file or database made
# before it existed only gains a table (created if missing) and no result row changes shape.
progress_table = Table(
    "taskiq_progress",
    metadata,
    Column("task_id", String(64), primary_key=True),
    Column("payload", Text, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)


def sqlite_results_schema() -> str:
    """``results_table`` and ``progress_table`` as SQLite DDL, for a file that SQLAlchemy does
    not manage."""
    dialect = sqlite_dialect.dialect()
    statements: list[Any] = []
    for table in (results_table, progress_table):
        statements.append(CreateTable(table, if_not_exists=True))
        statements += [CreateIndex(index, if_not_exists=True) for index in table.indexes]
    return "".join(f"{str(s.compile(dialect=dialect)).strip()};\n" for s in statements)


def store_results(db: sqlite3.Connection, rows: list[tuple[str, str, float]], write: int) -> None:
    """Upsert ``(task_id, payload, expires_at)`` rows into a SQLite ``taskiq_results`` table;
    the first of every hundred writes also deletes the expired rows, results and progress
    alike (not every write)."""
    db.executemany(
        "INSERT OR REPLACE INTO taskiq_results (task_id, payload, expires_at) VALUES (?, ?, ?)",
        rows,
    )
    if write % 100 == 1:
        now = time.time()
        db.execute("DELETE FROM taskiq_results WHERE expires_at < ?", (now,))
        db.execute("DELETE FROM taskiq_progress WHERE expires_at < ?", (now,))


def store_progress(db: sqlite3.Connection, rows: list[tuple[str, str, float]]) -> None:
    """Upsert ``(task_id, payload, expires_at)`` rows into ``taskiq_progress``: a task's new
    progress replaces its old one (in order, so the last of a batch wins)."""
    db.executemany(
        "INSERT OR REPLACE INTO taskiq_progress (task_id, payload, expires_at) VALUES (?, ?, ?)",
        rows,
    )


class ResultNotFoundError(ResultGetError):
    """No result stored for the task: it has not finished, or its result expired."""

    __template__ = "no result for task {task_id} (not finished, or expired)"
    task_id: str


class JsonResultBackend(AsyncResultBackend[_ReturnType]):
    """Reading results and progress stored as JSON text (never pickle); subclasses say where
    they are."""

    async def _payload(self, task_id: str) -> str | None:
        """The stored JSON of the task's result, or None if none is stored or it expired."""
        raise NotImplementedError

    async def _progress_payload(self, task_id: str) -> str | None:
        """The stored JSON of the task's last progress, or None (none, or it expired)."""
        raise NotImplementedError

    async def get_progress(self, task_id: str) -> TaskProgress[Any] | None:
        payload = await self._progress_payload(task_id)
        return None if payload is None else TaskProgress[Any].model_validate_json(payload)

    async def is_result_ready(self, task_id: str) -> bool:
        return await self._payload(task_id) is not None

    async def get_result(self, task_id: str, with_logs: bool = False) -> TaskiqResult[_ReturnType]:
        payload = await self._payload(task_id)
        if payload is None:
            raise ResultNotFoundError(task_id=task_id)
        result = TaskiqResult[_ReturnType].model_validate(json.loads(payload))
        if not with_logs:
            result.log = None
        return result


class DatabaseResultBackend(JsonResultBackend[_ReturnType]):
    """JSON results and progress in ``taskiq_results`` and ``taskiq_progress``; expired rows
    are deleted as we go."""

    def __init__(
        self, database_url: str, *, ttl_seconds: int = 3600, write_interval: float = WRITE_INTERVAL
    ) -> None:
        self.database_url = database_url
        self.ttl_seconds = ttl_seconds
        self._engine: AsyncEngine | None = None
        self._writes = 0
        self._upserts: dict[str, Any] = {}
        # (table name, row): results and progress share the group commit and its transaction.
        self._rows: GroupCommit[tuple[str, dict[str, Any]]] = GroupCommit(
            self._write_rows, min_interval=write_interval
        )
        self._sqlite: SQLiteWriter | None = None

    async def startup(self) -> None:
        self._engine, self._sqlite = await open_tables(self.database_url)

    async def shutdown(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("The result backend is not started (broker.startup() starts it).")
        return self._engine

    def _row(self, task_id: str, payload: str) -> dict[str, Any]:
        return {
            "task_id": task_id,
            "payload": payload,
            "expires_at": time.time() + self.ttl_seconds,
        }

    async def set_result(self, task_id: str, result: TaskiqResult[_ReturnType]) -> None:
        """Store a result; returns once it is committed.

        Results that arrive while a write is in flight are written together, in one
        transaction with one upsert (a group commit): a busy worker pays one commit for many
        tasks instead of one each.
        """
        await self._rows.submit((results_table.name, self._row(task_id, result.model_dump_json())))

    async def set_progress(self, task_id: str, progress: TaskProgress[Any]) -> None:
        """Store a task's progress in place of its last one; returns once it is committed."""
        row = self._row(task_id, progress.model_dump_json())
        await self._rows.submit((progress_table.name, row))

    async def _write_rows(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        # One row per task and table, the last one given: PostgreSQL refuses an upsert that
        # touches a row twice (a task's progress set twice at once, by two coroutines).
        latest: dict[str, dict[str, dict[str, Any]]] = {}
        for table_name, row in items:
            latest.setdefault(table_name, {})[row["task_id"]] = row
        by_table = {name: list(rows.values()) for name, rows in latest.items()}
        if self._sqlite is not None:
            await self._sqlite.run(self._write_sqlite, by_table)
            return
        async with self.engine.begin() as connection:
            for table in (results_table, progress_table):
                if table.name in by_table:
                    await connection.execute(self._statement(table), by_table[table.name])
            self._writes += 1
            if self._writes % 100 == 1:  # prune now and then, not on every write
                for table in (results_table, progress_table):
                    await connection.execute(delete(table).where(table.c.expires_at < time.time()))

    def _write_sqlite(
        self, db: sqlite3.Connection, by_table: dict[str, list[dict[str, Any]]]
    ) -> None:
        def rows(table: Table) -> list[tuple[str, str, float]]:
            return [
                (r["task_id"], r["payload"], r["expires_at"]) for r in by_table.get(table.name, [])
            ]

        self._writes += 1
        store_results(db, rows(results_table), self._writes)
        store_progress(db, rows(progress_table))

    def _statement(self, table: Table) -> Any:
        """The table's upsert, built once (building it took longer than running it)."""
        if table.name in self._upserts:
            return self._upserts[table.name]
        name = self.engine.dialect.name
        statement = (postgresql_insert if name == "postgresql" else sqlite_insert)(table)
        self._upserts[table.name] = statement.on_conflict_do_update(
            index_elements=[table.c.task_id],
            set_={
                "payload": statement.excluded.payload,
                "expires_at": statement.excluded.expires_at,
            },
        )
        return self._upserts[table.name]

    async def _read(self, table: Table, task_id: str) -> str | None:
        async with self.engine.connect() as connection:
            return (
                await connection.execute(
                    select(table.c.payload).where(
                        table.c.task_id == task_id, table.c.expires_at >= time.time()
                    )
                )
            ).scalar_one_or_none()

    async def _payload(self, task_id: str) -> str | None:
        return await self._read(results_table, task_id)

    async def _progress_payload(self, task_id: str) -> str | None:
        return await self._read(progress_table, task_id)
