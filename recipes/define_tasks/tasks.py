"""Three ways to define a task, each one a pattern to copy."""

from __future__ import annotations

import statistics
from typing import Any

from pydantic import BaseModel, Field

from reference_app.infrastructure.taskiq import email_broker, register_task


# --8<-- [start:plain]
@email_broker.task(task_name="define_tasks.summarise")
async def summarise(numbers: list[float]) -> dict[str, Any]:
    """Plain JSON in, plain JSON out: the simplest task there is."""
    return {"count": len(numbers), "mean": statistics.fmean(numbers), "max": max(numbers)}


register_task("define_tasks.summarise", "email_broker", summarise)
# --8<-- [end:plain]


# --8<-- [start:model]
class Invoice(BaseModel):
    number: str
    lines: list[float] = Field(min_length=1)
    vat_rate: float = Field(0.2, ge=0, le=1)


@email_broker.task(task_name="define_tasks.total_invoice")
async def total_invoice(invoice: Invoice) -> dict[str, Any]:
    """A pydantic model travels as JSON and arrives as a model again, validated."""
    net = sum(invoice.lines)
    return {"number": invoice.number, "net": net, "gross": round(net * (1 + invoice.vat_rate), 2)}


register_task("define_tasks.total_invoice", "email_broker", total_invoice)
# --8<-- [end:model]


# --8<-- [start:labels]
@email_broker.task(task_name="define_tasks.rebuild_index", timeout=5, team="search")
async def rebuild_index(documents: int) -> str:
    """Labels travel with every message: `timeout` is taskiq's own, `team` is ours."""
    return f"indexed {documents} documents"


register_task("define_tasks.rebuild_index", "email_broker", rebuild_index)
# --8<-- [end:labels]
