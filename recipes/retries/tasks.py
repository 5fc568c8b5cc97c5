"""Tasks that fail on purpose, to show what the retry middleware and the timeout label do.

The broker already carries taskiq's ``SmartRetryMiddleware`` (``build_broker`` adds it, with
``TASKIQ_RETRY_*`` settings), and it only retries tasks labelled ``retry_on_error=True``. So
this module adds no *retry* middleware: a second one would retry every failure twice. It adds
a small logging one, so that a reader sees one line per attempt instead of tracebacks.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import TaskiqDepends, TaskiqMessage, TaskiqMiddleware, TaskiqResult

from recipes.retries.models import Attempt, Charge
from reference_app.infrastructure.taskiq import email_broker, register_task
from reference_app.infrastructure.taskiq.deps import get_db_session

logger = logging.getLogger("recipes.retries")


# --8<-- [start:attempt_log]
class AttemptLog(TaskiqMiddleware):
    """One log line per failed attempt: which task, which attempt, why, and what comes next.

    ``on_error`` notes the failure. If taskiq's retry middleware sends the task again, this
    middleware sees it in ``pre_send`` (with its attempt number and delay) and writes the line;
    if nothing was sent by ``post_execute``, the failure was the last one.
    """

    def __init__(self) -> None:
        super().__init__()
        self._failed: dict[str, str] = {}

    def on_error(self, message: TaskiqMessage, result: TaskiqResult[Any], exc: BaseException):
        attempt = int(message.labels.get("_retries", 0)) + 1
        self._failed[message.task_id] = f"attempt {attempt} failed ({type(exc).__name__}: {exc})"

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        failed = self._failed.pop(message.task_id, None)
        if failed is not None:  # the retry of a failed attempt, on its way
            delay = float(message.labels.get("delay", 0) or 0)
            logger.warning("%s: %s; next try in %.1f s", message.task_name, failed, delay)
        return message

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        failed = self._failed.pop(message.task_id, None)
        if failed is not None:  # nothing was sent again: that was the last try
            logger.warning("%s: %s; no more tries", message.task_name, failed)


class TracebacksAtDebug(logging.Filter):
    """The line above says what failed; the full traceback only when the log is at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.exc_info or logging.getLogger().isEnabledFor(logging.DEBUG)


email_broker.add_middlewares(AttemptLog())
for noisy in ("taskiq.receiver.receiver", "taskiq.dependencies.ctx"):
    logging.getLogger(noisy).addFilter(TracebacksAtDebug())
# --8<-- [end:attempt_log]


class PartnerUnavailableError(ConnectionError):
    """A transient failure: worth trying again later."""


async def count_attempt(db: AsyncSession, key: str) -> int:
    """Record this attempt and commit at once, so a later failure cannot roll it back."""
    attempt = await db.get(Attempt, key) or Attempt(key=key, attempts=0)
    attempt.attempts += 1
    db.add(attempt)
    await db.commit()
    return attempt.attempts


# --8<-- [start:flaky]
@email_broker.task(task_name="retries.fetch_rates", retry_on_error=True, max_retries=4)
async def fetch_rates(
    key: str, fail_times: int, db: AsyncSession = TaskiqDepends(get_db_session)
) -> dict[str, object]:
    """Fails `fail_times` times (a partner API that is down), then succeeds."""
    attempt = await count_attempt(db, key)
    if attempt <= fail_times:
        raise PartnerUnavailableError(f"rates API unavailable (attempt {attempt})")
    (await db.get(Attempt, key)).succeeded = True
    return {"key": key, "attempts": attempt}


register_task("retries.fetch_rates", "email_broker", fetch_rates)
# --8<-- [end:flaky]


# --8<-- [start:always_fails]
@email_broker.task(task_name="retries.sync_inventory", retry_on_error=True, max_retries=3)
async def sync_inventory(key: str, db: AsyncSession = TaskiqDepends(get_db_session)) -> None:
    """Never succeeds: after 3 tries in all, the error becomes the task's result."""
    attempt = await count_attempt(db, key)
    raise PartnerUnavailableError(f"inventory service down (attempt {attempt})")


register_task("retries.sync_inventory", "email_broker", sync_inventory)
# --8<-- [end:always_fails]


# --8<-- [start:no_retry]
@email_broker.task(task_name="retries.parse_upload")
async def parse_upload(key: str, db: AsyncSession = TaskiqDepends(get_db_session)) -> None:
    """No retry label: a bug or bad data fails once, and is not tried again."""
    await count_attempt(db, key)
    raise ValueError("line 3: not a number")


register_task("retries.parse_upload", "email_broker", parse_upload)
# --8<-- [end:no_retry]


# --8<-- [start:timeout]
@email_broker.task(task_name="retries.call_slow_service", timeout=1)
async def call_slow_service(seconds: float) -> str:
    """The `timeout` label cancels the task after 1 s: it awaits, so it can be interrupted."""
    await asyncio.sleep(seconds)
    return f"answered after {seconds:g} s"


register_task("retries.call_slow_service", "email_broker", call_slow_service)
# --8<-- [end:timeout]


# --8<-- [start:idempotent]
@email_broker.task(task_name="retries.charge_order", retry_on_error=True, max_retries=3)
async def charge_order(
    order_id: int, amount: int, db: AsyncSession = TaskiqDepends(get_db_session)
) -> str:
    """Safe to run twice: the order id is the key, and a second run finds the charge."""
    if await db.get(Charge, order_id) is not None:
        return f"order {order_id} already charged"
    db.add(Charge(order_id=order_id, amount=amount))  # primary key: a racing twin fails
    return f"order {order_id} charged {amount}"


register_task("retries.charge_order", "email_broker", charge_order)
# --8<-- [end:idempotent]
