"""Real worker and API processes for the tests, started and stopped the way a reader would."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
LISTENING = "Listening started."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ManagedProcess:
    """A child process in its own process group, its output in a log file."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.command = command
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, cwd: Path = ROOT) -> None:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.command,
            cwd=cwd,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal_main(self, signum: int) -> None:
        """Like `docker stop` or systemd: the main process only."""
        os.kill(self.pid, signum)

    def signal_group(self, signum: int) -> None:
        """Like Ctrl-C in a terminal: every process of the group."""
        try:
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            pass

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self, grace: float = 15.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        self.signal_group(signal.SIGKILL)  # whatever is left of the group
        self.proc.wait()
        self._log.close()


class WorkerProcess(ManagedProcess):
    """``python -m reference_app.infrastructure.taskiq.run_worker``, as `make run` starts it."""

    def __init__(self, env: dict[str, str], log_path: Path, extra: list[str] | None = None):
        command = [sys.executable, "-m", "reference_app.infrastructure.taskiq.run_worker"]
        super().__init__(command + list(extra or []), env, log_path)

    def listening(self) -> int:
        return self.log().count(LISTENING)

    def start_and_wait(self, listeners: int = 1, timeout: float = 30.0) -> WorkerProcess:
        before = self.listening()
        self.start()
        wait_for(
            lambda: self.listening() >= before + listeners or not self.alive(),
            timeout=timeout,
            what="the worker to listen",
        )
        assert self.alive(), f"worker exited early:\n{self.log()[-3000:]}"
        return self

    def child_pids(self) -> list[int]:
        """The live taskiq worker processes (children of the main process; a killed one that
        is not reaped yet, a zombie, is left out)."""
        try:
            text = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except FileNotFoundError:
            return []
        return [int(pid) for pid in text.split() if _alive(int(pid))]

    def started_pids(self) -> list[int]:
        """Every worker process the main process has started, in order (restarts included)."""
        return [
            int(p)
            for p in re.findall(
                r"(?:Started process|restarted with pid) .*?(\d+)\s*$", self.log(), re.M
            )
        ]


class SchedulerProcess(ManagedProcess):
    """``python -m reference_app.infrastructure.taskiq.run_scheduler``, as `make run` starts it."""

    def __init__(self, env: dict[str, str], log_path: Path, extra: list[str] | None = None):
        command = [sys.executable, "-m", "reference_app.infrastructure.taskiq.run_scheduler"]
        super().__init__(command + list(extra or []), env, log_path)

    def start_and_wait(self, timeout: float = 30.0) -> SchedulerProcess:
        self.start()
        wait_for(lambda: "Startup completed." in self.log() or not self.alive(),
                 timeout=timeout, what="the scheduler to start")  # fmt: skip
        assert self.alive(), f"scheduler exited early:\n{self.log()[-3000:]}"
        return self


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"  # the state follows "(command)"


class UvicornServer(ManagedProcess):
    """An ASGI app under uvicorn on a free port; ready when ``ready_path`` answers 200."""

    def __init__(
        self,
        target: str,
        env: dict[str, str],
        log_path: Path,
        *,
        factory: bool = False,
        ready_path: str = "/openapi.json",
    ) -> None:
        self.port = free_port()
        self.ready_path = ready_path
        self.target = target
        command = [sys.executable, "-m", "uvicorn", *(["--factory"] if factory else []), target,
                   "--host", "127.0.0.1", "--port", str(self.port)]  # fmt: skip
        super().__init__(command, env, log_path)
        self.base_url = f"http://127.0.0.1:{self.port}"

    def start_and_wait(self, timeout: float = 30.0):
        self.start()

        def up() -> bool:
            if not self.alive():
                return True
            try:
                response = httpx.get(f"{self.base_url}{self.ready_path}", timeout=1)
                return response.status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=timeout, what=f"{self.target} to answer")
        assert self.alive(), f"server exited early:\n{self.log()[-3000:]}"
        return self

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=10)


class ApiServer(UvicornServer):
    """The reference app under uvicorn, on a free port."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        super().__init__("reference_app.main:create_app", env, log_path, factory=True,
                         ready_path="/health/live")  # fmt: skip
