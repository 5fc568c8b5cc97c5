"""recipes/scheduling on every broker, and how to test a scheduled task without the clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from taskiq.cli.scheduler.run import is_cron_task_now
from taskiq.schedule_sources import LabelScheduleSource

from recipes.scheduling.tasks import morning_digest
from reference_app.infrastructure.taskiq import email_broker
from tests.support.recipes import run_recipe

pytestmark = pytest.mark.broker


def test_the_recipe_runs_as_a_reader_runs_it(broker_env):
    output = run_recipe("scheduling", broker_env)
    assert "label: scheduling.morning_digest on '0 7 * * mon-fri' (Europe/Paris)" in output
    assert "ran: 'the scheduler is up'" in output  # a one-off already due is sent at once
    late = float(re.search(r"ran: 'stand-up in 5 minutes', ([\d.]+) s after", output).group(1))
    assert 0 <= late < 4  # sent when due (the scheduler looks once a second), not before
    assert "still scheduled: False" in output


# --8<-- [start:no_clock]
async def test_the_morning_digest_without_waiting_for_seven_o_clock():
    # 1. The task is a function: call it, no broker, no worker, no clock.
    assert (await morning_digest()).startswith("digest built at")

    # 2. Its label is what the scheduler reads: read it the same way.
    labels = LabelScheduleSource(email_broker)
    await labels.startup()
    [digest] = [s for s in await labels.get_schedules() if s.task_name == morning_digest.task_name]

    # 3. Is it due at a given instant? taskiq's scheduler asks is_cron_task_now; so can we.
    def due(utc: str) -> bool:
        instant = datetime.fromisoformat(utc).replace(tzinfo=UTC)
        return is_cron_task_now(digest.cron, instant, offset=digest.cron_offset)

    assert due("2026-12-07T06:00")  # Monday 07:00 in Paris, winter (UTC+1)
    assert due("2026-06-08T05:00")  # Monday 07:00 in Paris, summer (UTC+2)
    assert not due("2026-12-07T07:00")  # 07:00 UTC is 08:00 in Paris
    assert not due("2026-12-06T06:00")  # a Sunday


# --8<-- [end:no_clock]
