"""`make notebooks` opens JupyterLab on notebooks/: here its server runs one notebook.

The server starts headless, as `make notebooks` starts it (`jupyter lab notebooks/`, on
127.0.0.1) but with a token, a free port and Jupyter's folders in a temporary directory.
The test then does what JupyterLab's page does when a reader opens a notebook and runs all
its cells: it reads the notebook through the contents API, opens a session (which starts a
kernel in the notebook's folder), and sends each code cell over the kernel's websocket. The
outputs that come back must be the ones stored in the .ipynb, compared as
tests/test_notebooks.py compares a fresh run's.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nbformat
import pytest
import websocket
from nbformat.v4 import output_from_msg

from tests.support.processes import ManagedProcess, free_port
from tests.support.waiting import wait_for
from tests.test_notebooks import NOTEBOOKS, PER_NOTEBOOK_TIMEOUT, comparable

# The quickest notebook that still imports nbsetup (so it needs the notebooks' folder as its
# working directory) and starts a worker process (so it needs the test's environment).
NOTEBOOK = NOTEBOOKS / "configuration.ipynb"
STARTUP_TIMEOUT = 60  # s; JupyterLab answers within a few seconds on a quiet machine


class JupyterLab(ManagedProcess):
    """`jupyter lab notebooks/` without a browser, on a free port of 127.0.0.1."""

    def __init__(self, home: Path) -> None:
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.runtime_dir = home / "runtime"
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",  # the port we chose, or fail
            f"--IdentityProvider.token={self.token}",
            str(NOTEBOOKS),
        ]
        if os.geteuid() == 0:  # as in containers and CI; `make notebooks` does the same
            command.append("--allow-root")
        # The kernel inherits this environment, and the notebook's worker the kernel's: the
        # same one tests/test_notebooks.py gives its kernels (without PYTEST_CURRENT_TEST,
        # which would make ipykernel drop the worker's stderr), plus Jupyter's folders in tmp
        # so nothing is written under ~. The runtime folder's name also marks every process
        # started for this server (see leftovers()).
        env = {key: value for key, value in os.environ.items() if key != "PYTEST_CURRENT_TEST"}
        env |= {
            "JUPYTER_RUNTIME_DIR": str(self.runtime_dir),
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "IPYTHONDIR": str(home / "ipython"),
            "JUPYTER_PLATFORM_DIRS": "0",
        }
        super().__init__(command, env, home / "jupyter.log")
        self.api = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}",
            headers={"Authorization": f"token {self.token}"},
            timeout=10,
        )

    def answers(self) -> bool:
        assert self.alive(), f"JupyterLab exited:\n{self.log()[-3000:]}"
        try:
            return self.api.get("/api/status").status_code == 200
        except httpx.TransportError:
            return False

    def leftovers(self) -> list[int]:
        """Live processes started for this server: the server, its kernels and whatever
        they started, found by the runtime folder in their environment."""
        marker = f"JUPYTER_RUNTIME_DIR={self.runtime_dir}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            try:
                environ = (entry / "environ").read_bytes()  # empty for a zombie
            except OSError:  # not a process, gone, or not ours
                continue
            if marker in environ.split(b"\0"):
                found.append(int(entry.name))
        return found


def run_cell(ws: websocket.WebSocket, session: str, code: str) -> list[nbformat.NotebookNode]:
    """Execute one cell over the kernel's websocket (Jupyter's JSON protocol, as JupyterLab
    speaks it) and return its outputs once the kernel is idle again."""
    msg_id = uuid.uuid4().hex
    header = {
        "msg_id": msg_id,
        "msg_type": "execute_request",
        "session": session,
        "username": "test",
        "date": datetime.now(UTC).isoformat(),
        "version": "5.3",
    }
    content = {"code": code, "silent": False, "store_history": True, "allow_stdin": False}
    request = {"header": header, "parent_header": {}, "metadata": {}, "content": content}
    ws.send(json.dumps(request | {"channel": "shell", "buffers": []}))

    outputs: list[nbformat.NotebookNode] = []
    reply: dict | None = None
    idle = False
    deadline = time.monotonic() + PER_NOTEBOOK_TIMEOUT  # per cell, as in test_notebooks
    while not (idle and reply):
        ws.settimeout(max(deadline - time.monotonic(), 0.1))
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue  # the server's own kernel_info requests, or an earlier cell's
        kind = msg["header"]["msg_type"]
        if msg["channel"] == "shell" and kind == "execute_reply":
            reply = msg["content"]
        elif kind == "status":
            idle = msg["content"]["execution_state"] == "idle"
        elif kind == "clear_output":
            outputs.clear()
        elif kind in {"stream", "display_data", "execute_result", "error"}:
            outputs.append(output_from_msg(msg))
    if reply["status"] != "ok":
        traceback = "\n".join(reply.get("traceback", []))
        pytest.fail(f"cell failed: {reply.get('ename')}: {reply.get('evalue')}\n{traceback}")
    return outputs


@pytest.mark.slow
@pytest.mark.timeout(STARTUP_TIMEOUT + 2 * PER_NOTEBOOK_TIMEOUT)
def test_jupyterlab_runs_a_notebook_and_gives_its_stored_outputs(tmp_path: Path):
    stored = nbformat.read(NOTEBOOK, as_version=4)
    lab = JupyterLab(tmp_path)
    started = time.monotonic()
    lab.start(cwd=tmp_path)
    try:
        wait_for(lab.answers, timeout=STARTUP_TIMEOUT, what="JupyterLab to answer")
        assert lab.api.get("/lab").status_code == 200, "JupyterLab's page is not served"
        ready = time.monotonic()

        # Open the notebook as JupyterLab does: its content, then a session for its kernel.
        opened = lab.api.get(f"/api/contents/{NOTEBOOK.name}", params={"content": 1}).json()
        notebook = nbformat.from_dict(opened["content"])
        # (The server marks each cell's metadata with whether it trusts its outputs.)
        assert [(cell.cell_type, cell.source) for cell in notebook.cells] == [
            (cell.cell_type, cell.source) for cell in stored.cells
        ], "the server does not serve notebooks/ as it is on disk"
        made = lab.api.post(
            "/api/sessions",
            json={"path": NOTEBOOK.name, "type": "notebook", "kernel": {"name": "python3"}},
        )
        assert made.status_code == 201, made.text
        session_id, kernel_id = made.json()["id"], made.json()["kernel"]["id"]
        # The server started this kernel itself, from its own (temporary) runtime folder.
        assert (lab.runtime_dir / f"kernel-{kernel_id}.json").exists()

        fresh = copy.deepcopy(notebook)
        client_session = uuid.uuid4().hex
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{lab.port}/api/kernels/{kernel_id}/channels"
            f"?session_id={client_session}",
            header=[f"Authorization: token {lab.token}"],
            timeout=PER_NOTEBOOK_TIMEOUT,
        )
        try:
            for cell in fresh.cells:
                if cell.cell_type == "code":
                    cell.outputs = run_cell(ws, client_session, cell.source)
        finally:
            ws.close()
        ran = time.monotonic()
        assert lab.api.delete(f"/api/sessions/{session_id}").status_code == 204
        assert lab.api.get("/api/kernels").json() == []
    finally:
        lab.api.close()
        # As Ctrl-C in the terminal of `make notebooks`: the server stops its kernels, then
        # exits. Kernels run in sessions of their own, so they are looked for by marker.
        if lab.alive():
            lab.signal_main(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                lab.wait_exit(timeout=30)
        lab.stop(grace=0)  # SIGKILL to whatever is still in the server's process group
        deadline = time.monotonic() + 10
        while (left := lab.leftovers()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left behind by JupyterLab or its kernel: {left}"
    print(
        f"JupyterLab answered in {ready - started:.1f} s; "
        f"{NOTEBOOK.name} ran through it in {ran - ready:.1f} s"
    )

    expected, got = comparable(stored), comparable(fresh)
    # Outputs came back from the server's kernel: the notebook's first cell prints its folder.
    assert any(where.startswith("code cell") for where in got), "no output came back"
    differences = [
        f"{where}:\n  stored: {expected.get(where)}\n  via JupyterLab: {got.get(where)}"
        for where in sorted(expected.keys() | got.keys())
        if expected.get(where) != got.get(where)
    ]
    assert not differences, f"{NOTEBOOK.name} run through JupyterLab:\n" + "\n".join(differences)
