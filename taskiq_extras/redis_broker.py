"""Extras: taskiq-redis's stream broker, with the three gaps we measured closed.

taskiq-redis 1.2.4's ``RedisStreamBroker.listen``:

1. loops on an empty ``XREADGROUP`` without yielding a message, so an idle worker can take
   long to notice SIGTERM;
2. reclaims a dead worker's unacknowledged messages (``XAUTOCLAIM``) only after a non-empty
   read, so they wait until *new* work arrives;
3. takes a Redis lock with no timeout around that reclaim, so a worker killed while holding it
   blocks every other worker's reclaim.

Ours reclaims on a timer whether or not new work arrives, uses no lock (``XAUTOCLAIM`` is
atomic: two workers never get the same pending message), reads one message per slot (so a
stopping worker holds nothing it has not started), and moves a message that keeps coming back
to a dead-letter stream; so is, at once, an entry without the ``data`` field every producer
writes (taskiq-redis raises ``KeyError`` on it, in every worker that reads it, forever).

Two more things a stream needs to be safe as a queue:

* **Leases renewed while a task runs.** A message is reclaimed once it has been pending
  ``lease_seconds`` without news; a worker running a long task refreshes it (``XCLAIM`` to
  itself) every third of that, so only a dead or frozen worker loses its messages.
* **A bounded stream that never drops work.** ``XADD ... MAXLEN`` trims the oldest entries
  whether or not they were run. Instead, workers trim only entries every consumer has
  acknowledged (``XTRIM MINID``), and ``kick`` refuses, with a clear error, a task that would
  grow the stream past ``maxlen`` (the workers are far behind), rather than lose an old one.

It also never *blocks* in ``XREADGROUP``: it polls, sleeping ``poll_interval`` when the stream
is empty. We measured why: when taskiq stops a worker it cancels the pending read; with
redis-py 8.1 a cancelled blocking ``XREADGROUP`` could swallow the cancellation and start a
new read on a connection left out of step, so the worker hung for as long as we watched
(20 s and more) after SIGTERM. A cancellation now lands in ``asyncio.sleep`` nearly always, and
the loop checks for a swallowed one before every command.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AckableMessage, BrokerMessage, TaskiqResult
from taskiq.utils import maybe_awaitable
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

from .dead_letters import DeadLetter
from .group_commit import WRITE_INTERVAL, GroupCommit
from .messages import BrokerFullError, NackableMessage

logger = logging.getLogger(__name__)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _stream_id(value: str) -> tuple[int, int]:
    millis, _, sequence = value.partition("-")
    return int(millis), int(sequence or 0)


def _delay_seconds(message: BrokerMessage) -> float:
    try:
        return max(0.0, float(message.labels.get("delay") or 0))
    except (TypeError, ValueError):
        return 0.0


def _raise_if_cancelling() -> None:
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


# XLEN and XADD in one atomic step: refuse instead of trimming unprocessed work.
ADD_IF_ROOM = """
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then
    return redis.error_reply('QUEUEFULL')
end
return redis.call('XADD', KEYS[1], '*', 'data', ARGV[2])
"""


# Move delayed messages whose time has come into the stream, atomically.
MOVE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, data in ipairs(due) do
    redis.call('XADD', KEYS[2], '*', 'data', data)
    redis.call('ZREM', KEYS[1], data)
end
return #due
"""


