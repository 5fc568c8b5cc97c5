"""A FastAPI app that enqueues from a route and answers 202 with a status URL.

uvicorn recipes.enqueue.app:app    (and a worker: see python -m recipes.enqueue)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from pydantic import BaseModel, Field
from taskiq import AsyncTaskiqTask

from recipes.enqueue.tasks import make_thumbnail
from reference_app.infrastructure.taskiq import email_broker


# --8<-- [start:lifespan]
@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await email_broker.startup()  # the client side: without it, .kiq() cannot send
    try:
        yield
    finally:
        await email_broker.shutdown()


# --8<-- [end:lifespan]

app = FastAPI(title="enqueue recipe", lifespan=lifespan)


class ThumbnailRequest(BaseModel):
    image_id: int
    width: int = Field(128, ge=16, le=2048)


class Queued(BaseModel):
    task_id: str
    status_url: str


# --8<-- [start:route]
@app.post("/thumbnails", status_code=status.HTTP_202_ACCEPTED, response_model=Queued)
async def create_thumbnail(body: ThumbnailRequest, request: Request) -> Queued:
    task = await make_thumbnail.kiq(image_id=body.image_id, width=body.width)
    # Answer at once: the client polls the status URL instead of holding the request open.
    url = request.url_for("thumbnail_status", task_id=task.task_id)
    return Queued(task_id=task.task_id, status_url=str(url))


@app.get("/thumbnails/{task_id}")
async def thumbnail_status(task_id: str) -> dict[str, Any]:
    task: AsyncTaskiqTask[Any] = AsyncTaskiqTask(task_id, email_broker.result_backend)
    if not await task.is_ready():
        return {"task_id": task_id, "status": "pending"}
    result = await task.get_result()
    if result.is_err:
        return {"task_id": task_id, "status": "failed", "error": str(result.error)}
    return {"task_id": task_id, "status": "done", "result": result.return_value}


# --8<-- [end:route]
