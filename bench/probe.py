"""Counters inside worker processes, read by the harness with negligible overhead.

A no-op task calls :func:`hit` (or :func:`hit_latency`): it updates in-process counters (how
many ran, the first start, the last end, and for latency runs the enqueue-to-start delays).
A daemon thread in each worker process writes them to ``$BENCH_PROBE_DIR/<pid>.json`` every
~100 ms (write then rename, so the harness never reads half a file). The harness sums the
files: it never talks to the workers, so it adds nothing to their work.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

INTERVAL = 0.1

_lock = threading.Lock()
_state: dict = {"count": 0, "first_start": None, "last_end": None, "delays": {},
                "cpu_first": None, "cpu_last": None}  # fmt: skip
_writer_pid: int | None = None
_dirty = False


def _write(directory: Path) -> None:
    with _lock:
        snapshot = {**_state, "delays": {k: list(v) for k, v in list(_state["delays"].items())}}
    path = directory / f"{os.getpid()}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(snapshot))
    os.replace(tmp, path)


def _writer(directory: Path) -> None:
    global _dirty
    while True:
        time.sleep(INTERVAL)
        if _dirty:
            _dirty = False
            _write(directory)


def _ensure_writer() -> None:
    """Start the writer thread once per process (after a fork, the child starts its own)."""
    global _writer_pid, _state
    if _writer_pid == os.getpid():
        return
    directory = os.environ.get("BENCH_PROBE_DIR")
    if not directory:  # in-process (bench.layers): nothing to write, and no need to look again
        _writer_pid = os.getpid()
        return
    with _lock:
        if _writer_pid == os.getpid():
            return
        if _writer_pid is not None:  # a forked child inherited its parent's counters
            _state = {"count": 0, "first_start": None, "last_end": None, "delays": {},
                      "cpu_first": None, "cpu_last": None}  # fmt: skip
        _writer_pid = os.getpid()
        threading.Thread(target=_writer, args=(Path(directory),), daemon=True).start()


def hit(started: float) -> None:
    """One task ran: it started at ``started`` (``time.time()``) and ends now."""
    global _dirty
    _ensure_writer()
    # CPU seconds of this process (every thread: aiosqlite's, redis-py's...): robust on a
    # shared machine, where wall-clock rates move with the neighbours' load.
    cpu = time.process_time()
    _state["count"] += 1
    if _state["first_start"] is None:
        _state["first_start"] = started
        _state["cpu_first"] = cpu
    _state["cpu_last"] = cpu
    _state["last_end"] = time.time()
    _dirty = True


def hit_latency(enqueued_at: float, tag: object) -> None:
    """One task of a latency run (``tag``: its rate) started now; enqueued at ``enqueued_at``."""
    now = time.time()
    _state["delays"].setdefault(str(tag), []).append(now - enqueued_at)
    hit(now)


# -- the harness side ---------------------------------------------------------------------
def read(directory: Path) -> dict:
    """The sum over every worker process's file."""
    total = {"count": 0, "first_start": None, "last_end": None, "delays": {}, "processes": 0,
             "cpu_seconds": 0.0}  # fmt: skip
    for path in directory.glob("*.json"):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        total["processes"] += 1
        total["count"] += data["count"]
        if data.get("cpu_first") is not None:
            total["cpu_seconds"] += data["cpu_last"] - data["cpu_first"]
        for tag, delays in data["delays"].items():
            total["delays"].setdefault(tag, []).extend(delays)
        if data["first_start"] is not None:
            first = total["first_start"]
            total["first_start"] = min(first, data["first_start"]) if first else data["first_start"]
        if data["last_end"] is not None:
            total["last_end"] = max(total["last_end"] or 0, data["last_end"])
    return total


def wait_count(
    directory: Path,
    count: int,
    timeout: float,
    alive=lambda: True,
    stall: float = 30.0,
    cap: float | None = None,
) -> dict:
    """Poll the files until ``count`` tasks ran, or ``cap`` s after the first task started
    (a slow drain is measured on what ran by then); fail after ``timeout`` s, after ``stall``
    s without progress, or if the workers died."""
    deadline = time.monotonic() + timeout
    last, progress_at = -1, time.monotonic()
    while True:
        total = read(directory)
        if total["count"] >= count:
            return total
        if cap and total["first_start"] and time.time() - total["first_start"] > cap:
            time.sleep(2 * INTERVAL)  # every process's file is fresh
            return read(directory)
        if total["count"] != last:
            last, progress_at = total["count"], time.monotonic()
        now = time.monotonic()
        if now > deadline or now - progress_at > stall:
            raise TimeoutError(f"only {total['count']} of {count} tasks ran")
        if not alive():
            raise RuntimeError(f"the workers exited after {total['count']} of {count} tasks")
        time.sleep(0.05)
