"""recipes/queues on every broker: a receipt is not held up by slow exports on their own queue,
and is, on one queue, when every worker slot is busy with them."""

from __future__ import annotations

import pytest

from tests.support.recipes import run_recipe

pytestmark = pytest.mark.broker


def test_the_recipe_runs_as_a_reader_runs_it(broker_env):
    output = run_recipe("queues", broker_env, TASKIQ_SLOW_QUEUE="true")
    assert f"exports queued on {broker_env.queue}.slow, receipt on {broker_env.queue}" in output
    assert "receipt sent within a second: True" in output
    assert "receipt sent while both exports still ran: True" in output


@pytest.mark.parametrize("broker_env", ["sqlite"], indirect=True)
def test_on_one_queue_the_receipt_waits_behind_the_exports(broker_env):
    output = run_recipe("queues", broker_env, TASKIQ_SLOW_QUEUE="false")
    assert f"exports queued on {broker_env.queue}, receipt on {broker_env.queue}" in output
    assert "receipt sent while both exports still ran: False" in output
