from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ReportCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    values: list[float] = Field(default_factory=list, max_length=100_000)
    # Simulated heavy work, so that the demos and fault tests have something to interrupt.
    delay_ms: int = Field(0, ge=0, le=60_000)
    user_id: int | None = None


class ReportQueued(BaseModel):
    id: int
    task_id: str
    status: str
    status_url: str


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
