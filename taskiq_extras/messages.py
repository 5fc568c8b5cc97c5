"""Extras: the messages and errors the extras' brokers share.

``NackableMessage`` is a delivered message that can also be handed back; ``BrokerFullError``
says a broker refused a task rather than drop queued work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from taskiq import AckableMessage


class BrokerFullError(RuntimeError):
    """The broker cannot hold another task (a full stream, a disk that cannot grow): the task
    was not enqueued, and nothing queued was dropped."""


class NackableMessage(AckableMessage):
    """``ack`` when the task is done; ``nack`` to give the message back for another try.

    Our receiver calls ``nack`` when a run breaks outside the task function itself (say, the
    commit of its database session fails after the function returned): taskiq then neither
    saves a result nor acknowledges, and without ``nack`` the message would sit with its
    worker, its lease renewed, until that worker stops.
    """

    nack: Callable[[], Awaitable[None] | None] | None = None
    lease_id: bytes | None = None  # the broker's id of the delivery (a Redis stream entry)
