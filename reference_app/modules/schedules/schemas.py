from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from taskiq.scheduler.scheduled_task import ScheduledTask

from reference_app.modules.schedules.cron import check_cron, check_timezone


# --8<-- [start:schedule_in]
class ScheduleIn(BaseModel):
    """One of ``at``, ``interval_seconds`` or ``cron``; ``timezone`` applies to ``cron`` and
    to an ``at`` written without an offset."""

    model_config = ConfigDict(extra="forbid")

    task_name: str = Field(max_length=200, examples=["send_notification_email"])
    kwargs: dict[str, Any] = Field(default_factory=dict)
    at: datetime | None = Field(None, examples=["2027-01-04T09:00:00"])
    interval_seconds: int | None = Field(None, ge=1, le=366 * 24 * 3600)
    cron: str | None = Field(None, max_length=100, examples=["0 9 * * mon-fri"])
    timezone: str = Field("UTC", max_length=64, examples=["Europe/Paris"])

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else check_cron(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return check_timezone(value)

    @model_validator(mode="after")
    def _one_kind_in_the_future(self) -> ScheduleIn:
        kinds = [self.at is not None, self.interval_seconds is not None, self.cron is not None]
        if sum(kinds) != 1:
            raise ValueError("give exactly one of at, interval_seconds or cron")
        if self.at is not None:
            if self.at.tzinfo is None:  # 09:00 in the zone given, not in the server's
                self.at = self.at.replace(tzinfo=ZoneInfo(self.timezone))
            if self.at <= datetime.now(UTC) + timedelta(seconds=1):
                raise ValueError(f"at {self.at.isoformat()} is in the past")
        return self

    def to_scheduled_task(self) -> ScheduledTask:
        return ScheduledTask(
            task_name=self.task_name,
            labels={},
            args=[],
            kwargs=self.kwargs,
            time=self.at.astimezone(UTC) if self.at else None,
            interval=self.interval_seconds,
            cron=self.cron,
            cron_offset=self.timezone if self.cron else None,
        )

    # --8<-- [end:schedule_in]


class ScheduleOut(BaseModel):
    schedule_id: str
    task_name: str
    kwargs: dict[str, Any]
    at: datetime | None
    interval_seconds: int | None
    cron: str | None
    timezone: str | None

    @classmethod
    def of(cls, task: ScheduledTask) -> ScheduleOut:
        interval = task.interval
        if isinstance(interval, timedelta):
            interval = int(interval.total_seconds())
        offset = task.cron_offset if isinstance(task.cron_offset, str) else None
        return cls(schedule_id=task.schedule_id, task_name=task.task_name, kwargs=task.kwargs,
                   at=task.time, interval_seconds=interval, cron=task.cron,
                   timezone=offset)  # fmt: skip
