"""recipes/define_tasks: one file, in process; and how arguments that do not fit are refused."""

from __future__ import annotations

import pytest

from tests.support.dead_letters import read_dead_letters
from tests.support.producer import kick, producer
from tests.support.recipes import run_recipe

PROBES = "tests.support.probe_tasks"


def test_the_recipe_runs_as_a_reader_runs_it(tmp_path):
    from tests.support.brokers import BrokerEnv

    output = run_recipe("define_tasks", BrokerEnv("sqlite", tmp_path))  # it touches no broker
    assert "define_tasks.summarise  ->  {'count': 3, 'mean': 5.0, 'max': 8.0}" in output
    assert (
        "define_tasks.total_invoice  ->  {'number': 'INV-7', 'net': 150.0, 'gross': 180.0}"
        in output
    )
    assert "define_tasks.rebuild_index  ->  indexed 1200 documents" in output
    assert "labels of rebuild_index: {'timeout': 5, 'team': 'search'}" in output


def test_the_recipe_needs_nothing_but_taskiq():
    from pathlib import Path

    source = (Path(__file__).parents[2] / "recipes" / "define_tasks" / "tasks.py").read_text()
    imported = {line.split()[1].split(".")[0] for line in source.splitlines()
                if line.startswith(("import ", "from "))}  # fmt: skip
    assert imported <= {"__future__", "asyncio", "statistics", "typing", "pydantic", "taskiq"}


@pytest.mark.broker
async def test_arguments_that_do_not_fit_are_refused_before_the_task_runs(broker_env, start_worker):
    start_worker(broker_env, extra=[PROBES])
    async with producer(broker_env) as broker:
        good = await kick(broker, "probe.total_invoice", invoice={"number": "A1", "lines": [1, 2]})
        bad = await kick(broker, "probe.total_invoice", invoice={"number": "A2", "lines": []})
        fine, refused = [await job.wait_result(timeout=20) for job in (good, bad)]
        letters = await read_dead_letters(broker_env, broker)
    assert fine.return_value == 3.0
    assert refused.is_err  # the caller learns why at once...
    assert "argument 'invoice' of task 'probe.total_invoice' is invalid" in str(refused.error)
    assert "lines: List should have at least 1 item" in str(refused.error)
    (letter,) = letters  # ...and the message is kept aside, not lost
    assert b'"number":"A2"' in letter[0].replace(b" ", b"")
    assert "lines" in letter[1]
