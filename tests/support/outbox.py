"""Watch what a broker's outbox (its GroupCommit of acks and results) writes, batch by batch."""

from __future__ import annotations

from typing import Any


def record_outbox_writes(broker: Any) -> list[list[str]]:
    """From now on, each batch the broker's outbox writes is recorded as the list of its
    items' kinds (``"set"``/``"xack"`` on Redis, ``"result"``/``"ack"`` on SQLite)."""
    writes: list[list[str]] = []
    write = broker._outbox._write

    async def recorded(items: list[tuple[Any, ...]]) -> None:
        writes.append([item[0] for item in items])
        await write(items)

    broker._outbox._write = recorded
    return writes
