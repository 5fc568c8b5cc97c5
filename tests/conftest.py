"""Fixtures shared by every test: the broker under test, worker processes, the API server."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tests.support.brokers import BROKER_TYPES, IN_CI, BrokerEnv, cleanup, make_broker_env
from tests.support.postgres import (  # noqa: F401 (fixtures)
    new_database,
    postgres_template,
    postgres_url,
)
from tests.support.processes import ApiServer, SchedulerProcess, WorkerProcess

# The app refuses the repository's default SECRET_KEY unless DEV_MODE is set: the tests run
# as a developer's machine does (tests/security turns it off where that is the point).
os.environ.setdefault("DEV_MODE", "true")


# --8<-- [start:broker_env]
@pytest.fixture(params=BROKER_TYPES)
def broker_env(request: pytest.FixtureRequest, tmp_path) -> Iterator[BrokerEnv]:
    """The broker under test (sqlite, redis, rabbitmq), with isolated names; cleaned up after."""
    env = make_broker_env(request.param, tmp_path)
    yield env
    cleanup(env)


# --8<-- [end:broker_env]


# --8<-- [start:start_worker]
@pytest.fixture
def start_worker(tmp_path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start real worker processes: ``start_worker(env, listeners=1, extra=[...], **settings)``."""
    started: list[WorkerProcess] = []

    def start(
        env: BrokerEnv, *, listeners: int | None = None, extra: list[str] | None = None, **settings
    ) -> WorkerProcess:
        process_env = env.process_env(**settings)
        worker = WorkerProcess(process_env, tmp_path / f"worker-{len(started)}.log", extra)
        started.append(worker)
        wanted = listeners or int(process_env["TASKIQ_WORKER_PROCESSES"])
        return worker.start_and_wait(listeners=wanted)

    yield start
    for worker in started:
        # The test is over: a worker still busy after 5 s (a frozen task, a redelivery) is
        # killed. Tests of a graceful stop call stop() themselves, with its full grace.
        worker.stop(grace=5.0)


# --8<-- [end:start_worker]


@pytest.fixture
def start_scheduler(tmp_path) -> Iterator[Callable[..., SchedulerProcess]]:
    """Start real scheduler processes: ``start_scheduler(env, extra=[...], **settings)``."""
    started: list[SchedulerProcess] = []

    def start(env: BrokerEnv, *, extra: list[str] | None = None, **settings) -> SchedulerProcess:
        log = tmp_path / f"scheduler-{len(started)}.log"
        scheduler = SchedulerProcess(env.process_env(**settings), log, extra)
        started.append(scheduler)
        return scheduler.start_and_wait()

    yield start
    for scheduler in started:
        scheduler.stop(grace=5.0)


# --8<-- [start:start_api]
@pytest.fixture
def start_api(tmp_path) -> Iterator[Callable[..., ApiServer]]:
    """Start the API under uvicorn: ``start_api(env, **settings)``."""
    started: list[ApiServer] = []

    def start(env: BrokerEnv, **settings) -> ApiServer:
        server = ApiServer(env.process_env(**settings), tmp_path / f"api-{len(started)}.log")
        started.append(server)
        return server.start_and_wait()

    yield start
    for server in started:
        server.stop()


# --8<-- [end:start_api]


# --8<-- [start:ci_must_run]
@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """With CI=true a skipped broker test is a failure: CI must prove every broker."""
    report = yield
    if IN_CI and report.skipped and "broker_env" in getattr(item, "fixturenames", ()):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true: {report.longrepr}"
    return report


# --8<-- [end:ci_must_run]
