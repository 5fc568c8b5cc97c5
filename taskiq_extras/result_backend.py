"""Extras: task results kept in the app's database, as JSON, with an expiry.

Used with the RabbitMQ broker (SQLite keeps results in its own file, Redis in Redis). Any
database SQLAlchemy can reach asynchronously works, so workers on other machines share it when
``DATABASE_URL`` points at a server such as PostgreSQL. On a SQLite file, results are written
on the event loop by ``SQLiteWriter``, not through SQLAlchemy's thread.
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


def sqlite_results_schema() -> str:
    """``results_table`` as SQLite DDL, for a file that SQLAlchemy does not manage."""
    dialect = sqlite_dialect.dialect()
    statements = [CreateTable(results_table, if_not_exists=True)]
    statements += [CreateIndex(index, if_not_exists=True) for index in results_table.indexes]
    return "".join(f"{str(s.compile(dialect=dialect)).strip()};\n" for s in statements)


def store_results(db: sqlite3.Connection, rows: list[tuple[str, str, float]], write: int) -> None:
    """Upsert ``(task_id, payload, expires_at)`` rows into a SQLite ``taskiq_results`` table;
    the first of every hundred writes also deletes the expired rows (not every write)."""
    db.executemany(
        "INSERT OR REPLACE INTO taskiq_results (task_id, payload, expires_at) VALUES (?, ?, ?)",
        rows,
    )
    if write % 100 == 1:
        db.execute("DELETE FROM taskiq_results WHERE expires_at < ?", (time.time(),))


class ResultNotFoundError(ResultGetError):
    """No result stored for the task: it has not finished, or its result expired."""

    __template__ = "no result for task {task_id} (not finished, or expired)"
    task_id: str


class JsonResultBackend(AsyncResultBackend[_ReturnType]):
    """Reading results stored as JSON text (never pickle); subclasses say where they are."""

    async def _payload(self, task_id: str) -> str | None:
        """The stored JSON of the task's result, or None if none is stored or it expired."""
        raise NotImplementedError

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
    """JSON results in a ``taskiq_results`` table; expired rows are deleted as we go."""

    def __init__(
        self, database_url: str, *, ttl_seconds: int = 3600, write_interval: float = WRITE_INTERVAL
    ) -> None:
        self.database_url = database_url
        self.ttl_seconds = ttl_seconds
        self._engine: AsyncEngine | None = None
        self._writes = 0
        self._upsert: Any = None
        self._rows: GroupCommit[dict[str, Any]] = GroupCommit(
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

    async def set_result(self, task_id: str, result: TaskiqResult[_ReturnType]) -> None:
        """Store a result; returns once it is committed.

        Results that arrive while a write is in flight are written together, in one
        transaction with one upsert (a group commit): a busy worker pays one commit for many
        tasks instead of one each.
        """
        await self._rows.submit(
            {
                "task_id": task_id,
                "payload": result.model_dump_json(),
                "expires_at": time.time() + self.ttl_seconds,
            }
        )

    async def _write_rows(self, rows: list[dict[str, Any]]) -> None:
        if self._sqlite is not None:
            await self._sqlite.run(self._write_sqlite, rows)
            return
        async with self.engine.begin() as connection:
            await connection.execute(self._statement(), rows)
            self._writes += 1
            if self._writes % 100 == 1:  # prune now and then, not on every write
                await connection.execute(
                    delete(results_table).where(results_table.c.expires_at < time.time())
                )

    def _write_sqlite(self, db: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
        self._writes += 1
        store_results(
            db, [(r["task_id"], r["payload"], r["expires_at"]) for r in rows], self._writes
        )

    def _statement(self) -> Any:
        """The upsert, built once (building it took longer than running it)."""
        if self._upsert is not None:
            return self._upsert
        name = self.engine.dialect.name
        statement = (postgresql_insert if name == "postgresql" else sqlite_insert)(results_table)
        self._upsert = statement.on_conflict_do_update(
            index_elements=[results_table.c.task_id],
            set_={
                "payload": statement.excluded.payload,
                "expires_at": statement.excluded.expires_at,
            },
        )
        return self._upsert

    async def _payload(self, task_id: str) -> str | None:
        async with self.engine.connect() as connection:
            return (
                await connection.execute(
                    select(results_table.c.payload).where(
                        results_table.c.task_id == task_id,
                        results_table.c.expires_at >= time.time(),
                    )
                )
            ).scalar_one_or_none()
