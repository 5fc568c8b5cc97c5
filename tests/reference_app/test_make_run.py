"""`make run` on a fresh directory: API + worker on the embedded default, Ctrl-C stops all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.blocked_imports import blocker_dir
from tests.support.processes import ROOT, ManagedProcess, free_port
from tests.support.waiting import wait_for


def descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:
            continue
        for child in map(int, children):
            found.add(child)
            todo.append(child)
    return found


@pytest.mark.parametrize("broker_clients", ["installed", "unimportable"])
def test_make_run_serves_reports_and_ctrl_c_leaves_nothing_behind(tmp_path, broker_clients):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKIQ_", "DATABASE_"))}
    env["PYTHONPATH"] = str(ROOT)
    if broker_clients == "unimportable":  # a project on SQLite installs no Redis/RabbitMQ client
        env["PYTHONPATH"] = f"{blocker_dir(tmp_path)}{os.pathsep}{ROOT}"
        probe = subprocess.run([sys.executable, "-c", "import redis"], env=env,
                               capture_output=True, text=True)  # fmt: skip
        assert "blocked by the test" in probe.stderr  # the blocker works in child processes
    # What `make run` runs, in an empty directory: the defaults (./var/...) land there.
    run = ManagedProcess(
        [sys.executable, "-m", "reference_app.dev", "--port", str(port)], env, tmp_path / "run.log"
    )
    run.start(cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: "Ctrl-C" in run.log() or not run.alive(), timeout=60,
                 what="make run to print its URLs")  # fmt: skip
        assert run.alive(), run.log()[-3000:]
        assert f"API        {base}/" in run.log()
        wait_for(lambda: run.log().count("Listening started.") >= 2, timeout=60,
                 what="the worker processes")  # fmt: skip
        children = descendants(run.pid)
        assert len(children) >= 4  # uvicorn, the worker main process and its 2 processes

        with httpx.Client(base_url=base, timeout=10) as client:
            queued = client.post("/reports", json={"title": "curl", "values": [1, 2, 3]})
            assert queued.status_code == 202
            report_id = queued.json()["id"]
            done = wait_for(
                lambda: (
                    (r := client.get(f"/reports/{report_id}").json())["status"] == "complete" and r
                ),
                timeout=15,
                what="the report to complete",
            )
        assert done["result"]["sum"] == 6.0
        assert (tmp_path / "var" / "taskiq-broker.db").exists()

        run.signal_main(signal.SIGINT)  # Ctrl-C
        assert run.wait_exit(timeout=30) == 0
        assert "make run: stopping" in run.log()
        wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in children),
                 timeout=10, what="every child process to exit")  # fmt: skip
    finally:
        run.stop()
