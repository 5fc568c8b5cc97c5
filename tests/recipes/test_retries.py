"""recipes/retries on every broker: attempts counted in the database, not in logs."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from typing import Any

import pytest
from taskiq import InMemoryBroker, SmartRetryMiddleware

from recipes.retries.tasks import charge_order, fetch_rates, sync_inventory
from reference_app.infrastructure.database import create_engine_from_settings, create_tables
from tests.support.brokers import BrokerEnv
from tests.support.processes import ROOT
from tests.support.producer import kick, producer
from tests.support.recipes import run_recipe

pytestmark = pytest.mark.broker
TASKS = "recipes.retries.tasks"
FAST = {"TASKIQ_RETRY_DELAY": 0.1, "TASKIQ_RETRY_MAX_DELAY": 0.5}


def rows(env, sql: str) -> list[tuple]:
    with sqlite3.connect(env.database_path) as db:
        return db.execute(sql).fetchall()


def attempts(env, key: str) -> tuple[int, int]:
    (row,) = rows(env, f"SELECT attempts, succeeded FROM retries_attempts WHERE key = '{key}'")
    return row


async def prepare(env) -> None:
    import recipes.retries.models  # noqa: F401 - the tables

    engine = create_engine_from_settings(env.settings().DATABASE_URL)
    await create_tables(engine)
    await engine.dispose()


async def run(env, name: str, labels: dict[str, Any] | None, **kwargs: Any):
    async with producer(env) as broker:
        task = await kick(broker, name, labels=labels, **kwargs)
        return await task.wait_result(timeout=60)


def test_the_recipe_runs_as_a_reader_runs_it(broker_env):
    run_recipe("retries", broker_env, **FAST)
    counted = dict(
        (key.split("-")[0], (tries, ok))
        for key, tries, ok in rows(
            broker_env, "SELECT key, attempts, succeeded FROM retries_attempts"
        )
    )
    assert counted == {"rates": (3, 1), "inventory": (3, 0), "upload": (1, 0)}
    assert len(rows(broker_env, "SELECT * FROM retries_charges")) == 1


def test_a_reader_sees_one_line_per_failed_attempt_and_no_traceback(tmp_path):
    env = BrokerEnv("sqlite", tmp_path)
    done = subprocess.run([sys.executable, "-m", "recipes.retries"], cwd=ROOT,
                          env=env.process_env(**FAST), capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    printed = done.stdout + done.stderr
    assert "Traceback" not in printed
    failed = re.findall(r"(retries\.\w+): attempt (\d) failed .*; (next try in [\d.]+ s|no more)",
                        printed)  # fmt: skip
    assert sorted((task, attempt) for task, attempt, _ in failed) == [
        ("retries.call_slow_service", "1"), ("retries.fetch_rates", "1"),
        ("retries.fetch_rates", "2"), ("retries.parse_upload", "1"),
        ("retries.sync_inventory", "1"), ("retries.sync_inventory", "2"),
        ("retries.sync_inventory", "3"),
    ]  # fmt: skip
    assert len(printed.splitlines()) < 30


async def test_a_flaky_task_is_retried_until_it_succeeds(broker_env, start_worker):
    await prepare(broker_env)
    start_worker(broker_env, extra=[TASKS], **FAST)
    result = await run(
        broker_env, "retries.fetch_rates", dict(fetch_rates.labels), key="k", fail_times=3
    )
    assert not result.is_err, result.error
    assert result.return_value == {"key": "k", "attempts": 4}
    assert attempts(broker_env, "k") == (4, 1)


async def test_a_task_that_keeps_failing_gives_up_after_max_retries(broker_env, start_worker):
    await prepare(broker_env)
    start_worker(broker_env, extra=[TASKS], **FAST)
    result = await run(broker_env, "retries.sync_inventory", dict(sync_inventory.labels), key="i")
    # The result is stored only once no retry is scheduled: this is the last attempt.
    assert result.is_err and "attempt 3" in str(result.error)
    assert attempts(broker_env, "i") == (3, 0)


async def test_without_the_tasks_labels_a_failure_is_not_retried(broker_env, start_worker):
    await prepare(broker_env)
    start_worker(broker_env, extra=[TASKS], **FAST)
    # Kicked by name alone (no retry_on_error label), as a process that does not import the
    # task would: the worker does not add the decorator's labels.
    result = await run(broker_env, "retries.fetch_rates", None, key="nolabel", fail_times=1)
    assert result.is_err and "attempt 1" in str(result.error)
    assert attempts(broker_env, "nolabel") == (1, 0)


async def test_a_task_without_the_retry_label_fails_once(broker_env, start_worker):
    await prepare(broker_env)
    start_worker(broker_env, extra=[TASKS], **FAST)
    result = await run(broker_env, "retries.parse_upload", None, key="u")
    assert result.is_err and "not a number" in str(result.error)
    assert attempts(broker_env, "u") == (1, 0)


async def test_the_timeout_label_interrupts_a_stuck_task_and_the_worker_goes_on(
    broker_env, start_worker
):
    start_worker(broker_env, extra=[TASKS], **FAST)
    stuck = await run(broker_env, "retries.call_slow_service", {"timeout": 1}, seconds=60)
    quick = await run(broker_env, "retries.call_slow_service", {"timeout": 1}, seconds=0.01)
    assert stuck.is_err and type(stuck.error).__name__ == "TimeoutError"
    assert quick.return_value == "answered after 0.01 s"


async def test_a_duplicate_run_of_an_idempotent_task_charges_once(broker_env, start_worker):
    await prepare(broker_env)
    start_worker(broker_env, extra=[TASKS], TASKIQ_WORKER_CONCURRENCY=2, **FAST)
    labels = dict(charge_order.labels)
    async with producer(broker_env) as broker:
        twins = [await kick(broker, "retries.charge_order", labels=labels, order_id=9, amount=5)
                 for _ in range(2)]  # fmt: skip
        results = [await twin.wait_result(timeout=60) for twin in twins]
    assert sorted(r.return_value for r in results) == [
        "order 9 already charged",
        "order 9 charged 5",
    ]
    assert rows(broker_env, "SELECT order_id, amount FROM retries_charges") == [(9, 5)]


@pytest.mark.parametrize(("middlewares", "expected"), [(1, 3), (2, 4)])
async def test_a_second_retry_middleware_multiplies_the_attempts(middlewares, expected):
    broker = InMemoryBroker(await_inplace=True)
    broker.add_middlewares(*[SmartRetryMiddleware(default_delay=0) for _ in range(middlewares)])
    tries: list[int] = []

    @broker.task(task_name="retries_test.fails", retry_on_error=True, max_retries=3)
    async def fails() -> None:
        tries.append(1)
        raise ConnectionError("down")

    await broker.startup()
    await fails.kiq()
    await broker.wait_all()
    await broker.shutdown()
    # Each middleware schedules its own retry of a failure: more tries than max_retries=3.
    assert len(tries) == expected
