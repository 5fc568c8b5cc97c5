from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from reference_app.infrastructure.database.types import MAX_ROW_ID

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]  # NaN and Infinity: 422


class ReportCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    values: list[FiniteFloat] = Field(default_factory=list, max_length=100_000)
    # Simulated heavy work, so that the demos and fault tests have something to interrupt.
    delay_ms: int = Field(0, ge=0, le=60_000)
    user_id: int | None = Field(None, ge=1, le=MAX_ROW_ID)


class ReportQueued(BaseModel):
    id: int
    task_id: str
    status: str
    status_url: str


class ReportProgress(BaseModel):
    """What the running task last reported (taskiq's ``TaskProgress``, as the API shows it)."""

    state: str = Field(description="the task's own word for what it is doing, e.g. STARTED")
    percent: int | None = Field(None, ge=0, le=100, description="how much is done, if known")


class ReportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    status: str
    task_id: str | None
    result: dict[str, Any] | None
    error: str | None
    runs: int
    created_at: datetime
    completed_at: datetime | None
    # Read from the result backend while the report is processing; null otherwise.
    progress: ReportProgress | None = None
