"""Arguments must travel as JSON: a clear error at `.kiq()`, and nothing enqueued."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from taskiq_extras.middlewares import TaskArgumentError
from tests.support.brokers import BrokerEnv
from tests.support.producer import kick, producer


async def test_a_non_json_argument_is_refused_with_a_clear_error(tmp_path):
    async with producer(BrokerEnv("sqlite", tmp_path)) as broker:
        with pytest.raises(TaskArgumentError) as caught:
            await kick(broker, "process_report", report_id=object())
        assert str(caught.value) == (
            "task 'process_report': argument 'report_id': object is not JSON-serializable: "
            "pass plain data (str, int, float, bool, list, dict)"
        )
        assert await broker.pending() == 0


async def test_passing_a_session_says_to_pass_an_id_instead(tmp_path):
    engine = create_async_engine("sqlite+aiosqlite://")
    async with producer(BrokerEnv("sqlite", tmp_path)) as broker, AsyncSession(engine) as db:
        with pytest.raises(TaskArgumentError, match=r"pass the row's id .*get_db_session"):
            await kick(broker, "process_report", report_id=1, db=db)
        assert await broker.pending() == 0
    await engine.dispose()


async def test_plain_data_goes_through(tmp_path):
    async with producer(BrokerEnv("sqlite", tmp_path)) as broker:
        await kick(broker, "process_report", report_id=1, user_id=None)
        assert await broker.pending() == 1


@pytest.mark.parametrize(
    ("value", "says"),
    [(datetime(2026, 12, 6, tzinfo=UTC), "isoformat"), (float("nan"), "NaN"),
     ({1: "a non-string key"}, "not JSON-serializable"), ("file", "TextIOWrapper")],
    ids=["datetime", "nan", "int-key", "open-file"],
)  # fmt: skip
async def test_values_json_would_change_or_refuse_are_refused_at_kiq(tmp_path, value, says):
    """A datetime would arrive as a string, a NaN is not JSON, an open file is not data."""
    async with producer(BrokerEnv("sqlite", tmp_path)) as broker:
        with open(__file__) as handle:  # noqa: ASYNC230 - the open file is the argument
            argument = handle if value == "file" else value
            with pytest.raises(TaskArgumentError, match="argument 'when'") as caught:
                await kick(broker, "process_report", report_id=1, when=argument)
        assert says in str(caught.value)
        assert await broker.pending() == 0
