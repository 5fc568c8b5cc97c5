"""Sending emails once each: the deliveries table, batches, retries, bounded concurrency.

Free of HTTP and of taskiq: the tasks in ``tasks.py`` call :func:`send_batches`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass, field

from aiosmtplib import SMTPException
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reference_app.infrastructure.database.types import utcnow
from reference_app.modules.email.message import InvalidEmailError, build_message
from reference_app.modules.email.models import DeliveryStatus, EmailDelivery
from reference_app.modules.email.sender import (
    InDoubtError,
    PermanentSMTPError,
    smtp_connection,
    transmit,
)
from reference_app.modules.email.settings import EmailSettings
from taskiq_extras.group_commit import GroupCommit

logger = logging.getLogger(__name__)
MAX_ERRORS_REPORTED = 10


@dataclass(frozen=True)
class Outgoing:
    """One email to one recipient, before it is sent."""

    campaign: str  # what this email belongs to: a task id, "welcome:42", ...
    to: str
    subject: str
    text: str
    html: str | None = None
    to_name: str | None = None

    @property
    def key(self) -> str:
        return f"{self.campaign}:{self.to.strip().lower()}"


@dataclass
class Totals:
    sent: int = 0
    failed: int = 0
    skipped: int = 0  # sent (or failed) by an earlier delivery of the same task
    errors: list[str] = field(default_factory=list)

    def add(self, other: Totals) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.skipped += other.skipped
        self.errors.extend(other.errors[: MAX_ERRORS_REPORTED - len(self.errors)])

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "skipped": self.skipped,
            "errors": self.errors,
        }


# --8<-- [start:prepare]
async def _insert_missing(db: AsyncSession, items: list[Outgoing]) -> None:
    rows = [
        {
            "idempotency_key": item.key,
            "campaign": item.campaign,
            "recipient": item.to[:320],
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "created_at": utcnow(),
        }
        for item in items
    ]
    dialect = db.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        await db.execute(
            insert(EmailDelivery)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
    else:  # other databases: look first; the unique constraint still guards against races
        keys = set(
            await db.scalars(
                select(EmailDelivery.idempotency_key).where(
                    EmailDelivery.idempotency_key.in_([r["idempotency_key"] for r in rows])
                )
            )
        )
        db.add_all(EmailDelivery(**r) for r in rows if r["idempotency_key"] not in keys)
    await db.commit()


async def prepare(db: AsyncSession, items: list[Outgoing]) -> tuple[list[Outgoing], int]:
    """Record each email as ``pending`` unless it already has a row; return the emails still
    to send, and how many an earlier run already sent or gave up on."""
    await _insert_missing(db, items)
    statuses = dict(
        (
            await db.execute(
                select(EmailDelivery.idempotency_key, EmailDelivery.status).where(
                    EmailDelivery.idempotency_key.in_([item.key for item in items])
                )
            )
        ).all()
    )
    todo = [item for item in items if statuses.get(item.key) == DeliveryStatus.PENDING]
    return todo, len(items) - len(todo)


# --8<-- [end:prepare]


DELIVERIES = EmailDelivery.__table__  # Core statements: no ORM bookkeeping per email


async def _set(db: AsyncSession, key: str, **values: object) -> None:
    await db.execute(
        update(DELIVERIES)
        .where(DELIVERIES.c.idempotency_key == key)
        .values(attempts=DELIVERIES.c.attempts + 1, **values)
    )
    await db.commit()


class SentMarks:
    """Group commit of the "sent" marks of several SMTP connections.

    Each sender still waits until its own mark is committed before its next email, so at
    most one email per connection is ever out without its mark (see ``sender.py``). But the
    marks that arrive while a commit runs share the next one: with ``EMAIL_CONCURRENCY``
    connections, one transaction and one trip to the database thread serve several emails.
    """

    MARK = (
        update(DELIVERIES)
        .where(DELIVERIES.c.idempotency_key == bindparam("mark_key"))
        .values(status=DeliveryStatus.SENT, sent_at=bindparam("mark_at"),
                attempts=DELIVERIES.c.attempts + 1)
    )  # fmt: skip

    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.marks: GroupCommit[tuple[str, object]] = GroupCommit(self._write)

    async def sent(self, key: str) -> None:
        await self.marks.submit((key, utcnow()))

    async def _write(self, marks: list[tuple[str, object]]) -> None:
        try:
            await self.db.execute(self.MARK, [{"mark_key": k, "mark_at": at} for k, at in marks])
            await self.db.commit()
        except Exception:
            await self.db.rollback()
            raise


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:500]


# --8<-- [start:send_batch]
async def send_batch(
    settings: EmailSettings,
    sessions: async_sessionmaker[AsyncSession],
    items: list[Outgoing],
    marks: SentMarks | None = None,
) -> Totals:
    """Send ``items`` over one SMTP connection; reconnect with backoff when it fails."""
    totals = Totals()
    async with sessions() as db:
        todo, totals.skipped = await prepare(db, items)
        last_error = ""
        for attempt in range(1, settings.SMTP_MAX_ATTEMPTS + 1):
            if not todo:
                break
            try:
                async with smtp_connection(settings) as smtp:
                    while todo:
                        item = todo[0]

                        async def commit_sent(key: str = item.key) -> None:
                            if marks is not None:  # shared with the other connections
                                await marks.sent(key)
                            else:
                                await _set(db, key, status=DeliveryStatus.SENT, sent_at=utcnow())

                        try:
                            message = build_message(
                                sender=settings.SMTP_FROM,
                                to=item.to,
                                to_name=item.to_name,
                                subject=item.subject,
                                text=item.text,
                                html=item.html,
                                idempotency_key=item.key,
                            )
                            await transmit(smtp, message, commit_sent)
                            totals.sent += 1
                        except (InvalidEmailError, PermanentSMTPError) as exc:
                            # This address or this message: record it, go on with the next.
                            await _set(db, item.key, status=DeliveryStatus.FAILED,
                                       error=_describe(exc), sent_at=None)  # fmt: skip
                            totals.failed += 1
                            totals.errors.append(f"{item.to}: {exc}")
                        except InDoubtError as exc:
                            # The connection broke while the server read it: it may or may not
                            # have arrived. Send it again on a new connection (same Message-ID).
                            logger.warning("email %s may not have arrived: %s", item.key, exc)
                            raise
                        todo.pop(0)
            except (OSError, TimeoutError, SMTPException, InDoubtError) as exc:
                last_error = _describe(exc)
                if todo and attempt < settings.SMTP_MAX_ATTEMPTS:
                    delay = settings.SMTP_RETRY_BACKOFF * 2 ** (attempt - 1)
                    logger.warning(
                        "SMTP %s:%s failed (%s); %d emails wait; try %d of %d in %.1f s",
                        settings.SMTP_HOST, settings.SMTP_PORT, last_error, len(todo),
                        attempt + 1, settings.SMTP_MAX_ATTEMPTS, delay,
                    )  # fmt: skip
                    await asyncio.sleep(delay)
        for item in todo:  # every try failed: give up on them, with the reason
            reason = f"gave up after {settings.SMTP_MAX_ATTEMPTS} tries: {last_error}"
            await _set(db, item.key, status=DeliveryStatus.FAILED, error=reason)
            totals.failed += 1
            if len(totals.errors) < MAX_ERRORS_REPORTED:
                totals.errors.append(f"{item.to}: {reason}")
    return totals


# --8<-- [end:send_batch]


# --8<-- [start:send_batches]
async def send_batches(
    settings: EmailSettings,
    sessions: async_sessionmaker[AsyncSession],
    batches: AsyncIterable[list[Outgoing]],
    *,
    label: str,
) -> Totals:
    """Send every batch, ``EMAIL_CONCURRENCY`` at a time (one SMTP connection each).

    The queue between the reader and the senders is bounded, so however many recipients
    there are, at most about twice ``EMAIL_CONCURRENCY`` batches are in memory.
    """
    queue: asyncio.Queue[list[Outgoing] | None] = asyncio.Queue(settings.EMAIL_CONCURRENCY)
    totals = Totals()
    crashes: list[BaseException] = []

    async def sender() -> None:
        while (batch := await queue.get()) is not None:
            if crashes:
                continue  # keep draining so the reader never blocks; the error is raised below
            try:
                totals.add(await send_batch(settings, sessions, batch, marks))
            except Exception as exc:  # the database, most likely: the task fails, rows stay
                crashes.append(exc)
                continue
            logger.info("%s: %d sent, %d failed, %d skipped so far",
                        label, totals.sent, totals.failed, totals.skipped)  # fmt: skip

    marks_session = sessions()
    marks = SentMarks(marks_session)
    senders = [asyncio.create_task(sender()) for _ in range(settings.EMAIL_CONCURRENCY)]
    try:
        async for batch in batches:
            await queue.put(batch)
        for _ in senders:
            await queue.put(None)
        await asyncio.gather(*senders)
        if crashes:
            raise crashes[0]
    finally:
        for task in senders:
            task.cancel()
        await marks_session.close()
    logger.info("%s: done: %d sent, %d failed, %d skipped",
                label, totals.sent, totals.failed, totals.skipped)  # fmt: skip
    return totals


# --8<-- [end:send_batches]


async def chunks(items: Iterable[Outgoing], size: int) -> AsyncIterable[list[Outgoing]]:
    batch: list[Outgoing] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def campaign_counts(db: AsyncSession, campaign: str) -> dict[str, int]:
    rows = await db.execute(
        select(EmailDelivery.status, func.count())
        .where(EmailDelivery.campaign == campaign)
        .group_by(EmailDelivery.status)
    )
    return {status: count for status, count in rows}
