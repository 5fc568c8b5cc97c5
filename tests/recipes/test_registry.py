"""recipes/registry: what the registry records, the route that shows it, and refused clashes."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from taskiq import InMemoryBroker
from taskiq.kicker import AsyncKicker

from recipes.registry.router import router
from recipes.registry.tasks import resize_avatar
from reference_app.infrastructure.taskiq.registry import (
    DuplicateTaskError,
    register_task,
    registered_tasks,
    tasks_per_broker,
)
from tests.support.producer import kick, producer
from tests.support.recipes import run_recipe

RESIZE = {
    "name": "registry.resize_avatar",
    "broker": "email_broker",
    "module": "recipes.registry.tasks",
    "function": "resize_avatar",
    "labels": {"team": "media"},
}


@pytest.mark.broker
def test_the_recipe_runs_as_a_reader_runs_it(broker_env):
    output = run_recipe("registry", broker_env)
    assert "refused: task name 'registry.resize_avatar' is already registered" in output
    assert "media team's task -> avatars/5-96.png" in output


@pytest.mark.broker
async def test_labels_are_set_by_the_sender_from_the_task_it_imported(broker_env, start_worker):
    start_worker(broker_env, extra=["recipes.registry.tasks"])
    async with producer(broker_env) as broker:
        with_task = AsyncKicker("registry.resize_avatar", broker, dict(resize_avatar.labels))
        labelled = await (await with_task.kiq(user_id=1)).wait_result(timeout=20)
        by_name = await (await kick(broker, "registry.resize_avatar", user_id=2)).wait_result(
            timeout=20
        )
    assert labelled.return_value == "avatars/1-96.png"
    assert labelled.labels["team"] == "media"
    # Kicked by name alone, the message carries no labels: the worker does not add them.
    assert by_name.return_value == "avatars/2-96.png"
    assert "team" not in by_name.labels


def test_the_registry_records_name_broker_module_function_and_labels():
    entries = {t.name: t.as_dict() for t in registered_tasks("email_broker")}
    assert entries["registry.resize_avatar"] == RESIZE
    assert entries["registry.purge_sessions"]["labels"] == {"team": "auth", "timeout": 30}
    assert tasks_per_broker()["email_broker"] == len(registered_tasks("email_broker"))
    assert registered_tasks("no_such_broker") == []


async def test_the_route_serves_the_registry_as_json():
    app = FastAPI()
    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        response = await client.get("/tasks/registry", params={"broker": "email_broker"})
    assert response.status_code == 200
    body = response.json()
    assert RESIZE in body["tasks"]
    assert body["tasks_per_broker"]["email_broker"] == len(body["tasks"])


def test_a_different_function_under_a_taken_name_is_refused_naming_both():
    other = InMemoryBroker()

    @other.task(task_name="registry.resize_avatar")
    async def resize_avatar_v2(user_id: int) -> str:
        return "v2"

    with pytest.raises(DuplicateTaskError) as caught:
        register_task("registry.resize_avatar", "email_broker", resize_avatar_v2)
    assert "by recipes.registry.tasks.resize_avatar" in str(caught.value)
    assert "resize_avatar_v2 cannot take it too" in str(caught.value)
    # Registering the same function again (a notebook cell run twice) is harmless.
    assert register_task("registry.resize_avatar", "email_broker", resize_avatar) is resize_avatar


def test_registering_under_a_name_that_is_not_the_tasks_own_is_refused():
    with pytest.raises(ValueError, match="use the same name in both places"):
        register_task("registry.resize", "email_broker", resize_avatar)
