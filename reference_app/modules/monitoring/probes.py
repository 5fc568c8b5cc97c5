"""The readiness probe of the database (GET /health/ready)."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text


async def probe_database(sessionmaker, timeout: float = 2.0) -> dict[str, object]:
    """``SELECT 1`` with its latency, for the readiness endpoint."""
    started = time.perf_counter()
    try:
        async with sessionmaker() as session:
            await asyncio.wait_for(session.execute(text("SELECT 1")), timeout)
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
