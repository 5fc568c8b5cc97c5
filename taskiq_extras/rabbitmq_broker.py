"""Extras: taskiq-aio-pika's broker with a dead-letter queue the app can list and replay.

taskiq-aio-pika 0.6 names queues and exchanges with ``Queue(...)`` and ``Exchange(...)``
objects. The old ``queue_name=`` keyword is no longer a parameter: it falls into
``**connection_kwargs`` and silently becomes a connection argument, so the worker listens on
the default queue ``taskiq``. :func:`build_rabbitmq_broker` only uses the objects.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from functools import partial
from typing import Any

from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractIncomingMessage
from taskiq_aio_pika import AioPikaBroker, Exchange, Queue, QueueType

from .dead_letters import DeadLetter, payload_digest
from .messages import NackableMessage

logger = logging.getLogger(__name__)


def _dead_letter(incoming: AbstractIncomingMessage) -> DeadLetter:
    """Ours carry ``x-taskiq-reason``; RabbitMQ's own (the delivery limit) ``x-first-death-*``."""
    headers = incoming.headers or {}
    reason = headers.get("x-taskiq-reason") or (
        f"RabbitMQ dead-lettered it ({headers.get('x-first-death-reason', 'unknown')}, "
        f"from {headers.get('x-first-death-queue', '?')}): it was delivered too many times"
    )
    task_id = headers.get("task_id")
    return DeadLetter.from_payload(
        str(task_id) if task_id else payload_digest(incoming.body),
        incoming.body,
        str(reason),
        deliveries=headers.get("x-delivery-count"),
    )


class DeadLetteringAioPikaBroker(AioPikaBroker):
    """``AioPikaBroker`` that can also park a poison message in its dead-letter queue."""

    def __init__(self, *, dead_letter_queue_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dead_letter_queue_name = dead_letter_queue_name

    async def listen(self) -> AsyncGenerator[NackableMessage, None]:
        async for message in super().listen():
            incoming = getattr(message.ack, "__self__", None)  # the aio-pika message
            nack = None
            if incoming is not None:
                nack = partial(incoming.nack, requeue=True)
            yield NackableMessage(data=message.data, ack=message.ack, nack=nack)

    async def dead_letter(self, data: bytes, reason: str) -> None:
        if self.write_channel is None:
            raise RuntimeError("The RabbitMQ broker is not started.")
        await self.write_channel.default_exchange.publish(
            Message(
                body=data,
                headers={"x-taskiq-reason": reason},
                delivery_mode=DeliveryMode.PERSISTENT,
            ),
            routing_key=self.dead_letter_queue_name,
        )
        logger.error("Message moved to %s: %s", self.dead_letter_queue_name, reason)

    async def _scan_dead_letters(self, limit: int) -> AsyncGenerator[tuple[DeadLetter, Any], None]:
        """Take up to ``limit`` letters, unacknowledged, on a channel of their own.

        Whatever is not acknowledged goes back to the queue, in order, when the channel
        closes; so listing removes nothing.
        """
        if self.write_conn is None:
            raise RuntimeError("The RabbitMQ broker is not started.")
        channel = await self.write_conn.channel()
        try:
            queue = await channel.get_queue(self.dead_letter_queue_name, ensure=True)
            for _ in range(limit):
                incoming = await queue.get(no_ack=False, fail=False)
                if incoming is None:
                    break
                yield _dead_letter(incoming), incoming
        finally:
            await channel.close()

    async def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        """The first letters of the dead-letter queue; they stay in the queue."""
        return [letter async for letter, _ in self._scan_dead_letters(limit or 10_000)]

    async def replay_dead_letter(
        self, letter_id: str, republish: Callable[[DeadLetter], Awaitable[None]]
    ) -> DeadLetter | None:
        """``republish`` the letter, then acknowledge it (see ``dead_letters.py``)."""
        async with aclosing(self._scan_dead_letters(10_000)) as letters:
            async for letter, incoming in letters:
                if letter.id == letter_id:
                    await republish(letter)
                    await incoming.ack()
                    logger.info("Dead letter %s replayed.", letter_id)
                    return letter
        return None

    async def ping(self) -> None:
        if self.write_conn is None or self.write_conn.is_closed:
            raise ConnectionError("no open connection to RabbitMQ")


def build_rabbitmq_broker(
    *,
    queue_name: str,
    exchange_name: str,
    prefetch: int,
    max_deliveries: int,
    connection_kwargs: dict[str, Any],
) -> DeadLetteringAioPikaBroker:
    # --8<-- [start:rabbitmq]
    dead_letter_name = f"{queue_name}.dead_letter"
    return DeadLetteringAioPikaBroker(
        exchange=Exchange(name=exchange_name),
        task_queues=[
            # A quorum queue: replicated, durable, and it counts deliveries, so a message
            # that keeps killing its worker is dead-lettered after `max_deliveries`.
            Queue(name=queue_name, arguments={"x-delivery-limit": max_deliveries}),
        ],
        dead_letter_queue=Queue(name=dead_letter_name),
        dead_letter_queue_name=dead_letter_name,
        # Messages with a `delay` label (retries with backoff) wait here, then expire into
        # the task queue. Per-message expiry only happens at the head of a queue, so a long
        # delay holds up shorter ones queued behind it: fine for retries, not for scheduling.
        delay_queue=Queue(name=f"{queue_name}.delay", type=QueueType.CLASSIC),
        qos=prefetch,
        **connection_kwargs,
    )
    # --8<-- [end:rabbitmq]
