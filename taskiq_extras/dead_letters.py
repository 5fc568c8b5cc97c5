"""Extras: dead letters on every broker: list them, and replay one once its cause is fixed.

Each of our brokers keeps the messages it moved aside (``taskiq_dead_letters`` on SQLite,
the ``<queue>:dead-letters`` stream on Redis, the ``<queue>.dead_letter`` queue on RabbitMQ)
and offers the same two methods, used here:

- ``dead_letters(limit)``: the oldest ``limit`` letters, without removing them;
- ``replay_dead_letter(letter_id, republish)``: find the letter, ``await republish(letter)``,
  and only then remove it. If the process dies in between, the letter is still there and the
  task may run twice (at-least-once), but it is never lost.

A replay refuses a payload that is not a taskiq message, or names a task this process does
not know: both would come straight back to the dead letters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from pydantic_core import from_json
from taskiq import AsyncBroker, BrokerMessage

# A letter's payload may be anything a producer (or an attacker) put on the queue: a huge
# body, or JSON nested 100,000 deep, which `json.loads` answers with a RecursionError. To
# find its task id and name we read only its first bytes, with pydantic-core's parser, which
# refuses more than 200 levels of nesting with a ValueError instead of recursing.
_SCANNED_BYTES = 64 * 1024


@dataclass(frozen=True)
class DeadLetter:
    """A message that was moved aside, and why. ``id`` is the broker's own, as text."""

    id: str
    task_id: str | None
    task_name: str | None
    payload: bytes
    reason: str
    deliveries: int | None = None

    @classmethod
    def from_payload(
        cls,
        letter_id: str,
        payload: bytes,
        reason: str,
        *,
        task_id: str | None = None,
        task_name: str | None = None,
        deliveries: int | None = None,
    ) -> DeadLetter:
        """Task id and name, when the broker did not keep them, come from the payload
        (its first ``_SCANNED_BYTES``, parsed with a bound on nesting)."""
        truncated = len(payload) > _SCANNED_BYTES
        try:
            # A cut payload is read as far as it goes (a string cut short is left out).
            decoded = from_json(payload[:_SCANNED_BYTES], allow_partial=truncated)
        except (ValueError, RecursionError):
            decoded = None
        if isinstance(decoded, dict):
            task_id = task_id or _text_or_none(decoded.get("task_id"))
            task_name = task_name or _text_or_none(decoded.get("task_name"))
        return cls(letter_id, task_id, task_name, payload, reason, deliveries)

    def as_dict(self, payload_chars: int = 2000) -> dict[str, Any]:
        """For display: the payload as text, never parsed, cut to ``payload_chars``."""
        head = self.payload[: payload_chars * 4]  # a UTF-8 character takes at most 4 bytes
        text = head.decode("utf-8", errors="replace")
        return {
            "id": self.id,
            "task_id": self.task_id,
            "task_name": self.task_name,
            "reason": self.reason,
            "deliveries": self.deliveries,
            "payload": text[:payload_chars],
            "payload_truncated": len(text) > payload_chars or len(self.payload) > len(head),
        }


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def payload_digest(payload: bytes) -> str:
    """A stable id for a letter whose broker gives none (a poison message on RabbitMQ)."""
    return hashlib.sha256(payload).hexdigest()[:24]


class DeadLettersUnsupported(RuntimeError):
    """The broker keeps no dead letters (the in-process broker)."""


class DeadLetterNotFound(LookupError):
    pass


class NotReplayable(ValueError):
    """Replaying would only dead-letter the message again; it stays where it is."""


def _supports(broker: AsyncBroker) -> None:
    if not hasattr(broker, "replay_dead_letter"):
        raise DeadLettersUnsupported(
            f"{type(broker).__name__} keeps no dead letters (only the sqlite, redis and "
            "rabbitmq brokers do)"
        )


async def list_dead_letters(broker: AsyncBroker, limit: int = 100) -> list[DeadLetter]:
    _supports(broker)
    return await broker.dead_letters(limit=limit)


# --8<-- [start:replay]
async def replay_dead_letter(broker: AsyncBroker, letter_id: str) -> DeadLetter:
    """Put a dead letter's message back on the task queue, then remove the letter."""
    _supports(broker)

    async def republish(letter: DeadLetter) -> None:
        try:
            message = broker.formatter.loads(message=letter.payload)
        except Exception as exc:
            raise NotReplayable(
                f"dead letter {letter.id} is not a taskiq message ({type(exc).__name__}); "
                "it cannot run, so it is kept for inspection"
            ) from None
        if broker.find_task(message.task_name) is None:
            raise NotReplayable(
                f"dead letter {letter.id} names the unknown task {message.task_name!r}: "
                "deploy the task first, then replay"
            )
        # A retry's `delay` label would park it again; a replay runs now.
        labels = {key: value for key, value in message.labels.items() if key != "delay"}
        await broker.kick(
            BrokerMessage(
                task_id=message.task_id,
                task_name=message.task_name,
                message=letter.payload,
                labels=labels,
            )
        )

    letter = await broker.replay_dead_letter(letter_id, republish)
    if letter is None:
        raise DeadLetterNotFound(f"no dead letter with id {letter_id!r}")
    return letter


# --8<-- [end:replay]
