"""The request path: what ``.kiq()`` adds to ``POST /reports``.

The reference app runs under uvicorn with one bench-only route that writes the same row
without the enqueue (``bench.request_app``); ``bench.loadgen``, in its own process, sends
the two routes in turn. No worker runs, so only the enqueue itself is measured.
"""

from __future__ import annotations

import os
import socket
import statistics
import uuid
from pathlib import Path

from bench.common import PY, Case, Workers, case_env, cleanup, run_json, wait_until_serving


def request_path(broker: str, count: int, work: Path, concurrency: int = 4) -> dict:
    """``POST /reports`` (row + enqueue) against the same route writing only the row."""
    queue = f"bench-http-{broker}-{uuid.uuid4().hex[:8]}"
    tmp = work / queue
    case = Case(f"http-{broker}", "ours", broker, "")
    env = case_env(case, queue, tmp)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    server = Workers([[PY, "-m", "uvicorn", "bench.request_app:app", "--host", "127.0.0.1",
                       "--port", str(port), "--log-level", "warning", "--no-access-log"]],
                     env, tmp / "server.log")  # fmt: skip
    try:
        wait_until_serving(base_url, server, tmp / "server.log")
        out = {}
        # Alternate the two routes, twice, so that drift on a shared machine hits both.
        for path in ("/bench/reports-row-only", "/reports") * 2:
            command = [PY, "-m", "bench.loadgen", base_url, path, "--count", str(count // 2),
                       "--time-limit", "60", "--concurrency", str(concurrency)]  # fmt: skip
            cpu_before = process_cpu_seconds(server.procs[0].pid)
            run = run_json(command, env, timeout=120)
            # The server's CPU per request: unlike latency under load, it does not multiply
            # with the requests queued behind each other on a shared machine.
            run["server_cpu_ms"] = (
                (process_cpu_seconds(server.procs[0].pid) - cpu_before) / run["requests"] * 1000
            )
            out.setdefault(path, []).append(run)
        result = {}
        for path, runs in out.items():
            key = "row_only" if "row-only" in path else "row_and_enqueue"
            result[key] = {
                "path": path,
                "requests": sum(r["requests"] for r in runs),
                "errors": sum(r["errors"] for r in runs),
                "p50_ms": statistics.median(r["p50_ms"] for r in runs),
                "p99_ms": statistics.median(r["p99_ms"] for r in runs),
                "requests_per_s": statistics.median(r["requests_per_s"] for r in runs),
                "server_cpu_ms_per_request": statistics.median(r["server_cpu_ms"] for r in runs),
                "concurrency": runs[0]["concurrency"],
            }
        result["enqueue_adds_p50_ms"] = (
            result["row_and_enqueue"]["p50_ms"] - result["row_only"]["p50_ms"]
        )
        result["enqueue_adds_server_cpu_ms"] = (
            result["row_and_enqueue"]["server_cpu_ms_per_request"]
            - result["row_only"]["server_cpu_ms_per_request"]
        )
        print(f"  POST /reports on {broker:8} ({concurrency} in flight) row only p50 "
              f"{result['row_only']['p50_ms']:.2f} ms"
              f", row+enqueue p50 {result['row_and_enqueue']['p50_ms']:.2f} ms "
              f"(+{result['enqueue_adds_p50_ms']:.2f} ms); server CPU per request "
              f"+{result['enqueue_adds_server_cpu_ms']:.2f} ms", flush=True)  # fmt: skip
        return result
    finally:
        server.stop()
        cleanup(case, queue)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
