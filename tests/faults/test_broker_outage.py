"""The broker goes away while the app serves and workers run, then comes back.

Only a Redis server this test starts itself (own port, own directory) is stopped, never the
machine's shared one. While it is down, enqueueing answers 503 within 2 s; the workers
reconnect by themselves and finish the backlog; nothing acknowledged to a client is lost.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.brokers import BrokerEnv
from tests.support.fault_records import record
from tests.support.servers import PrivateRedis
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_redis_outage_fast_503_then_recovery_and_nothing_lost(tmp_path, start_worker, start_api):
    redis = PrivateRedis(tmp_path, persistent=True).start()
    try:
        env = BrokerEnv("redis", tmp_path)
        settings = {"TASKIQ_REDIS_PORT": redis.port, "TASKIQ_REDIS_DB": 0}
        start_worker(env, TASKIQ_WORKER_CONCURRENCY=2, **settings)
        api = start_api(env, **settings)
        with api.client() as client:
            accepted = []
            for n in range(20):
                response = client.post("/reports", json={"title": f"before {n}", "values": [n],
                                                         "delay_ms": 100})  # fmt: skip
                assert response.status_code == 202
                accepted.append(response.json()["id"])

            redis.stop()
            started = time.monotonic()
            down = client.post("/reports", json={"title": "during", "values": [1]})
            answered_503_in = time.monotonic() - started
            assert down.status_code == 503
            assert answered_503_in < 2.5  # fast, not a hang
            assert down.json()["detail"] == "the task broker is unavailable, try again"
            ready = client.get("/health/ready")
            assert ready.status_code == 503 and ready.json()["broker"]["ok"] is False
            assert ready.json()["database"]["ok"] is True

            redis.start()  # same port, same append-only file
            back = time.monotonic()
            wait_for(lambda: client.get("/health/ready").status_code == 200, timeout=30,
                     what="readiness after the restart")  # fmt: skip
            ready_after = time.monotonic() - back
            after = client.post("/reports", json={"title": "after", "values": [2]})
            assert after.status_code == 202
            accepted.append(after.json()["id"])

            def all_complete() -> bool:
                statuses = [client.get(f"/reports/{i}").json()["status"] for i in accepted]
                return all(s == "complete" for s in statuses)

            wait_for(all_complete, timeout=90, interval=0.5, what="every accepted report")
            record("redis", "broker_outage", {
                "tasks": len(accepted), "lost": 0,
                "seconds_to_503": round(answered_503_in, 2),
                "seconds_to_ready_after_restart": round(ready_after, 2),
                "seconds_to_finish_backlog": round(time.monotonic() - back, 2),
            })  # fmt: skip
    finally:
        redis.stop()


def test_the_api_starts_while_its_broker_is_down_and_says_so(tmp_path, start_api):
    env = BrokerEnv("redis", tmp_path)
    api = start_api(env, TASKIQ_REDIS_PORT=1, TASKIQ_REDIS_PASSWORD="s3cret-Pa55word")
    with api.client() as client:
        assert client.get("/health/live").status_code == 200
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["broker"]["type"] == "redis"
        started = time.monotonic()
        response = client.post("/reports", json={"title": "x", "values": [1]})
        assert response.status_code == 503 and time.monotonic() - started < 2.5
    warnings = [line for line in api.log().splitlines() if "The API starts anyway" in line]
    assert len(warnings) == 1  # one line at startup, not one per reconnect attempt
    assert "cannot use the redis broker (redis at redis://127.0.0.1:1/13)" in warnings[0]
    assert "TASKIQ_REDIS_HOST" in warnings[0]
    assert "s3cret-Pa55word" not in api.log()
    with pytest.raises(httpx.HTTPError):  # nothing else listens there: the port really is dead
        httpx.get("http://127.0.0.1:1", timeout=1)
