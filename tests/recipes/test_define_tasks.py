"""recipes/define_tasks on every broker, and the mistakes readers make with task definitions."""

from __future__ import annotations

import pytest
from taskiq import InMemoryBroker

from reference_app.infrastructure.taskiq.registry import DuplicateTaskError, register_task
from tests.support.dead_letters import read_dead_letters
from tests.support.producer import kick, producer
from tests.support.recipes import run_recipe

pytestmark = pytest.mark.broker
TASKS = "recipes.define_tasks.tasks"


async def test_each_kind_of_task_runs_on_a_worker(broker_env, start_worker):
    start_worker(broker_env, extra=[TASKS])
    async with producer(broker_env) as broker:
        plain = await kick(broker, "define_tasks.summarise", numbers=[3, 4, 8])
        model = await kick(
            broker, "define_tasks.total_invoice", invoice={"number": "A1", "lines": [10, 20]}
        )
        labelled = await kick(broker, "define_tasks.rebuild_index", documents=3)
        results = [(await job.wait_result(timeout=20)) for job in (plain, model, labelled)]
    assert [r.is_err for r in results] == [False, False, False], [r.error for r in results]
    assert results[0].return_value == {"count": 3, "mean": 5.0, "max": 8}
    assert results[1].return_value == {"number": "A1", "net": 30.0, "gross": 36.0}
    assert results[2].return_value == "indexed 3 documents"


async def test_arguments_that_do_not_fit_are_refused_before_the_task_runs(broker_env, start_worker):
    start_worker(broker_env, extra=[TASKS])
    async with producer(broker_env) as broker:
        invoice = {"number": "A2", "lines": []}
        job = await kick(broker, "define_tasks.total_invoice", invoice=invoice)
        result = await job.wait_result(timeout=20)
        letters = await read_dead_letters(broker_env, broker)
    assert result.is_err  # the caller learns why at once...
    assert "argument 'invoice' of task 'define_tasks.total_invoice' is invalid" in str(result.error)
    assert "lines: List should have at least 1 item" in str(result.error)
    (letter,) = letters  # ...and the message is kept aside, not lost
    assert b'"number":"A2"' in letter[0].replace(b" ", b"")
    assert "lines" in letter[1]


def test_the_recipe_runs_as_a_reader_runs_it(broker_env):
    output = run_recipe("define_tasks", broker_env)
    assert output.count("->") == 3
    assert "registered: define_tasks.rebuild_index" in output


def test_a_second_task_with_a_taken_name_fails_at_import():
    other_broker = InMemoryBroker()

    @other_broker.task(task_name="define_tasks.summarise")
    async def summarise_again(numbers: list[float]) -> float:
        return sum(numbers)

    import recipes.define_tasks.tasks  # noqa: F401 - registers the original

    with pytest.raises(DuplicateTaskError, match="already registered on broker 'email_broker'"):
        register_task("define_tasks.summarise", "email_broker", summarise_again)
