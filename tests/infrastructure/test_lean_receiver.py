"""Our receiver's loop (``LeanReceiver``): the same guarantees as taskiq's, less asyncio per task.

Each test runs the receiver in this process on a broker whose queue is an ``asyncio.Queue``,
so what is checked is the loop itself: the concurrency limit, shutdown, the per-worker task
limit, a broker error, and how many asyncio tasks it creates per message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from concurrent.futures import ThreadPoolExecutor

import pytest
from taskiq import AckableMessage, AsyncBroker, BrokerMessage
from taskiq.receiver import Receiver

from taskiq_extras.receiver import LeanReceiver
from tests.support.waiting import async_wait_for


class QueueBroker(AsyncBroker):
    """In one process, no I/O; counts acks. ``fail_after``: listen() raises after N messages."""

    def __init__(self, fail_after: int | None = None) -> None:
        super().__init__()
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.acked = 0
        self.fail_after = fail_after

    async def kick(self, message: BrokerMessage) -> None:
        self.queue.put_nowait(message.message)

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        handed = 0
        while True:
            if self.fail_after is not None and handed == self.fail_after:
                raise ConnectionError("the broker went away")
            data = await self.queue.get()
            handed += 1
            yield AckableMessage(data=data, ack=self._ack)

    def _ack(self) -> None:
        self.acked += 1


class Gauge:
    """How many task bodies run at once, the most seen, and how many finished."""

    def __init__(self) -> None:
        self.now = self.most = self.finished = 0
        self.release = asyncio.Event()

    async def run(self, hold: bool) -> None:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            if hold:
                await self.release.wait()
            else:
                await asyncio.sleep(0)
        finally:
            self.now -= 1
        self.finished += 1


async def until(condition, what: str) -> None:
    async def check() -> bool:
        return condition()

    await async_wait_for(check, timeout=10, interval=0.005, what=what)


async def loop_turns(count: int = 200) -> None:
    """Let the loop run ``count`` times: room for something that must not happen to happen."""
    for _ in range(count):
        await asyncio.sleep(0)


async def filled(count: int, *, hold: bool = False, fail_after: int | None = None):
    """A broker with ``count`` probe tasks queued, and the gauge they report to."""
    broker, gauge = QueueBroker(fail_after), Gauge()

    @broker.task(task_name="probe")
    async def probe(hold: bool = False) -> None:
        await gauge.run(hold)

    for _ in range(count):
        await probe.kiq(hold=hold)
    return broker, gauge


def receiver(kind: type[Receiver], broker: QueueBroker, pool, **options) -> Receiver:
    options = {"max_async_tasks": 4, "max_prefetch": 0, "run_startup": False, **options}
    return kind(broker, executor=pool, **options)


async def test_at_most_max_async_tasks_run_at_once_and_every_message_runs() -> None:
    broker, gauge = await filled(12, hold=True)
    finish = asyncio.Event()
    with ThreadPoolExecutor() as pool:
        listening = asyncio.create_task(receiver(LeanReceiver, broker, pool).listen(finish))
        await until(lambda: gauge.now == 4, "4 tasks to run")
        await loop_turns()  # room for a 5th to start, if the limit did not hold
        assert (gauge.most, broker.queue.qsize()) == (4, 8)
        gauge.release.set()
        await until(lambda: gauge.finished == 12, "all 12 tasks")
        finish.set()
        await asyncio.wait_for(listening, 10)
    assert gauge.most == 4 and broker.acked == 12


async def test_a_stop_lets_running_tasks_finish_and_takes_no_new_message() -> None:
    broker, gauge = await filled(6, hold=True)
    finish = asyncio.Event()
    with ThreadPoolExecutor() as pool:
        lean = receiver(LeanReceiver, broker, pool, max_async_tasks=2, wait_tasks_timeout=10)
        listening = asyncio.create_task(lean.listen(finish))
        await until(lambda: gauge.now == 2, "2 tasks to run")
        finish.set()
        await loop_turns()
        assert not listening.done()  # it waits for the two running tasks
        gauge.release.set()
        await asyncio.wait_for(listening, 10)
    assert (gauge.finished, broker.acked, broker.queue.qsize()) == (2, 2, 4)


async def test_after_max_tasks_to_execute_it_stops_and_calls_on_exit() -> None:
    broker, gauge = await filled(10)
    exits: list[Receiver] = []
    with ThreadPoolExecutor() as pool:
        lean = receiver(LeanReceiver, broker, pool, max_tasks_to_execute=7, on_exit=exits.append)
        await asyncio.wait_for(lean.listen(asyncio.Event()), 10)
    assert (gauge.finished, broker.queue.qsize(), exits) == (7, 3, [lean])


async def test_a_broker_error_is_raised_once_started_tasks_are_done() -> None:
    broker, gauge = await filled(3, hold=True, fail_after=3)
    with ThreadPoolExecutor() as pool:
        lean = receiver(LeanReceiver, broker, pool)
        listening = asyncio.create_task(lean.listen(asyncio.Event()))
        await until(lambda: gauge.now == 3, "3 tasks to run")
        await loop_turns()
        assert not listening.done()  # the error waits for the tasks already started
        gauge.release.set()
        with pytest.raises(ConnectionError, match="went away"):
            await asyncio.wait_for(listening, 10)
    assert gauge.finished == 3 and broker.acked == 3


@pytest.mark.parametrize(("kind", "most_per_message"), [(LeanReceiver, 1.1), (Receiver, None)])
async def test_asyncio_tasks_created_per_message(kind, most_per_message) -> None:
    """Ours: one per message (the task's own run). taskiq's: three; checked here, so that this
    test notices when taskiq's loop gets lean too (then ours can go)."""
    broker, gauge = await filled(200)
    loop = asyncio.get_running_loop()
    created = 0

    def count(loop, coro, **kwargs):
        nonlocal created
        created += 1
        return asyncio.Task(coro, loop=loop, **kwargs)

    finish = asyncio.Event()
    with ThreadPoolExecutor() as pool:
        listening = asyncio.create_task(receiver(kind, broker, pool).listen(finish))
        loop.set_task_factory(count)
        try:
            await until(lambda: gauge.finished == 200, "200 tasks")
        finally:
            loop.set_task_factory(None)
        finish.set()
        await asyncio.wait_for(listening, 10)
    per_message = created / 200
    if most_per_message is not None:
        assert per_message <= most_per_message
    else:
        assert per_message >= 3