def _lossy(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


_SHOWN_FIELDS, _SHOWN_BYTES = 20, 4096  # what a dead letter keeps of an entry without data


def _without_data(fields: dict[Any, Any]) -> tuple[bytes, str]:
    """An entry no taskiq producer wrote: what it held (as JSON text, each value cut to
    ``_SHOWN_BYTES``) for its dead letter, and the reason."""
    shown = {
        _lossy(name)[:200]: _lossy(value[:_SHOWN_BYTES] if isinstance(value, bytes) else value)
        for name, value in list(fields.items())[:_SHOWN_FIELDS]
    }
    names = ", ".join(json.dumps(name) for name in list(shown)[:5])
    reason = (
        f"stream entry without a data field (its fields: {names or 'none'}): no taskiq "
        "producer wrote it, there is nothing to run"
    )
    return json.dumps(shown).encode(), reason


def _dead_letter(entry_id: bytes, fields: dict[bytes, bytes]) -> DeadLetter:
    reason = fields.get(b"reason", b"").decode("utf-8", errors="replace")
    return DeadLetter.from_payload(entry_id.decode(), fields.get(b"data", b""), reason)


class ReliableRedisStreamBroker(RedisStreamBroker):
    """``RedisStreamBroker`` with timed reclaim, lease renewal, safe trimming, dead letters."""

    def __init__(
        self,
        url: str,
        *,
        lease_seconds: float = 60.0,
        max_deliveries: int = 5,
        poll_interval: float = 0.02,
        write_interval: float = WRITE_INTERVAL,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("xread_count", 1)
        kwargs.setdefault("maxlen", 100_000)
        super().__init__(url, idle_timeout=int(lease_seconds * 1000), **kwargs)
        self.poll_interval = poll_interval
        self.lease_seconds = lease_seconds
        self.max_deliveries = max_deliveries
        # Messages handed to taskiq and not yet acked (id -> stream): one task renews them all.
        self._running: dict[bytes, Any] = {}
        self._renewer: asyncio.Task[None] | None = None
        self._client: Redis | None = None
        self._add_if_room: Any = None
        # Acks and results go out in batches, in order, in one pipeline (see ``store_result``):
        # what arrives while a write is in flight, or within `write_interval` of the last one.
        self._outbox: GroupCommit[tuple[Any, ...]] = GroupCommit(
            self._send, min_interval=write_interval
        )
        self._next_move = self._next_reclaim = 0.0
        # Look for abandoned messages several times per lease, and at least every 5 s.
        self.reclaim_interval = min(max(lease_seconds / 4, 0.2), 5.0)

    @property
    def dead_letter_stream(self) -> str:
        return f"{self.queue_name}:dead-letters"

    @property
    def delayed_key(self) -> str:
        return f"{self.queue_name}:delayed"

    @property
    def redis(self) -> Redis:
        """One client for the per-task commands (kick, ack). taskiq-redis builds a new client
        for each call, which cost more CPU than the command itself in our profile; a client
        is safe to share, each command takes its own connection from the pool."""
        if self._client is None:
            self._client = Redis(connection_pool=self.connection_pool)
            self._add_if_room = self._client.register_script(ADD_IF_ROOM)  # EVALSHA
        return self._client

    def _ack_generator(self, id: Any, queue_name: str) -> Callable[[], Awaitable[None]]:
        async def ack() -> None:
            await self._outbox.submit(("xack", queue_name, id))

        return ack

    # --8<-- [start:store_result]
    async def store_result(self, key: str, value: bytes, ex: int | None, px: int | None) -> None:
        """Store a task's result in the next pipeline; return once Redis has it.

        Results and acks that arrive while a pipeline is in flight go out together in the
        next one (MULTI/EXEC), so a busy worker pays one round trip for many tasks. Returning
        only after it means a reader sees the result as soon as ``set_result`` returns.
        """
        await self._outbox.submit(("set", key, value, ex, px))

    async def _send(self, commands: list[tuple[Any, ...]]) -> None:
        redis = self.redis
        if all(command[0] == "xack" for command in commands):  # acks only: one XACK
            ids = [msg_id for _, _, msg_id in commands]
            await redis.xack(commands[0][1], self.consumer_group_name, *ids)
            return
        # MULTI/EXEC: if Redis refuses a result (out of memory...), the acks of the batch are
        # not applied either, so those messages run again rather than lose their results.
        pipe = redis.pipeline(transaction=True)
        for name, *args in commands:  # in order: a result before its task's ack
            if name == "set":
                key, value, ex, px = args
                pipe.set(key, value, ex=ex, px=px)
            else:
                pipe.xack(args[0], self.consumer_group_name, args[1])
        await pipe.execute()

    # --8<-- [end:store_result]

    async def kick(self, message: BrokerMessage) -> None:
        delay = _delay_seconds(message)
        redis = self.redis
        if delay > 0:  # e.g. a retry with backoff: parked in a sorted set until due
            await redis.zadd(self.delayed_key, {message.message: time.time() + delay})
            return
        try:
            await self._add_if_room(keys=[self.queue_name], args=[self.maxlen, message.message])
        except ResponseError as exc:
            if "QUEUEFULL" not in str(exc):
                raise
            raise BrokerFullError(
                f"the Redis stream {self.queue_name!r} already holds {self.maxlen} tasks "
                "(TASKIQ_REDIS_STREAM_MAXLEN): the workers are far behind. The task was "
                "not enqueued; start more workers or raise the limit."
            ) from None

    async def startup(self) -> None:
        await super().startup()
        if self.is_worker_process:
            await self._warn_if_not_persistent()

    async def _warn_if_not_persistent(self) -> None:
        """One warning when Redis keeps nothing on disk: a restart then loses every queued
        task (nothing on our side can bring them back). Managed servers may refuse CONFIG."""
        try:
            async with Redis(connection_pool=self.connection_pool) as redis:
                aof = (await redis.config_get("appendonly")).get("appendonly")
                rdb = (await redis.config_get("save")).get("save")
        except Exception:  # CONFIG disabled, or not allowed: nothing to say
            return
        if _text(aof or "") == "no" and not _text(rdb or "").strip():
            logger.warning(
                "This Redis keeps nothing on disk (appendonly no, no save points): a restart "
                "of Redis loses every queued task. Run it with --appendonly yes."
            )

    async def shutdown(self) -> None:
        await self._outbox.flush()
        if self._renewer is not None:
            self._renewer.cancel()
            self._renewer = None
        self._running.clear()
        if self._client is not None:
            await self._client.aclose()  # the pool stays ours: super() disconnects it
            self._client = None
        await super().shutdown()

    def _message(self, stream: Any, msg_id: bytes, fields: dict[bytes, bytes]) -> NackableMessage:
        ack = self._ack_generator(id=msg_id, queue_name=stream)
        self._running[msg_id] = stream
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_forever())

        def stop_renewing() -> None:
            self._running.pop(msg_id, None)

        async def ack_and_stop_renewing() -> None:
            stop_renewing()
            await ack()

        # nack: stop renewing; another worker reclaims it once the lease has run out.
        return NackableMessage(
            data=fields[b"data"], ack=ack_and_stop_renewing, nack=stop_renewing, lease_id=msg_id
        )

    async def _renew_forever(self) -> None:
        """Every third of the lease, reset the idle time of every message this worker runs:
        one task and one ``XCLAIM`` per stream for all of them, not a task per message."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            by_stream: dict[Any, list[bytes]] = {}
            for msg_id, stream in list(self._running.items()):
                by_stream.setdefault(stream, []).append(msg_id)
            if not by_stream:
                continue
            try:
                async with Redis(connection_pool=self.connection_pool) as redis:
                    for stream, ids in by_stream.items():
                        await redis.xclaim(
                            stream, self.consumer_group_name, self.consumer_name,
                            min_idle_time=0, message_ids=ids, justid=True,
                        )  # fmt: skip
            except Exception:  # the next turn tries again, well within the lease
                logger.warning("Could not renew the leases of %d messages", len(self._running))

    async def _hand_back(self, redis: Redis, messages: list[NackableMessage]) -> None:
        """Make unstarted messages reclaimable at once, as if their lease had run out."""
        ids = [message.lease_id for message in messages if message.lease_id is not None]
        for message in messages:
            await maybe_awaitable(message.nack())  # stops renewing its lease
        with contextlib.suppress(Exception):  # if Redis is away, the lease runs out anyway
            await redis.xclaim(
                self.queue_name, self.consumer_group_name, self.consumer_name,
                min_idle_time=0, message_ids=ids, idle=int(self.idle_timeout), justid=True,
            )  # fmt: skip
            logger.info("Handed back %d messages this worker had not started.", len(ids))

    # --8<-- [start:listen]
    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        async with Redis(connection_pool=self.connection_pool) as redis:
            outage = 0.0  # seconds to wait before the next try while Redis is away
            while True:
                _raise_if_cancelling()
                try:
                    messages = await self._next_messages(redis)
                except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                    outage = min(max(outage * 2, 0.5), 5.0)
                    logger.warning("Redis is unreachable (%s); trying again in %.1f s", exc, outage)
                    await asyncio.sleep(outage)
                    continue
                except ResponseError as exc:
                    if "NOGROUP" not in str(exc):
                        raise
                    logger.warning("The consumer group is gone (a Redis restart?): recreating it")
                    await self._declare_consumer_group()
                    continue
                if outage:
                    logger.warning("Redis is back: consuming again.")
                    outage = 0.0
                if not messages:
                    await asyncio.sleep(self.poll_interval)
                    continue
                try:
                    while messages:
                        yield messages.pop(0)
                finally:
                    if messages:  # the worker stops: what it read but never started goes back
                        await self._hand_back(redis, messages)

    async def _next_messages(self, redis: Redis) -> list[AckableMessage]:
        """Due delayed messages moved in; abandoned ones reclaimed now and then; one new."""
        now = time.monotonic()
        if now >= self._next_move:
            self._next_move = now + 0.2
            await redis.eval(MOVE_DUE, 2, self.delayed_key, self.queue_name, time.time())
        messages = []
        if now >= self._next_reclaim:
            self._next_reclaim = now + self.reclaim_interval
            messages = await self._reclaim(redis)
        fetched = await redis.xreadgroup(
            self.consumer_group_name,
            self.consumer_name,
            {self.queue_name: ">"},
            count=self.count,
            noack=False,
        )
        for stream, entries in fetched or []:
            for msg_id, fields in entries:
                if b"data" not in (fields or {}):
                    await self._set_aside(redis, stream, msg_id, *_without_data(fields or {}))
                    continue
                messages.append(self._message(stream, msg_id, fields))
        return messages

    # --8<-- [end:listen]

    async def _trim_acknowledged(self, redis: Redis) -> None:
        """Drop entries every consumer has acknowledged: older than the oldest pending one
        and than the group's last delivered one. Unprocessed entries are never trimmed."""
        groups = await redis.xinfo_groups(self.queue_name)
        ours = [g for g in groups if _text(g["name"]) == self.consumer_group_name]
        if len(ours) != 1 or len(groups) != 1:
            return  # another consumer group reads this stream: its progress is not ours
        floor = _text(ours[0]["last-delivered-id"])
        pending = await redis.xpending(self.queue_name, self.consumer_group_name)
        if pending["pending"]:
            floor = min(floor, _text(pending["min"]), key=_stream_id)
        await redis.xtrim(self.queue_name, minid=floor, approximate=False)

    async def _reclaim(self, redis: Redis) -> list[AckableMessage]:
        """Take over messages whose consumer has held them longer than the lease."""
        await self._trim_acknowledged(redis)
        _cursor, entries, *deleted = await redis.xautoclaim(
            self.queue_name,
            self.consumer_group_name,
            self.consumer_name,
            min_idle_time=self.idle_timeout,
            count=self.unacknowledged_batch_size,
        )
        if deleted and deleted[0]:
            # Entries trimmed away while pending: nothing left to run, just clear them.
            await redis.xack(self.queue_name, self.consumer_group_name, *deleted[0])
        messages = []
        for msg_id, fields in entries:
            if fields is None:
                continue
            if b"data" not in fields:  # set aside at its first delivery, whatever the count
                await self._set_aside(redis, self.queue_name, msg_id, *_without_data(fields))
                continue
            pending = await redis.xpending_range(
                self.queue_name, self.consumer_group_name, min=msg_id, max=msg_id, count=1
            )
            deliveries = pending[0]["times_delivered"] if pending else 1
            if deliveries > self.max_deliveries:
                await self._set_aside(
                    redis,
                    self.queue_name,
                    msg_id,
                    fields[b"data"],
                    f"delivered {deliveries - 1} times without an acknowledgement "
                    f"(max_deliveries={self.max_deliveries})",
                )
                continue
            logger.warning("Reclaimed message %s (delivery %d).", msg_id, deliveries)
            messages.append(self._message(self.queue_name, msg_id, fields))
        return messages

    async def _set_aside(
        self, redis: Redis, stream: Any, msg_id: bytes, data: bytes, reason: str
    ) -> None:
        """Dead-letter an entry and acknowledge it in one MULTI/EXEC: stored exactly once,
        and never delivered again."""
        pipe = redis.pipeline(transaction=True)
        pipe.xadd(
            self.dead_letter_stream,
            {b"data": data, b"reason": reason.encode()},
            maxlen=self.maxlen,
            approximate=True,
        )
        pipe.xack(stream, self.consumer_group_name, msg_id)
        await pipe.execute()
        logger.error("Message %s moved to %s: %s", _lossy(msg_id), self.dead_letter_stream, reason)

    async def _store_dead_letter(self, redis: Redis, data: bytes, reason: str) -> None:
        await redis.xadd(
            self.dead_letter_stream,
            {b"data": data, b"reason": reason.encode()},
            maxlen=self.maxlen,
            approximate=True,
        )
        logger.error("Message moved to %s: %s", self.dead_letter_stream, reason)

    async def dead_letter(self, data: bytes, reason: str) -> None:
        """Store a message that cannot be run (called by our receiver for poison messages)."""
        async with Redis(connection_pool=self.connection_pool) as redis:
            await self._store_dead_letter(redis, data, reason)

    async def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        """The oldest entries of the dead-letter stream (all of them without a limit)."""
        async with Redis(connection_pool=self.connection_pool) as redis:
            entries = await redis.xrange(self.dead_letter_stream, count=limit)
        return [_dead_letter(entry_id, fields) for entry_id, fields in entries]

    async def replay_dead_letter(
        self, letter_id: str, republish: Callable[[DeadLetter], Awaitable[None]]
    ) -> DeadLetter | None:
        """``republish`` the entry, then delete it (see ``dead_letters.py``)."""
        async with Redis(connection_pool=self.connection_pool) as redis:
            try:
                entries = await redis.xrange(self.dead_letter_stream, letter_id, letter_id)
            except ResponseError:  # not a stream id
                return None
            if not entries:
                return None
            letter = _dead_letter(*entries[0])
            await republish(letter)
            await redis.xdel(self.dead_letter_stream, letter_id)
        logger.info("Dead letter %s replayed onto %s.", letter_id, self.queue_name)
        return letter

    def with_result_backend(self, result_backend: Any) -> ReliableRedisStreamBroker:
        if isinstance(result_backend, SharedClientResultBackend):
            result_backend.broker = self  # same Redis: results share the acks' pipeline
        return super().with_result_backend(result_backend)  # type: ignore[return-value]

    async def ping(self) -> None:
        async with Redis(connection_pool=self.connection_pool) as redis:
            await redis.ping()


class SharedClientResultBackend(RedisAsyncResultBackend):
    """taskiq-redis's result backend, storing results through one shared client.

    taskiq-redis builds a client per ``set_result``, and a worker stores one result per task.
    Given to a ``ReliableRedisStreamBroker`` (``with_result_backend``), it stores each result
    in the broker's next pipeline instead, with the acks of that moment: see ``store_result``.
    """

    _client: Redis | None = None
    broker: ReliableRedisStreamBroker | None = None

    async def set_result(self, task_id: str, result: TaskiqResult[Any]) -> None:
        value = self.serializer.dumpb(result.model_dump(mode="json"))
        key = self._task_name(task_id)
        if self.broker is not None:
            await self.broker.store_result(key, value, self.result_ex_time, self.result_px_time)
            return
        if self._client is None:
            self._client = Redis(connection_pool=self.redis_pool)
        await self._client.set(key, value, ex=self.result_ex_time, px=self.result_px_time)

    async def shutdown(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        await super().shutdown()
