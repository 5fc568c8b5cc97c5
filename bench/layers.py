"""What one worker process spends per task, priced in-process: CPU seconds, not wall clock.

    python -m bench.layers                    # every setup, N = 5,000 each
    python -m bench.layers --tasks 2000 --only floor,full

Drains on a shared machine move from one run to the next by more than most of our layers
cost. Here each setup runs in a fresh process of its own: the queue is filled
first, then taskiq's own receiver loop (the one ``taskiq worker`` runs) drains it in the same
process, with no second worker and no load generator competing for the cores. The figure is
the process's CPU time from the first task's start to the last task's end, divided by N.

Setups, each adding one thing to the one before:

* ``floor``: taskiq's ``Receiver`` on a broker that hands out messages from a Python list and
  whose ack does nothing: taskiq's worker loop alone, with no broker I/O at all;
* ``floor-lean``: the same with our ``LeanReceiver`` loop, which our receiver is built on;
* ``sqlite-lean``: our SQLite broker and receiver, no stored result, no run recorder;
* ``+results``: the result stored with the ack (``SQLiteResultBackend``);
* ``+runs``: the run recorder (``TASKIQ_RUNS_ENABLED``);
* ``full``: the task takes an injected database session, as ``bench.noop_db`` does: the
  reference app's worker as a reader runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import LEAN, ROOT, Case, case_env

# name: (extra environment, task)
SETUPS: dict[str, tuple[dict[str, str], str]] = {
    "floor": ({"BENCH_CASE": "memory-list", "BENCH_RECEIVER": "taskiq"}, "bench.noop"),
    "floor-lean": ({"BENCH_CASE": "memory-list", "BENCH_RECEIVER": "lean"}, "bench.noop"),
    "sqlite-lean": (LEAN, "bench.noop"),
    "+results": ({"TASKIQ_RUNS_ENABLED": "false"}, "bench.noop"),
    "+runs": ({}, "bench.noop"),
    "full": ({}, "bench.noop_db"),
}


async def drain(task_name: str, count: int) -> dict:
    from bench import probe
    from bench.apps import broker

    broker.is_worker_process = True
    if os.environ.get("BENCH_CASE") != "memory-list":
        import reference_app.infrastructure.taskiq.worker  # noqa: F401 (what the worker imports)
        from taskiq_extras.receiver import DeadLetteringReceiver as Receiver
    elif os.environ.get("BENCH_RECEIVER") == "lean":
        from taskiq_extras.receiver import LeanReceiver as Receiver
    else:
        from taskiq.receiver import Receiver
    await broker.startup()
    task = broker.find_task(task_name)
    assert task is not None, task_name
    for start in range(0, count, 100):
        await asyncio.gather(*(task.kiq() for _ in range(min(100, count - start))))
    finish = asyncio.Event()
    with ThreadPoolExecutor() as pool:
        slots = int(os.environ["TASKIQ_WORKER_CONCURRENCY"])  # bench.common.case_env sets it
        receiver = Receiver(broker, executor=pool, max_async_tasks=slots, max_prefetch=0,
                            run_startup=False)  # fmt: skip
        listening = asyncio.create_task(receiver.listen(finish))
        deadline = time.monotonic() + max(60.0, count / 20)
        while probe._state["count"] < count:
            if listening.done():
                listening.result()  # raises what stopped it
                raise RuntimeError(f"the receiver stopped after {probe._state['count']} tasks")
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {probe._state['count']} of {count} tasks ran")
            await asyncio.sleep(0.01)
        state = dict(probe._state)
        finish.set()
        await asyncio.wait_for(listening, 30)
    await broker.shutdown()
    cpu = state["cpu_last"] - state["cpu_first"]
    return {"tasks": state["count"], "cpu_us_per_task": cpu / state["count"] * 1e6,
            "tasks_per_s": state["count"] / (state["last_end"] - state["first_start"])}  # fmt: skip


def run_setup(name: str, count: int, work: Path) -> dict:
    extra, _ = SETUPS[name]
    env = case_env(Case(name, "ours", "sqlite", ABOUT[name]), "layers", work)
    env.pop("BENCH_PROBE_DIR")  # one process: drain() reads the counters itself
    env.update(extra)
    command = [sys.executable, "-m", "bench.layers", "--one", name, "--tasks", str(count)]
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{out.stderr.decode()[-3000:]}")
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


ABOUT = {
    "floor": "taskiq's Receiver loop, messages from a list, no I/O",
    "floor-lean": "our LeanReceiver loop, messages from a list, no I/O",
    "sqlite-lean": "our SQLite broker and receiver; no result, no run recorder",
    "+results": "+ the result, stored with the ack",
    "+runs": "+ the run recorder",
    "full": "+ an injected DB session: the reference app's worker",
}


def price(count: int, names: list[str] | None = None) -> dict:
    """CPU µs per task of each setup (a fresh process each), and its ratio to ``floor``."""
    results: dict = {}
    print(f"Our layers, in-process: one worker process, N={count}, CPU per task", flush=True)
    for name in names or list(SETUPS):
        with tempfile.TemporaryDirectory(prefix="bench-layers-") as work:
            results[name] = {"about": ABOUT[name], **run_setup(name, count, Path(work))}
        floor = results.get("floor", {}).get("cpu_us_per_task")
        if floor:
            results[name]["cost_vs_floor"] = results[name]["cpu_us_per_task"] / floor
        print(f"  {name:12} {results[name]['cpu_us_per_task']:7.0f} µs/task "
              f"({results[name]['tasks_per_s']:,.0f} tasks/s)", flush=True)  # fmt: skip
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--only", help="comma-separated setups (default: all)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child process of one setup
    args = parser.parse_args(argv)
    if args.one:
        _, task_name = SETUPS[args.one]
        print(json.dumps(asyncio.run(drain(task_name, args.tasks))))
        return {}
    names = args.only.split(",") if args.only else list(SETUPS)
    unknown = [name for name in names if name not in SETUPS]
    if unknown:
        parser.error(f"unknown setup(s) {', '.join(unknown)}; known: {', '.join(SETUPS)}")
    return price(args.tasks, names)


if __name__ == "__main__":
    main()
