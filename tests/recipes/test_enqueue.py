"""recipes/enqueue on every broker, and the mistakes readers make when enqueueing."""

from __future__ import annotations

import asyncio
import re

import pytest
from taskiq import AsyncTaskiqTask
from taskiq.exceptions import SendTaskError, TaskiqResultTimeoutError
from taskiq.kicker import AsyncKicker

from reference_app.infrastructure.taskiq.brokers import build_broker
from taskiq_extras.middlewares import TaskArgumentError
from tests.support.app_server import AppServer
from tests.support.dead_letters import read_dead_letters
from tests.support.producer import kick, producer
from tests.support.recipes import run_recipe
from tests.support.waiting import async_wait_for, wait_for

pytestmark = pytest.mark.broker
TASKS = "recipes.enqueue.tasks"


def test_the_recipe_runs_as_a_reader_runs_it(broker_env):
    output = run_recipe("enqueue", broker_env)
    assert "export not ready after 0.5 s" in output
    assert "export: archive ready after 3 s" in output
    task_id = re.search(r"task id (\w+)", output).group(1)
    own_id = re.search(r"our own id (thumb-8-\w+)", output).group(1)

    async def stored(broker, task_id: str):
        return await AsyncTaskiqTask(task_id, broker.result_backend).get_result()

    async def read_results():
        async with producer(broker_env) as broker:
            return await stored(broker, task_id), await stored(broker, own_id)

    plain, urgent = asyncio.run(read_results())  # the results the worker stored
    assert plain.return_value["path"] == "thumbs/7-128.png"
    assert urgent.return_value["path"] == "thumbs/8-512.png"
    assert urgent.labels["priority"] == "high"


def test_the_route_answers_202_and_the_status_url_shows_the_result(
    broker_env, start_worker, tmp_path
):
    start_worker(broker_env, extra=[TASKS])
    server = AppServer("recipes.enqueue.app:app", broker_env.process_env(), tmp_path / "app.log")
    try:
        server.start_and_wait()
        with server.client() as client:
            response = client.post("/thumbnails", json={"image_id": 42, "width": 256})
            assert response.status_code == 202, response.text
            queued = response.json()
            assert queued["status_url"] == f"{server.base_url}/thumbnails/{queued['task_id']}"
            done = wait_for(
                lambda: (s := client.get(queued["status_url"]).json())["status"] == "done" and s,
                timeout=20,
                what="the thumbnail task to finish",
            )
    finally:
        server.stop()
    assert done["result"]["path"] == "thumbs/42-256.png"


async def test_a_chosen_task_id_and_labels_travel_with_the_message(broker_env, start_worker):
    start_worker(broker_env, extra=[TASKS])
    async with producer(broker_env) as broker:
        task = (
            await AsyncKicker("enqueue.make_thumbnail", broker, {})
            .with_task_id("thumb-1-test")
            .with_labels(priority="high")
            .kiq(image_id=1, width=32)
        )
        result = await task.wait_result(timeout=20)
    assert task.task_id == "thumb-1-test"
    assert result.return_value["path"] == "thumbs/1-32.png"
    assert result.labels["priority"] == "high"


async def test_waiting_for_a_result_that_never_comes_raises_a_timeout(broker_env):
    async with producer(broker_env) as broker:  # no worker is running
        task = await kick(broker, "enqueue.make_thumbnail", image_id=3)
        with pytest.raises(TaskiqResultTimeoutError, match=r"timed out, timeout=0\.3"):
            await task.wait_result(timeout=0.3)


async def test_a_non_json_argument_is_refused_at_kiq_time(broker_env):
    async with producer(broker_env) as broker:
        with pytest.raises(TaskArgumentError) as caught:
            await kick(broker, "enqueue.make_thumbnail", image_id=lambda: 3)
    assert str(caught.value).startswith(
        "task 'enqueue.make_thumbnail': argument 'image_id': function is not JSON-serializable"
    )


async def test_a_misspelt_task_name_is_dead_lettered_and_its_caller_told_why(
    broker_env, start_worker
):
    start_worker(broker_env, extra=[TASKS])
    async with producer(broker_env) as broker:
        task = await kick(broker, "enqueue.make_thumbnial", image_id=3)  # typo
        letters = await async_wait_for(
            lambda: read_dead_letters(broker_env, broker), timeout=20, what="the dead letter"
        )
        result = await task.wait_result(timeout=20)  # an error at once, not a wait forever
    (letter,) = letters
    assert "unknown task 'enqueue.make_thumbnial'" in letter[1]
    assert result.is_err and "unknown task 'enqueue.make_thumbnial'" in str(result.error)


async def test_forgetting_to_start_the_broker(broker_env):
    broker = build_broker(broker_env.settings())  # no `await broker.startup()`
    if broker_env.broker_type == "redis":
        # The Redis client connects lazily: the message is sent anyway. Start it all the same.
        task = await kick(broker, "enqueue.make_thumbnail", image_id=5)
        assert task.task_id
        await broker.shutdown()
        return
    with pytest.raises(SendTaskError, match="Cannot send task to the queue") as caught:
        await kick(broker, "enqueue.make_thumbnail", image_id=5)
    # taskiq's own message says nothing; the reason is in the chained exception.
    assert "startup" in str(caught.value.__cause__)
