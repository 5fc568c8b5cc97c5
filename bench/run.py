"""The benchmark harness of issue 8: throughput, our layers' cost (``bench.layers``), latency
and the request path, in one run.

    python -m bench.run            # full: N=10,000, 3 repetitions (make bench)
    python -m bench.run --quick    # N=500, 1 repetition, one low rate (make bench-quick)
    python -m bench.run --quick --only sqlite,inmemory,layers --out /tmp/x.json

Every case runs its workers the way its users would (our launcher, ``taskiq worker``,
``celery worker``, ``huey_consumer``), on Redis DB 14, its own queue names and temp SQLite
files; everything is deleted afterwards. Writes ``bench/results/<UTC time>.json`` and
``bench/results/latest.json`` and prints the ratios against the targets of issue 8.

This module only orchestrates; each measurement lives in a module of its own:
``bench.cases`` (what runs), ``bench.throughput`` (the drains), ``bench.latency``
(enqueue-to-start at fixed rates), ``bench.request_path`` (``POST /reports`` with and
without the enqueue), ``bench.targets`` (the targets), all on ``bench.common``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench import layers
from bench.cases import CASES, LATENCY_CASES, PROTOTYPES, QUICK
from bench.common import (
    CONCURRENCY,
    REDIS_DB,
    WORKERS,
    available,
    empty_redis_db,
    machine,
    versions,
    write_results,
)
from bench.latency import latency_sweep
from bench.request_path import request_path
from bench.targets import print_targets, targets
from bench.throughput import DRAIN_CAP, SLOW_DRAIN, taskiq_payload, throughput


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small N, one repetition")
    parser.add_argument("--tasks", type=int, help="N, tasks per drain")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--only", help="comma-separated case names (default: all)")
    parser.add_argument("--no-prototypes", action="store_true")
    parser.add_argument("--out", type=Path, help="write here instead of bench/results/")
    args = parser.parse_args(argv)
    count = args.tasks or (500 if args.quick else 10_000)
    repeats = args.repeats or (1 if args.quick else 3)
    rates = [50.0] if args.quick else [50.0, 100.0, 200.0, 400.0, 800.0]
    rate_seconds = 1.0 if args.quick else 2.0
    requests = 200 if args.quick else 1200
    only = set(args.only.split(",")) if args.only else (set(QUICK) if args.quick else None)
    chosen = CASES + ([] if args.no_prototypes else PROTOTYPES)
    chosen = [case for case in chosen if only is None or case.name in only]

    started = time.time()
    results: dict = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "mode": "quick" if args.quick else "full",
        "machine": machine(),
        "versions": versions(),
        "settings": {
            "tasks": count,
            "repeats": repeats,
            "worker_processes": WORKERS,
            "taskiq_max_async_tasks": CONCURRENCY,
            "taskiq_max_prefetch": 0,
            "taskiq_max_tasks_per_child": 0,
            "poll_interval_s": 0.02,
            "latency_rates": rates,
            "latency_seconds_per_rate": rate_seconds,
            "request_count": requests,
            "request_concurrency": [1, 4],
            "redis_db": REDIS_DB,
            "payload_bytes": len(taskiq_payload()),
            "timing": "first task start to last task end, worker start-up excluded",
            "drain_cap_s": DRAIN_CAP,
            "single_run_if_drain_longer_than_s": SLOW_DRAIN,
        },
        "throughput": {},
        "latency": {},
        "request_path": {},  # 4 requests in flight
        "request_path_one_in_flight": {},
        "layers_in_process": {},  # bench.layers: CPU per task of each layer, one process
        "skipped": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as work:
        work_path = Path(work)
        print(f"Throughput: N={count}, {repeats} run(s) each, {WORKERS} worker processes")
        runnable = []
        for case in chosen:
            missing = [need for need in case.needs if not available(need)]
            if missing:
                results["skipped"][case.name] = f"not available: {', '.join(missing)}"
                print(f"  {case.name:24} skipped ({', '.join(missing)} not available)")
            else:
                runnable.append(case)
        throughput(runnable, count, repeats, work_path, results)
        if only is None or "layers" in only:
            try:
                # Quick: the two ends only (each setup starts a process of its own).
                names = ["floor", "full"] if args.quick else None
                results["layers_in_process"] = layers.price(200 if args.quick else 5000, names)
            except Exception as exc:  # one broken part must not cost the whole run
                results["skipped"]["layers"] = f"failed: {str(exc)[:3000]}"
                print(f"  layers FAILED: {str(exc)[:3000]}", flush=True)
        print("Latency: enqueue-to-start at fixed rates")
        for case in CASES:
            if args.quick and case.name != "sqlite":
                continue  # quick: the embedded default only
            if case.name in LATENCY_CASES and case.name in results["throughput"]:
                try:
                    results["latency"][case.name] = latency_sweep(
                        case, rates, rate_seconds, work_path
                    )
                except Exception as exc:  # one broken case must not cost the whole run
                    results["skipped"][f"latency {case.name}"] = f"failed: {str(exc)[:3000]}"
                    print(f"  {case.name:24} FAILED: {str(exc)[:3000]}", flush=True)
        print("Request path: POST /reports with and without the enqueue")
        for broker in ("sqlite",) if args.quick else ("sqlite", "redis"):
            name = "sqlite" if broker == "sqlite" else "redis-stream"
            if name in results["throughput"]:
                results["request_path_one_in_flight"][broker] = request_path(
                    broker, requests, work_path, concurrency=1
                )
                results["request_path"][broker] = request_path(broker, requests, work_path)
    empty_redis_db()  # DB 14 is the benchmark's own: leave nothing behind
    results["targets"] = targets(results)
    results["seconds"] = round(time.time() - started, 1)
    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    print_targets(results["targets"])
    write_results(results, args.out, started)
    print(f"\nDone in {results['seconds']:.0f} s.")
    return results


if __name__ == "__main__":
    main()
