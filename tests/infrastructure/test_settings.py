"""Settings: FastroAI's variables and defaults, secrets kept secret, knobs mapped to taskiq."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from reference_app.infrastructure.config import Settings, describe_validation_error
from reference_app.infrastructure.taskiq.run_worker import worker_argv


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)


def test_defaults_are_the_seeds_with_the_embedded_broker(monkeypatch):
    for name in list(Settings.model_fields):
        monkeypatch.delenv(name, raising=False)
    s = settings()
    assert s.TASKIQ_ENABLED is True
    assert s.TASKIQ_BROKER_TYPE == "sqlite"
    assert (s.TASKIQ_REDIS_HOST, s.TASKIQ_REDIS_PORT, s.TASKIQ_REDIS_DB) == ("localhost", 6379, 3)
    assert s.TASKIQ_REDIS_PASSWORD is None
    assert (s.TASKIQ_RABBITMQ_HOST, s.TASKIQ_RABBITMQ_PORT) == ("localhost", 5672)
    assert (s.TASKIQ_RABBITMQ_USER, s.TASKIQ_RABBITMQ_VHOST) == ("guest", "/")
    assert s.TASKIQ_RABBITMQ_PASSWORD.get_secret_value() == "guest"
    assert s.TASKIQ_WORKER_CONCURRENCY == 2
    assert s.TASKIQ_MAX_TASKS_PER_WORKER == 1000
    assert s.DATABASE_URL.startswith("sqlite+aiosqlite:///")


def test_every_setting_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("TASKIQ_BROKER_TYPE", "RabbitMQ")
    monkeypatch.setenv("TASKIQ_REDIS_DB", "5")
    monkeypatch.setenv("TASKIQ_WORKER_CONCURRENCY", "7")
    monkeypatch.setenv("TASKIQ_ENABLED", "false")
    s = settings()
    assert s.TASKIQ_BROKER_TYPE == "rabbitmq"
    assert s.TASKIQ_REDIS_DB == 5
    assert s.TASKIQ_WORKER_CONCURRENCY == 7
    assert s.TASKIQ_ENABLED is False


def test_passwords_never_show_in_repr_urls_or_locations():
    s = settings(
        TASKIQ_BROKER_TYPE="redis",
        TASKIQ_REDIS_PASSWORD="redis-pw-123",
        TASKIQ_RABBITMQ_PASSWORD="rabbit-pw-456",
    )
    shown = " ".join([repr(s), str(s), s.redis_url(), s.broker_location()])
    shown += settings(TASKIQ_BROKER_TYPE="rabbitmq", TASKIQ_RABBITMQ_PASSWORD="rabbit-pw-456")\
        .broker_location()  # fmt: skip
    assert "redis-pw-123" not in shown
    assert "rabbit-pw-456" not in shown
    assert s.rabbitmq_connection_kwargs()["password"] == "rabbit-pw-456"  # where it is needed


def test_a_bad_value_is_one_line_naming_the_setting_and_never_echoing_a_secret():
    with pytest.raises(ValidationError) as caught:
        settings(TASKIQ_BROKER_TYPE="kafka", TASKIQ_REDIS_PORT="0")
    line = describe_validation_error(caught.value)
    assert "\n" not in line
    assert "TASKIQ_BROKER_TYPE" in line and "'kafka'" in line
    assert "'sqlite', 'redis' or 'rabbitmq'" in line
    assert "TASKIQ_REDIS_PORT" in line

    with pytest.raises(ValidationError) as caught:
        settings(TASKIQ_RABBITMQ_PASSWORD=["not-a-string-secret"])
    line = describe_validation_error(caught.value)
    assert "TASKIQ_RABBITMQ_PASSWORD" in line
    assert "not-a-string-secret" not in line


def test_worker_knobs_become_taskiq_flags():
    argv = worker_argv(
        settings(
            TASKIQ_WORKER_PROCESSES=3,
            TASKIQ_WORKER_CONCURRENCY=4,
            TASKIQ_MAX_TASKS_PER_WORKER=50,
            TASKIQ_WAIT_TASKS_TIMEOUT=7,
            TASKIQ_SHUTDOWN_TIMEOUT=2.5,
        ),
        ["--log-level", "DEBUG"],
    )
    flags = dict(zip(argv[2::2], argv[3::2], strict=False))
    assert argv[:2] == ["worker", "reference_app.infrastructure.taskiq.worker:email_broker"]
    assert flags["--workers"] == "3"
    assert flags["--max-async-tasks"] == "4"
    assert flags["--max-tasks-per-child"] == "50"
    assert flags["--wait-tasks-timeout"] == "7"
    assert flags["--shutdown-timeout"] == "2.5"
    assert argv[-2:] == ["--log-level", "DEBUG"]  # the caller's flags come last and win
    assert "--max-tasks-per-child" not in worker_argv(settings(TASKIQ_MAX_TASKS_PER_WORKER=0))


def test_tls_is_a_setting_for_both_servers():
    s = settings(TASKIQ_REDIS_TLS=True, TASKIQ_RABBITMQ_TLS=True, TASKIQ_BROKER_TYPE="rabbitmq")
    assert s.redis_url().startswith("rediss://")
    assert s.rabbitmq_connection_kwargs()["ssl"] is True
    assert s.broker_location().startswith("rabbitmq at amqps://")
    assert settings().redis_url().startswith("redis://")
    assert settings().rabbitmq_connection_kwargs()["ssl"] is False


def test_the_rabbitmq_heartbeat_reaches_the_connection():
    """A vanished worker host is noticed after about two missed heartbeats: the setting must
    reach the AMQP connection (aiormq's own default is 60 s)."""
    assert settings().rabbitmq_connection_kwargs()["heartbeat"] == 10
    assert settings(TASKIQ_RABBITMQ_HEARTBEAT=3).rabbitmq_connection_kwargs()["heartbeat"] == 3
