"""Security: JSON only on the wire (no pickle is ever loaded), secrets never shown, and
credentials other than the defaults (a Redis password, a RabbitMQ user and vhost) work."""

from __future__ import annotations

import pickle
import subprocess
import sys
import uuid

import pytest
from redis.asyncio import Redis
from taskiq import BrokerMessage

from tests.support.brokers import TEST_REDIS_DB, BrokerEnv, require_server
from tests.support.dead_letters import read_dead_letters
from tests.support.producer import producer
from tests.support.servers import PrivateRedis
from tests.support.waiting import async_wait_for, wait_for

pytestmark = pytest.mark.broker


class Trap:
    """Unpickling this creates a file: if the file appears, something loaded a pickle."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


async def test_a_pickle_on_the_queue_is_refused_and_never_loaded(
    broker_env, start_worker, tmp_path
):
    marker = tmp_path / "unpickled"
    start_worker(broker_env)
    async with producer(broker_env) as broker:
        payload = pickle.dumps(Trap(str(marker)))
        await broker.kick(BrokerMessage(task_id="evil", task_name="x", message=payload, labels={}))
        letters = await async_wait_for(
            lambda: read_dead_letters(broker_env, broker), timeout=20, what="the dead letter"
        )
    assert letters[0][0] == payload
    assert letters[0][1].startswith("malformed message")
    assert not marker.exists()


async def test_the_redis_result_backend_reads_json_only(tmp_path):
    require_server("redis")
    env = BrokerEnv("redis", tmp_path)
    marker = tmp_path / "unpickled"
    try:
        async with producer(env) as broker:
            async with Redis(host="127.0.0.1", port=6379, db=TEST_REDIS_DB) as redis:
                await redis.set(f"{env.queue}:result:evil", pickle.dumps(Trap(str(marker))))
            with pytest.raises(UnicodeDecodeError):
                await broker.result_backend.get_result("evil")
    finally:
        await env.cleanup()
    assert not marker.exists()


SECRETS = {
    "TASKIQ_REDIS_PASSWORD": "redis-Secret-4711",
    "SMTP_PASSWORD": "smtp-Secret-4712",
    "SECRET_KEY": "signing-Secret-4713",
    "ADMIN_TOKEN": "admin-Secret-4714",
}


def test_secrets_never_reach_logs_pages_or_errors(tmp_path, start_worker, start_api):
    redis = PrivateRedis(tmp_path, password=SECRETS["TASKIQ_REDIS_PASSWORD"]).start()
    try:
        env = BrokerEnv("redis", tmp_path)
        settings = {**SECRETS, "TASKIQ_REDIS_PORT": redis.port, "TASKIQ_REDIS_DB": 0}
        worker = start_worker(env, **settings)
        api = start_api(env, **settings)
        shown = []
        with api.client() as client:
            admin = {"X-Admin-Token": SECRETS["ADMIN_TOKEN"]}
            queued = client.post("/reports", json={"title": "s", "values": [1]}).json()
            wait_for(
                lambda: client.get(f"/reports/{queued['id']}").json()["status"] == "complete",
                timeout=20,
                what="the report",
            )
            for path in (
                "/",
                "/tasks",
                "/tasks/registry",
                "/tasks/runs",
                "/tasks/stats",
                "/health/ready",
                "/openapi.json",
                f"/reports/{queued['id']}",
            ):
                shown.append(client.get(path, headers=admin).text)  # fmt: skip
        # A wrong password: the error names the setting, not the password.
        refused = subprocess.run(
            [sys.executable, "-m", "reference_app.infrastructure.taskiq.run_worker"],
            env=env.process_env(**{**settings, "TASKIQ_REDIS_PASSWORD": "wrong-Secret-4715"}),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert refused.returncode == 2
        shown.append(refused.stdout + refused.stderr)
        shown += [worker.log(), api.log()]
    finally:
        redis.stop()
    everything = "\n".join(shown)
    assert "TASKIQ_REDIS_PASSWORD" in everything  # the error names the setting...
    for name, secret in {**SECRETS, "wrong": "wrong-Secret-4715"}.items():
        assert secret not in everything, f"{name} leaked"


@pytest.fixture
def rabbitmq_vhost_and_user():
    require_server("rabbitmq")
    name = f"t{uuid.uuid4().hex[:8]}"
    password = f"pw-{uuid.uuid4().hex}"

    def ctl(*args: str) -> None:
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)

    ctl("add_vhost", name)
    ctl("add_user", name, password)
    ctl("set_permissions", "-p", name, name, ".*", ".*", ".*")
    yield name, password
    ctl("delete_user", name)
    ctl("delete_vhost", name)


def test_rabbitmq_with_its_own_user_and_vhost(
    rabbitmq_vhost_and_user, tmp_path, start_worker, start_api
):
    user, password = rabbitmq_vhost_and_user
    env = BrokerEnv("rabbitmq", tmp_path)
    settings = {"TASKIQ_RABBITMQ_USER": user, "TASKIQ_RABBITMQ_PASSWORD": password,
                "TASKIQ_RABBITMQ_VHOST": user}  # fmt: skip
    worker = start_worker(env, **settings)
    api = start_api(env, **settings)
    with api.client() as client:
        queued = client.post("/reports", json={"title": "vhost", "values": [4]}).json()
        wait_for(
            lambda: client.get(f"/reports/{queued['id']}").json()["status"] == "complete",
            timeout=20,
            what="the report through the vhost",
        )
    queues = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", user, "name"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert env.queue in queues  # it really went through the vhost
    assert password not in worker.log() + api.log()
