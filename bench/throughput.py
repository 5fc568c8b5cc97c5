"""Throughput: how fast each case's workers drain a queue filled beforehand.

A drain fills the queue with N no-op tasks first, then starts the case's workers and times
the first task's start to the last task's end (worker start-up is not counted), from the
counters of ``bench.probe``. :func:`throughput` drains every case in rounds and keeps the
min, median and max of each.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from pathlib import Path

from bench import probe
from bench.cases import PROTOTYPES
from bench.common import PY, Case, Workers, case_env, cleanup, run_json, worker_commands

SLOW_DRAIN = 5.0  # s: a drain longer than this runs once
DRAIN_CAP = 10.0  # s: a drain still running this long after its first task is measured there


def taskiq_payload() -> bytes:
    """A taskiq message for ``bench.noop``, as its JSON formatter writes it."""
    from taskiq import TaskiqMessage
    from taskiq.formatters.json_formatter import JSONFormatter

    message = TaskiqMessage(task_id=uuid.uuid4().hex, task_name="bench.noop", labels={},
                            labels_types={}, args=[], kwargs={})  # fmt: skip
    return JSONFormatter().dumps(message).message


def fill(case: Case, env: dict[str, str], count: int) -> dict:
    if case.kind in ("ours", "taskiq"):
        command = [PY, "-m", "bench.producer", "fill", str(count), "--task", case.task]
        return run_json(command, env, timeout=300)
    if case.kind == "celery":
        return run_json([PY, "-m", "bench.celery_app", str(count)], env, timeout=300)
    if case.kind == "huey":
        return run_json([PY, "-m", "bench.huey_app", str(count)], env, timeout=300)
    from bench import floor

    floor.QUEUE = env["BENCH_QUEUE"]
    started = time.perf_counter()
    if case.kind in ("floor-redis", "floor-redis-async"):
        floor.redis_fill(count, taskiq_payload())
    else:
        asyncio.run(floor.amqp_fill(count, taskiq_payload()))
    elapsed = time.perf_counter() - started
    return {"count": count, "seconds": elapsed, "enqueue_per_s": count / elapsed}


# --8<-- [start:drain]
def drain_once(case: Case, count: int, work: Path) -> dict:
    """Pre-fill ``count`` tasks, start the workers, time the first start to the last end."""
    queue = f"bench-{case.name}-{uuid.uuid4().hex[:8]}"
    tmp = work / queue
    env = case_env(case, queue, tmp)
    try:
        if case.kind == "inmemory":
            out = run_json([PY, "-m", "bench.inmemory", str(count)], env, timeout=300)
            return {"tasks_per_s": count / out["seconds"], "enqueue_per_s": out["enqueue_per_s"],
                    "tasks_measured": count,
                    "worker_cpu_us_per_task": out["cpu_seconds"] / count * 1e6}  # fmt: skip
        filled = fill(case, env, count)
        workers = Workers(worker_commands(case, queue), env, tmp / "workers.log")
        try:
            total = probe.wait_count(tmp / "probe", count, max(120.0, count / 50),
                                     workers.alive, cap=DRAIN_CAP)  # fmt: skip
        except (TimeoutError, RuntimeError) as exc:
            log = (tmp / "workers.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{case.name}: {exc}\n{log}") from None
        finally:
            workers.stop()
        seconds = total["last_end"] - total["first_start"]
        ran = total["count"]
        return {"tasks_per_s": ran / seconds, "enqueue_per_s": filled["enqueue_per_s"],
                "tasks_measured": ran, "processes_seen": total["processes"],
                "worker_cpu_us_per_task": total["cpu_seconds"] / ran * 1e6}  # fmt: skip
    finally:
        cleanup(case, queue)


# --8<-- [end:drain]


def summarise(values: list[float]) -> dict:
    return {"min": min(values), "median": statistics.median(values), "max": max(values),
            "runs": values}  # fmt: skip


def throughput(cases: list[Case], count: int, repeats: int, work: Path, results: dict) -> None:
    """Drain every case ``repeats`` times, in rounds: each round drains every case once.

    A shared machine's speed drifts over minutes. Drained ``repeats`` times in a row, a case
    and the one a target compares it with (ours and Huey, say) can be measured minutes apart,
    in different weather; in rounds, every case is measured across the same minutes.
    A drain slower than ``SLOW_DRAIN`` s, and every prototype, runs once: the full run must
    stay under 10 minutes.
    """
    runs: dict[str, list[dict]] = {case.name: [] for case in cases}
    for round_number in range(1, repeats + 1):
        print(f" round {round_number} of {repeats}", flush=True)
        for case in cases:
            done = runs.get(case.name)
            if done is None:  # failed in an earlier round
                continue
            if len(done) >= (1 if case in PROTOTYPES else repeats) or (
                done and done[0]["tasks_measured"] / done[0]["tasks_per_s"] >= SLOW_DRAIN
            ):
                continue
            try:
                done.append(drain_once(case, count, work))
            except Exception as exc:  # one broken case must not cost the whole run
                del runs[case.name]
                results["skipped"][case.name] = f"failed: {str(exc)[:3000]}"
                print(f"  {case.name:24} FAILED: {str(exc)[:3000]}", flush=True)
                continue
            print(f"  {case.name:24} {done[-1]['tasks_per_s']:8,.0f} tasks/s", flush=True)
    print(" medians")
    for case in cases:
        if case.name in runs:
            results["throughput"][case.name] = summary(case, runs[case.name])


def summary(case: Case, runs: list[dict]) -> dict:
    result = {
        "about": case.about,
        "broker": case.broker,
        "task": case.task,
        "env": {k: v for k, v in case.env.items()},
        "tasks_per_s": summarise([run["tasks_per_s"] for run in runs]),
        "enqueue_per_s": summarise([run["enqueue_per_s"] for run in runs]),
        "tasks_measured": [run["tasks_measured"] for run in runs],
        # CPU the worker processes spent per task, every thread (median over the runs)
        "worker_cpu_us_per_task": statistics.median(r["worker_cpu_us_per_task"] for r in runs),
    }
    print(f"  {case.name:24} drain median {result['tasks_per_s']['median']:8,.0f} tasks/s "
          f"(min {result['tasks_per_s']['min']:,.0f}, max {result['tasks_per_s']['max']:,.0f}); "
          f"enqueue {result['enqueue_per_s']['median']:,.0f}/s; "
          f"worker CPU {result['worker_cpu_us_per_task']:,.0f} µs/task", flush=True)  # fmt: skip
    return result
