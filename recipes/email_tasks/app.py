"""A FastAPI app whose routes queue the reference app's email tasks and answer 202 at once.

uvicorn recipes.email_tasks.app:app    (and a worker and an SMTP server: see
python -m recipes.email_tasks, which starts both)
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Request, status
from pydantic import AfterValidator, BaseModel, EmailStr, Field
from taskiq import AsyncTaskiqTask

from reference_app.infrastructure.taskiq import email_broker
from reference_app.modules.email.tasks import send_bulk_email_task, send_email_task


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await email_broker.startup()  # the client side: without it, .kiq() cannot send
    try:
        yield
    finally:
        await email_broker.shutdown()


app = FastAPI(title="email_tasks recipe", lifespan=lifespan)


# --8<-- [start:schemas]
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def no_line_breaks(value: str) -> str:
    # "Hi\r\nBcc: everyone@example.com" would add a header: refuse it here, with a 422.
    if CONTROL.search(value):
        raise ValueError("must not contain control characters such as CR or LF")
    return value


Subject = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(no_line_breaks)]


class EmailRequest(BaseModel):
    to: EmailStr  # not an address: 422, and nothing is queued
    subject: Subject
    text: str = Field(min_length=1, max_length=20_000)


class BulkEmailRequest(BaseModel):
    recipients: list[EmailStr] = Field(min_length=1, max_length=1000)
    subject: Subject
    text: str = Field(min_length=1, max_length=20_000)


class Queued(BaseModel):
    task_id: str
    status_url: str


# --8<-- [end:schemas]


# --8<-- [start:routes]
@app.post("/emails", status_code=status.HTTP_202_ACCEPTED, response_model=Queued)
async def send_email(body: EmailRequest, request: Request) -> Queued:
    # The task's own arguments, by name; the worker renders the HTML part from the text.
    task = await send_email_task.kiq(to=body.to, subject=body.subject, text=body.text)
    return Queued(task_id=task.task_id, status_url=status_url(request, task.task_id))


@app.post("/emails/bulk", status_code=status.HTTP_202_ACCEPTED, response_model=Queued)
async def send_bulk_email(body: BulkEmailRequest, request: Request) -> Queued:
    task = await send_bulk_email_task.kiq(
        recipients=list(body.recipients), subject=body.subject, text=body.text
    )
    return Queued(task_id=task.task_id, status_url=status_url(request, task.task_id))


# --8<-- [end:routes]


def status_url(request: Request, task_id: str) -> str:
    return str(request.url_for("email_status", task_id=task_id))


# --8<-- [start:status]
@app.get("/emails/{task_id}")
async def email_status(task_id: str) -> dict[str, Any]:
    task: AsyncTaskiqTask[Any] = AsyncTaskiqTask(task_id, email_broker.result_backend)
    if not await task.is_ready():
        return {"task_id": task_id, "status": "pending"}
    result = await task.get_result()
    if result.is_err:  # the task raised (the database was down, say)
        return {"task_id": task_id, "status": "error", "error": str(result.error)}
    # The email tasks do not raise for a refused address or an SMTP server that stayed down:
    # they return counts and the reasons, and record each email in `email_deliveries`.
    totals = result.return_value
    return {"task_id": task_id, "status": "done", **totals}


# --8<-- [end:status]
