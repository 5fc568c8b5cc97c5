"""A misconfigured broker: one clear line, within seconds, naming the setting, never a password."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.support.brokers import BrokerEnv, require_server
from tests.support.processes import ROOT
from tests.support.servers import private_redis

SECRET = "s3cret-Pa55word"


def run_worker(env: dict[str, str]) -> tuple[int, str, float]:
    """Run the launcher to its end (or kill its whole group after 30 s)."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reference_app.infrastructure.taskiq.run_worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail(f"the worker did not refuse to start within 30 s:\n{output[-2000:]}")
    return proc.returncode, output, time.monotonic() - started


CASES = {
    "unknown broker type": ("sqlite", {"TASKIQ_BROKER_TYPE": "kafka"}, "TASKIQ_BROKER_TYPE"),
    "malformed port": ("sqlite", {"TASKIQ_REDIS_PORT": "sixty"}, "TASKIQ_REDIS_PORT"),
    "redis unreachable": (
        "redis",
        {"TASKIQ_REDIS_PORT": "1", "TASKIQ_REDIS_PASSWORD": SECRET},
        "TASKIQ_REDIS_HOST",
    ),
    "rabbitmq unreachable": ("rabbitmq", {"TASKIQ_RABBITMQ_PORT": "1"}, "TASKIQ_RABBITMQ_HOST"),
    "rabbitmq wrong password": (
        "rabbitmq",
        {"TASKIQ_RABBITMQ_PASSWORD": SECRET},
        "TASKIQ_RABBITMQ_PASSWORD",
    ),
    "sqlite path unusable": (
        "sqlite",
        {"TASKIQ_SQLITE_PATH": "/proc/no-such-dir/broker.db"},
        "TASKIQ_SQLITE_PATH",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_worker_refuses_to_start_with_one_clear_line(case, tmp_path):
    broker_type, overrides, setting = CASES[case]
    if case.endswith("wrong password"):
        require_server(broker_type)  # the server must answer, to refuse the password
    env = BrokerEnv(broker_type, tmp_path).process_env(**overrides)

    code, output, seconds = run_worker(env)

    assert code == 2, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("worker: ")
    assert setting in lines[0]
    assert SECRET not in output
    assert "Traceback" not in output
    assert seconds < 15, f"took {seconds:.1f} s"


def test_the_worker_refuses_a_wrong_redis_password(tmp_path):
    # Our own password-protected Redis: the machine's Redis has no password, and redis-py
    # ignores a password sent to a server that asks for none.
    with private_redis(tmp_path, password="the-right-one") as port:
        env = BrokerEnv("redis", tmp_path).process_env(
            TASKIQ_REDIS_PORT=port, TASKIQ_REDIS_PASSWORD=SECRET
        )
        code, output, seconds = run_worker(env)
    assert code == 2, output
    assert len(output.strip().splitlines()) == 1, output
    assert "TASKIQ_REDIS_PASSWORD" in output
    assert "AuthenticationError" in output
    assert SECRET not in output and "the-right-one" not in output
    assert seconds < 15


def test_a_worker_with_tasks_disabled_explains_why_it_has_nothing_to_do(tmp_path):
    env = BrokerEnv("sqlite", tmp_path).process_env(TASKIQ_ENABLED="false")
    code, output, _ = run_worker(env)
    assert code == 2
    assert "TASKIQ_ENABLED=false" in output


def test_a_task_module_the_worker_cannot_import_is_one_line_not_a_restart_loop(tmp_path):
    env = BrokerEnv("sqlite", tmp_path).process_env()
    proc = subprocess.run(
        [sys.executable, "-m", "reference_app.infrastructure.taskiq.run_worker",
         "my_project.no_such_tasks", "--log-level", "DEBUG"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert lines == [
        "worker: the worker cannot import 'my_project.no_such_tasks': "
        "ModuleNotFoundError: No module named 'my_project'"
    ]
