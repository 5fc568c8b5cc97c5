"""A worker host that goes silent without closing its sockets (SIGSTOP: a frozen VM, a cable
pulled): its report is given to another worker after the lease (SQLite, Redis) or after
missed AMQP heartbeats (RabbitMQ), and completes. Every broker, its own time."""

from __future__ import annotations

import signal
import time

import pytest

from tests.support.fault_records import record
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_a_frozen_worker_s_report_is_finished_by_another(
    broker_env, start_api, start_worker, record_property
):
    fast = {"TASKIQ_LEASE_SECONDS": 3, "TASKIQ_RABBITMQ_HEARTBEAT": 2}
    api = start_api(broker_env, **fast)
    frozen = start_worker(broker_env, **fast)
    with api.client() as client:
        report = client.post("/reports", json={"title": "t", "values": [1, 2],
                                               "delay_ms": 4000}).json()  # fmt: skip
        url = f"/reports/{report['id']}"
        wait_for(lambda: client.get(url).json()["status"] == "processing", timeout=30,
                 what="the first worker to start it")  # fmt: skip
        frozen.signal_group(signal.SIGSTOP)  # alive, silent, its connections open
        silenced = time.monotonic()
        try:
            start_worker(broker_env, **fast)
            done = wait_for(lambda: (r := client.get(url).json())["status"] == "complete" and r,
                            timeout=90, what="another worker to finish it")  # fmt: skip
            seconds = round(time.monotonic() - silenced, 1)
            record_property("seconds_to_complete", seconds)
        finally:
            frozen.signal_group(signal.SIGCONT)
    assert done["runs"] >= 2  # started again by the second worker
    record(broker_env.broker_type, "sigstop_worker", {"tasks": 1, "lost": 0,
           "rerun_after_redelivery": 1, "seconds_to_complete": seconds})  # fmt: skip
