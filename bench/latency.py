"""Latency: how long after it was sent a task starts, with the workers running, at fixed rates.

One producer sends tasks at each rate in turn, each stamped with its send time; the task
records its start (``bench.probe.hit_latency``). Only our own brokers are swept.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from bench import probe
from bench.common import PY, Case, Workers, case_env, cleanup, run_json, worker_commands


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --8<-- [start:latency]
def latency_sweep(case: Case, rates: list[float], seconds: float, work: Path) -> list[dict]:
    """Enqueue at each rate in turn; p50/p99 enqueue-to-start; stop once saturated."""
    queue = f"bench-lat-{case.name}-{uuid.uuid4().hex[:8]}"
    tmp = work / queue
    env = case_env(case, queue, tmp)
    results: list[dict] = []
    workers = Workers(worker_commands(case, queue), env, tmp / "workers.log")
    try:
        producer = [PY, "-m", "bench.producer", "rate"]
        # Warm-up: returns once the workers run tasks, so start-up is not measured.
        warm = run_json([*producer, "10", "--seconds", "1"], env, timeout=120)
        probe.wait_count(tmp / "probe", warm["sent"], 60, workers.alive)
        done = warm["sent"]
        for rate in rates:
            sent = run_json([*producer, f"{rate:g}", "--seconds", f"{seconds:g}"], env,
                            timeout=seconds * 10 + 60)  # fmt: skip
            done += sent["sent"]
            total = probe.wait_count(tmp / "probe", done, 120, workers.alive)
            delays = total["delays"][str(float(rate))]
            row = {
                "rate": rate,
                "achieved_per_s": sent["achieved_per_s"],
                "tasks": len(delays),
                "p50_ms": percentile(delays, 0.5) * 1000,
                "p99_ms": percentile(delays, 0.99) * 1000,
            }
            results.append(row)
            print(
                f"  {case.name:24} {rate:6g}/s sent {row['achieved_per_s']:7.0f}/s  "
                f"p50 {row['p50_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms",
                flush=True,
            )
            if row["p99_ms"] > 1000 or row["achieved_per_s"] < 0.9 * rate:
                row["saturated"] = True
                break
    finally:
        workers.stop()
        cleanup(case, queue)
    return results


# --8<-- [end:latency]
