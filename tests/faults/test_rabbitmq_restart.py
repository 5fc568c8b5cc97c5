"""A RabbitMQ restart mid-run (a node this test starts itself, never the machine's shared one):
reports queued before it, during the work, and posted right after it all complete. Quorum
queues keep their messages on disk; the API and the workers reconnect by themselves."""

from __future__ import annotations

import time

import pytest

from tests.support.brokers import BrokerEnv
from tests.support.fault_records import record
from tests.support.servers import PrivateRabbitMQ
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_reports_around_a_rabbitmq_restart_all_complete(
    tmp_path, start_worker, start_api, record_property
):
    node = PrivateRabbitMQ(tmp_path / "rabbitmq").start()
    try:
        env = BrokerEnv("rabbitmq", tmp_path)
        settings = {"TASKIQ_RABBITMQ_PORT": node.port, "TASKIQ_RABBITMQ_HEARTBEAT": 2,
                    "TASKIQ_WORKER_CONCURRENCY": 2}  # fmt: skip
        start_worker(env, **settings)
        api = start_api(env, **settings)
        with api.client() as client:

            def post(delay_ms: int = 500) -> int | None:
                response = client.post("/reports", json={"title": "r", "values": [1, 2],
                                                         "delay_ms": delay_ms})  # fmt: skip
                return response.json()["id"] if response.status_code == 202 else None

            before = [post() for _ in range(8)]  # 2 at a time: most still queued at the stop
            assert None not in before
            node.stop()
            node.start()  # the same name and data directory: the queue and its messages
            restarted = time.monotonic()
            after = [wait_for(post, timeout=60, what="the API to enqueue again")]
            after += [i for i in (post() for _ in range(4)) if i is not None]
            assert len(after) == 5

            def statuses() -> list[str]:
                return [client.get(f"/reports/{i}").json()["status"] for i in before + after]

            wait_for(lambda: set(statuses()) == {"complete"}, timeout=120,
                     what="every report, before and after the restart, to complete")  # fmt: skip
            seconds = round(time.monotonic() - restarted, 1)
            record_property("seconds_after_restart", seconds)
        record("rabbitmq", "broker_restart", {"tasks": len(before + after), "lost": 0,
               "seconds_to_finish_backlog": seconds})  # fmt: skip
    finally:
        node.stop()
