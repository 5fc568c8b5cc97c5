"""A taskiq ``Receiver`` that never drops a message it cannot run.

taskiq's own receiver logs a warning and acknowledges (deletes) a message that is not valid
JSON or names an unknown task. Ours moves it to the broker's dead letters first, with the
reason, so it can be inspected and replayed once the worker knows the task.
The worker launcher selects it with ``--receiver``.
"""

from __future__ import annotations

import logging

from taskiq import AckableMessage
from taskiq.receiver import Receiver
from taskiq.utils import maybe_awaitable

logger = logging.getLogger(__name__)


class DeadLetteringReceiver(Receiver):
    def _poison_reason(self, data: bytes) -> str | None:
        try:
            message = self.broker.formatter.loads(message=data)
        except Exception as exc:
            return f"malformed message ({type(exc).__name__}: {str(exc)[:300]})"
        if self.broker.find_task(message.task_name) is None:
            return (
                f"unknown task {message.task_name!r} (task id {message.task_id}): no imported "
                "module defines it. Is its tasks.py under reference_app/modules/<feature>/, "
                "or passed to the worker?"
            )
        return None

    async def callback(self, message: bytes | AckableMessage, raise_err: bool = False) -> None:
        data = message.data if isinstance(message, AckableMessage) else message
        reason = self._poison_reason(data)
        if reason is None:
            await super().callback(message, raise_err=raise_err)
            return
        logger.error("Cannot run a message from the queue: %s", reason)
        dead_letter = getattr(self.broker, "dead_letter", None)
        if dead_letter is not None:
            await dead_letter(data, reason)
        if isinstance(message, AckableMessage):
            await maybe_awaitable(message.ack())
