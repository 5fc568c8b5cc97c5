"""recipes/configuration: switching brokers by variables, isolation, and clear errors."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from redis.asyncio import Redis

from recipes.configuration.brokers import PROFILES, broker_class_for
from reference_app.infrastructure.config import ConfigurationError, Settings, get_settings
from tests.support.brokers import TEST_REDIS_DB, make_broker_env
from tests.support.processes import ROOT
from tests.support.producer import kick, producer
from tests.support.recipes import run_recipe


@pytest.mark.broker
def test_the_recipe_runs_and_the_worker_uses_the_same_broker_as_the_caller(broker_env):
    output = run_recipe("configuration", broker_env)
    caller = re.search(r"this process: (.+)", output).group(1)
    worker = re.search(r"the worker: +(.+)", output).group(1)
    assert caller == worker  # the answer the worker's task returned
    assert caller.startswith(broker_env.broker_type)
    assert f"queue {broker_env.queue!r}" in caller


def test_each_profile_builds_its_broker_without_connecting():
    assert {name: broker_class_for(s) for name, s in PROFILES.items()} == {
        "sqlite": "SQLiteBroker",
        "redis": "ReliableRedisStreamBroker",
        "rabbitmq": "DeadLetteringAioPikaBroker",
    }
    assert PROFILES["redis"].redis_url().endswith(":6379/3")


def test_keyword_arguments_beat_the_environment_which_beats_the_defaults(monkeypatch):
    monkeypatch.setenv("TASKIQ_BROKER_TYPE", "redis")
    monkeypatch.setenv("TASKIQ_REDIS_DB", "7")
    settings = Settings(_env_file=None, TASKIQ_REDIS_DB=5)
    assert settings.TASKIQ_BROKER_TYPE == "redis"  # from the environment
    assert settings.TASKIQ_REDIS_DB == 5  # the keyword argument wins
    assert settings.TASKIQ_REDIS_PORT == 6379  # the default
    get_settings.cache_clear()
    try:
        first = get_settings()
        monkeypatch.setenv("TASKIQ_REDIS_DB", "8")
        assert get_settings() is first  # read once per process: restart after a change
        assert first.TASKIQ_REDIS_DB == 7
    finally:
        get_settings.cache_clear()


async def test_redis_tasks_stay_in_their_own_database_number(tmp_path):
    env = make_broker_env("redis", tmp_path)
    try:
        async with producer(env) as broker:
            await kick(broker, "configuration.where_am_i")
        async with (
            Redis(host="127.0.0.1", db=TEST_REDIS_DB) as tasks_db,
            Redis(host="127.0.0.1", db=0) as cache_db,
        ):
            assert await tasks_db.xlen(env.queue) == 1
            assert await cache_db.exists(env.queue) == 0
    finally:
        await env.cleanup()


async def test_a_rabbitmq_vhost_that_does_not_exist_is_named_in_the_error(tmp_path):
    env = make_broker_env("rabbitmq", tmp_path)
    with pytest.raises(ConfigurationError) as caught:
        async with producer(env, TASKIQ_RABBITMQ_VHOST="no-such-vhost"):
            pass
    message = str(caught.value)
    assert "amqp://guest@127.0.0.1:5672/no-such-vhost" in message
    assert "TASKIQ_RABBITMQ_VHOST" in message
    assert "guest@" in message and ":guest@" not in message  # never the password


def test_a_broker_type_that_does_not_exist_stops_the_recipe_with_one_clear_line(tmp_path):
    env = make_broker_env("sqlite", tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "recipes.configuration"],
        cwd=ROOT,
        env=env.process_env(TASKIQ_BROKER_TYPE="kafka"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "invalid configuration: TASKIQ_BROKER_TYPE: Input should be 'sqlite', 'redis' or "
            "'rabbitmq' (got 'kafka')"
        )
    )
