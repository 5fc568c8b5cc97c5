"""Queries over ``task_runs`` (written by the TaskRunRecorder middleware in every process)."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskiq_extras.runs import task_runs


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat() if epoch is not None else None


def run_as_dict(row: Any, now: float | None = None) -> dict[str, Any]:
    now = now or time.time()
    labels = row.labels or {}
    timeout = labels.get("timeout")
    running = row.status in ("started", "retried")
    return {
        "task_id": row.task_id,
        "task_name": row.task_name,
        "broker": row.broker,
        "status": row.status,
        "queued_at": _iso(row.queued_at),
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
        "duration_ms": row.duration_ms,
        "starts": row.starts,
        "retries": row.retries,
        "redelivered": row.starts - row.retries > 1,
        "error_type": row.error_type,
        "error_message": row.error_message,
        "worker_pid": row.worker_pid,
        "labels": labels,
        # Started longer ago than its timeout label allows: probably stuck (or its worker died).
        "stuck": bool(
            running and timeout and row.started_at and now - row.started_at > float(timeout)
        ),
    }


async def list_runs(
    db: AsyncSession,
    *,
    task_name: str | None = None,
    status: str | None = None,
    since: float | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    conditions = []
    if task_name:
        conditions.append(task_runs.c.task_name == task_name)
    if status:
        conditions.append(task_runs.c.status == status)
    if since is not None:
        conditions.append(task_runs.c.updated_at >= since)
    total = (
        await db.execute(select(func.count()).select_from(task_runs).where(*conditions))
    ).scalar_one()
    rows = await db.execute(
        select(task_runs)
        .where(*conditions)
        .order_by(task_runs.c.updated_at.desc(), task_runs.c.task_id)
        .limit(limit)
        .offset(offset)
    )
    now = time.time()
    return total, [run_as_dict(row, now) for row in rows]


async def get_run(db: AsyncSession, task_id: str) -> dict[str, Any] | None:
    row = (await db.execute(select(task_runs).where(task_runs.c.task_id == task_id))).first()
    return run_as_dict(row) if row is not None else None


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def _summarise(rows: list[Any]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    durations = sorted(r.duration_ms for r in rows if r.duration_ms is not None)
    finished = counts.get("succeeded", 0) + counts.get("failed", 0)
    return {
        "counts": counts,
        "total": len(rows),
        "p50_ms": _percentile(durations, 0.50),
        "p95_ms": _percentile(durations, 0.95),
        "failure_rate": round(counts.get("failed", 0) / finished, 4) if finished else None,
    }


async def stats(db: AsyncSession, *, window_seconds: float = 3600) -> dict[str, Any]:
    since = time.time() - window_seconds
    rows = list(
        await db.execute(
            select(
                task_runs.c.task_name,
                task_runs.c.broker,
                task_runs.c.status,
                task_runs.c.duration_ms,
            ).where(task_runs.c.updated_at >= since)
        )
    )
    by_task: dict[str, list[Any]] = {}
    by_broker: dict[str, list[Any]] = {}
    for row in rows:
        by_task.setdefault(row.task_name, []).append(row)
        by_broker.setdefault(row.broker, []).append(row)
    return {
        "window_seconds": window_seconds,
        "tasks": {name: _summarise(group) for name, group in sorted(by_task.items())},
        "brokers": {name: _summarise(group) for name, group in sorted(by_broker.items())},
    }
