"""Prototypes of changes to our broker code, measured by the harness. Not used by the app.

* :class:`BatchedTaskRunRecorder`: ``TaskRunRecorder.flush`` sends its buffered events as
  *one* ``executemany`` of one compiled upsert, instead of building and executing one
  statement per event. Same rows, same order, same SQL semantics.
* :class:`GroupCommitResultBackend`: ``DatabaseResultBackend.set_result`` joins the results
  that arrive while a write is in flight into one transaction (group commit) with one upsert
  statement, instead of a transaction with DELETE + INSERT per task. ``set_result`` still
  returns only once its row is committed, so a waiting caller sees the result as before.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

from sqlalchemy import case, func
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from reference_app.infrastructure.taskiq.result_backend import (
    DatabaseResultBackend,
    results_table,
)
from reference_app.infrastructure.taskiq.runs import RANK, RunEvent, TaskRunRecorder, task_runs


# --8<-- [start:batched_runs]
class BatchedTaskRunRecorder(TaskRunRecorder):
    def _row(self, event: RunEvent) -> dict[str, Any]:
        started = event.status in ("started", "retried")
        return {
            "task_id": event.task_id, "task_name": event.task_name,
            "broker": self.broker_name, "status": event.status, "rank": RANK[event.status],
            "queued_at": event.at if event.status == "queued" else None,
            "started_at": event.at if started else None,
            "finished_at": event.at if RANK[event.status] == 2 or event.duration_ms else None,
            "duration_ms": event.duration_ms, "starts": 1 if started else 0,
            "retries": 1 if event.status == "retried" else 0,
            "error_type": event.error_type, "error_message": event.error_message,
            "worker_pid": os.getpid() if event.status != "queued" else None,
            "labels": event.labels, "updated_at": event.at,
        }  # fmt: skip

    def _statement(self) -> Any:
        statement = sqlite_insert(task_runs)
        new, old = statement.excluded, task_runs.c
        newer = new.rank >= old.rank
        return statement.on_conflict_do_update(
            index_elements=[old.task_id],
            set_={
                "status": case((newer, new.status), else_=old.status),
                "rank": case((newer, new.rank), else_=old.rank),
                "queued_at": func.coalesce(old.queued_at, new.queued_at),
                "started_at": func.coalesce(new.started_at, old.started_at),
                "finished_at": func.coalesce(new.finished_at, old.finished_at),
                "duration_ms": func.coalesce(new.duration_ms, old.duration_ms),
                "starts": old.starts + new.starts,
                "retries": old.retries + new.retries,
                "error_type": func.coalesce(new.error_type, old.error_type),
                "error_message": func.coalesce(new.error_message, old.error_message),
                "worker_pid": func.coalesce(new.worker_pid, old.worker_pid),
                "labels": func.coalesce(old.labels, new.labels),
                "updated_at": new.updated_at,
            },
        )

    async def flush(self) -> None:
        if self._engine is None or not self._events:
            return
        async with self._lock:
            events, self._events = self._events, []
            try:
                async with self._engine.begin() as connection:
                    # One statement, compiled once, all rows: executemany.
                    await connection.execute(self._statement(), [self._row(e) for e in events])
                    self._flushes += 1
                    if self._flushes % 50 == 1:
                        await self.prune(connection)
            except BaseException:
                self._events[:0] = events
                raise


# --8<-- [end:batched_runs]


# --8<-- [start:group_commit]
class GroupCommitResultBackend(DatabaseResultBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def set_result(self, task_id: str, result: Any) -> None:
        payload = json.dumps(result.model_dump(mode="json"))
        row = {"task_id": task_id, "payload": payload, "expires_at": time.time() + self.ttl_seconds}
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((row, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        await done  # committed (or the error of the write that carried it)

    async def _write_all(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            statement = sqlite_insert(results_table)
            statement = statement.on_conflict_do_update(
                index_elements=[results_table.c.task_id],
                set_={"payload": statement.excluded.payload,
                      "expires_at": statement.excluded.expires_at},
            )  # fmt: skip
            try:
                async with self.engine.begin() as connection:
                    await connection.execute(statement, [row for row, _ in batch])
            except BaseException as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)


# --8<-- [end:group_commit]
