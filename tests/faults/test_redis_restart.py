"""A Redis restart without persistence: what is posted after it must still run.

The restarted server is empty. The API's next XADD creates the stream again, with no consumer
group; the worker finds its group gone and creates it again. Created at ``$`` (taskiq-redis's
default), the group would skip every entry added before it existed: those reports stayed
queued forever. Created at ``0``, it reads them. Only a Redis server this test starts itself
is restarted, never the machine's shared one.
"""

from __future__ import annotations

import pytest

from tests.support.brokers import BrokerEnv
from tests.support.servers import PrivateRedis
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.mark.parametrize("extras", ["true", "false"])
def test_reports_posted_right_after_a_redis_restart_all_complete(
    tmp_path, start_worker, start_api, extras
):
    redis = PrivateRedis(tmp_path, persistent=False).start()
    try:
        env = BrokerEnv("redis", tmp_path)
        settings = {"TASKIQ_REDIS_PORT": redis.port, "TASKIQ_REDIS_DB": 0, "TASKIQ_EXTRAS": extras}
        worker = start_worker(env, **settings)
        api = start_api(env, **settings)
        with api.client() as client:
            first = client.post("/reports", json={"title": "before", "values": [1]})
            assert first.status_code == 202
            wait_for(lambda: client.get(f"/reports/{first.json()['id']}").json()["status"]
                     == "complete", timeout=30, what="the first report")  # fmt: skip

            redis.stop()
            redis.start()  # same port, empty: no stream, no consumer group

            def post() -> int | None:
                response = client.post("/reports", json={"title": "after", "values": [2]})
                return response.json()["id"] if response.status_code == 202 else None

            accepted = [wait_for(post, timeout=30, what="the API to enqueue again")]
            accepted += [i for i in (post() for _ in range(4)) if i is not None]
            assert len(accepted) == 5

            def statuses() -> list[str]:
                return [client.get(f"/reports/{i}").json()["status"] for i in accepted]

            wait_for(lambda: set(statuses()) == {"complete"}, timeout=60,
                     what="every report posted after the restart to complete")  # fmt: skip
        # Ours says so once per worker process, at start: this Redis keeps nothing on disk.
        warned = worker.log().count("a restart of Redis loses every queued task")
        assert warned == (1 if extras == "true" else 0)
    finally:
        redis.stop()
