"""Reports: one run wins when a report is delivered twice at once; the slow-work knob is off
unless a setting allows it; links never echo the client's Host header."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from tests.support.brokers import BrokerEnv
from tests.support.producer import kick, producer
from tests.support.waiting import wait_for

pytestmark = pytest.mark.broker


async def test_two_deliveries_of_one_report_at_once_run_it_once(tmp_path, start_worker, start_api):
    env = BrokerEnv("sqlite", tmp_path)
    start_worker(env, TASKIQ_WORKER_CONCURRENCY=4)
    api = start_api(env)
    with api.client() as client:
        queued = client.post("/reports", json={"title": "t", "values": [1], "delay_ms": 1500})
        assert queued.status_code == 202, queued.text
        report_id = queued.json()["id"]
    async with producer(env) as broker:  # two more deliveries, as a redelivery would make
        jobs = [await kick(broker, "process_report", report_id=report_id) for _ in range(2)]
        results = await asyncio.gather(*(job.wait_result(timeout=30) for job in jobs))
    with api.client() as client:
        done = wait_for(
            lambda: (r := client.get(f"/reports/{report_id}").json())["status"] == "complete" and r,
            timeout=30, what="the report to complete",
        )  # fmt: skip
    assert done["runs"] == 1  # the API's own delivery and the two extra ones: one run
    assert [r.return_value.get("duplicate") for r in results] == [True, True]


def test_delay_ms_is_refused_unless_a_setting_allows_it(tmp_path, start_api):
    env = BrokerEnv("sqlite", tmp_path)
    api = start_api(env, TASKIQ_ENABLED="false", REPORTS_MAX_DELAY_MS=0)
    with api.client() as client:
        held = client.post("/reports", json={"title": "t", "values": [1], "delay_ms": 60_000})
        plain = client.post("/reports", json={"title": "t", "values": [1]})
    assert held.status_code == 422 and "REPORTS_MAX_DELAY_MS" in held.text
    assert plain.status_code == 202
    with sqlite3.connect(env.database_path) as db:
        assert db.execute("SELECT count(*) FROM reports").fetchone() == (1,)  # nothing queued


def test_the_status_link_does_not_echo_the_host_header(tmp_path, start_api):
    api = start_api(BrokerEnv("sqlite", tmp_path), TASKIQ_ENABLED="false")
    with api.client() as client:
        queued = client.post("/reports", json={"title": "t", "values": [1]},
                             headers={"Host": "evil.example"})  # fmt: skip
    assert queued.status_code == 202
    assert queued.json()["status_url"] == f"/reports/{queued.json()['id']}"
