"""The heartbeat setting is what the RabbitMQ connection negotiates (a real server)."""

from __future__ import annotations

import pytest

from tests.support.producer import producer

pytestmark = pytest.mark.broker


@pytest.mark.parametrize("broker_env", ["rabbitmq"], indirect=True)
async def test_the_broker_connection_uses_the_heartbeat_setting(broker_env):
    async with producer(broker_env, TASKIQ_RABBITMQ_HEARTBEAT=4) as broker:
        connection = broker.write_conn
        assert connection.transport.connection.connection_tune.heartbeat == 4
