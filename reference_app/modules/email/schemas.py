"""Request and response bodies of the email feature's routes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from reference_app.modules.users.schemas import HeaderText


class Notification(BaseModel):
    subject: HeaderText
    message: str = Field(min_length=1, max_length=20_000)


class Queued(BaseModel):
    task_id: str | None
    status: str = "queued"
