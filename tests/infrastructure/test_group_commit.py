"""GroupCommit: callers that arrive during a write share the next one; errors reach them all."""

from __future__ import annotations

import asyncio

import pytest

from taskiq_extras.group_commit import GroupCommit


async def test_items_arriving_during_a_write_share_the_next_one():
    batches: list[list[int]] = []
    writing, release = asyncio.Event(), asyncio.Event()

    async def write(items: list[int]) -> None:
        batches.append(items)
        writing.set()
        await release.wait()  # a commit in flight: later callers queue up meanwhile

    group = GroupCommit(write)
    first = asyncio.create_task(group.submit(0))
    await writing.wait()
    others = [asyncio.create_task(group.submit(n)) for n in range(1, 50)]
    await asyncio.sleep(0)  # let them all queue behind the write in flight
    release.set()
    await asyncio.gather(first, *others)
    assert batches == [[0], list(range(1, 50))]  # the first alone, the 49 others together


async def test_a_failed_write_fails_every_caller_of_its_batch_and_the_next_one_works():
    calls = 0
    writing, release = asyncio.Event(), asyncio.Event()

    async def write(items: list[str]) -> None:
        nonlocal calls
        calls += 1
        writing.set()
        await release.wait()
        if calls == 2:
            raise OSError("disk full")

    group = GroupCommit(write)
    first = asyncio.create_task(group.submit("a"))
    await writing.wait()  # "a" is being written; "b" and "c" wait for the next write
    failing = [asyncio.create_task(group.submit(x)) for x in ("b", "c")]
    await asyncio.sleep(0)
    release.set()
    await first
    for task in failing:
        with pytest.raises(OSError, match="disk full"):
            await task
    await group.submit("d")
    assert calls == 3


async def test_a_detached_item_is_written_and_its_failure_is_logged(caplog):
    batches: list[list[str]] = []

    async def write(items: list[str]) -> None:
        if "bad" in items:
            raise OSError("disk says no")
        batches.append(items)

    group = GroupCommit(write)
    group.submit_detached("result-1", "the result of task 1")
    await group.submit("ack-1")  # no pause in between: one batch, result first
    assert batches == [["result-1", "ack-1"]]
    group.submit_detached("bad", "the result of task 2")
    await group.flush()
    assert "Could not store the result of task 2: disk says no" in caplog.text


async def test_with_min_interval_items_that_follow_a_write_wait_and_share_the_next():
    batches: list[list[str]] = []

    async def write(items: list[str]) -> None:
        batches.append(items)

    group = GroupCommit(write, min_interval=0.5)
    await group.submit("a")  # nothing written before: at once
    second = asyncio.create_task(group.submit("b"))
    for _ in range(5):  # without an interval, "b" would be written alone by now
        await asyncio.sleep(0)
    assert batches == [["a"]]
    third = asyncio.create_task(group.submit("c"))
    await asyncio.gather(second, third)
    assert batches == [["a"], ["b", "c"]]


async def test_without_min_interval_items_that_follow_a_write_go_alone():
    batches: list[list[str]] = []

    async def write(items: list[str]) -> None:
        batches.append(items)

    group = GroupCommit(write)
    await group.submit("a")
    second = asyncio.create_task(group.submit("b"))
    for _ in range(5):
        await asyncio.sleep(0)
    third = asyncio.create_task(group.submit("c"))
    await asyncio.gather(second, third)
    assert batches == [["a"], ["b"], ["c"]]
