"""Defining tasks: three patterns, run in this process. Needs only ``pip install taskiq``.

    python tasks.py                      # a copy of this one file, anywhere
    python -m recipes.define_tasks       # in this repository

``InMemoryBroker`` runs each task inside the process that enqueues it: no server, no worker,
the same ``@task`` and ``.kiq()`` as with a real broker. The next recipe (``enqueue``) moves
the same calls onto a real broker and a separate worker process.
"""

from __future__ import annotations

import asyncio
import statistics
from typing import Any

from pydantic import BaseModel, Field
from taskiq import InMemoryBroker

# --8<-- [start:broker]
broker = InMemoryBroker()  # tasks run in this process; swap in a real broker later
# --8<-- [end:broker]


# --8<-- [start:plain]
@broker.task(task_name="define_tasks.summarise")
async def summarise(numbers: list[float]) -> dict[str, Any]:
    """Plain JSON in, plain JSON out: the simplest task there is."""
    return {"count": len(numbers), "mean": statistics.fmean(numbers), "max": max(numbers)}


# --8<-- [end:plain]


# --8<-- [start:model]
class Invoice(BaseModel):
    number: str
    lines: list[float] = Field(min_length=1)
    vat_rate: float = Field(0.2, ge=0, le=1)


@broker.task(task_name="define_tasks.total_invoice")
async def total_invoice(invoice: Invoice) -> dict[str, Any]:
    """A pydantic model travels as JSON and arrives as a model again."""
    net = sum(invoice.lines)
    return {"number": invoice.number, "net": net, "gross": round(net * (1 + invoice.vat_rate), 2)}


# --8<-- [end:model]


# --8<-- [start:labels]
@broker.task(task_name="define_tasks.rebuild_index", timeout=5, team="search")
async def rebuild_index(documents: int) -> str:
    """Labels travel with every message: `timeout` is taskiq's own, `team` is ours."""
    return f"indexed {documents} documents"


# --8<-- [end:labels]


# --8<-- [start:run]
async def main() -> None:
    await broker.startup()
    jobs = {
        summarise.task_name: await summarise.kiq([3, 4, 8]),
        total_invoice.task_name: await total_invoice.kiq(Invoice(number="INV-7", lines=[100, 50])),
        rebuild_index.task_name: await rebuild_index.kiq(documents=1200),
    }
    for name, job in jobs.items():
        result = await job.wait_result(timeout=5)
        print(f"{name}  ->  {result.return_value}")
    print(f"labels of rebuild_index: {rebuild_index.labels}")
    await broker.shutdown()


# --8<-- [end:run]

if __name__ == "__main__":
    asyncio.run(main())
