"""The benchmark harness still runs: quick mode, the cases that need no server nor extra."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_quick_runs_and_writes_its_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--only", "sqlite,inmemory,layers",
         "--out", str(out)],
        cwd=ROOT, timeout=240, capture_output=True, text=True,
        env={k: v for k, v in os.environ.items() if k != "DEV_MODE"},  # as from a shell
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert {"date", "machine", "versions", "settings", "throughput", "latency",
            "request_path", "targets"} <= results.keys()  # fmt: skip
    assert results["machine"]["cores"] >= 1
    assert results["versions"]["taskiq"]
    for name in ("sqlite", "inmemory"):
        numbers = results["throughput"][name]
        assert numbers["tasks_per_s"]["median"] > 0
        assert numbers["enqueue_per_s"]["median"] > 0
    (row,) = results["latency"]["sqlite"]
    assert row["tasks"] > 0 and row["p99_ms"] >= row["p50_ms"] > 0
    request = results["request_path"]["sqlite"]
    assert request["row_only"]["requests"] > 0 and request["row_only"]["errors"] == 0
    assert request["row_and_enqueue"]["p50_ms"] > 0
    serial = results["request_path_one_in_flight"]["sqlite"]
    assert serial["row_only"]["concurrency"] == 1 and serial["row_and_enqueue"]["errors"] == 0
    assert request["row_only"]["concurrency"] == 4
    layers = results["layers_in_process"]
    assert list(layers) == ["floor", "full"]  # quick mode: the two ends
    assert layers["full"]["cost_vs_floor"] > 0
    assert all(row["tasks"] == 200 and row["cpu_us_per_task"] > 0 for row in layers.values())
    targets = {row["target"]: row for row in results["targets"]}
    assert targets["sqlite: enqueue from one producer (tasks/s)"]["measured"] > 0


def test_bench_plots_render(tmp_path: Path) -> None:
    from bench.plots import render  # matplotlib is in the dev extra

    results = {
        "date": "2026-01-01T00:00:00Z",
        "machine": {"cores": 2},
        "settings": {"tasks": 10},
        "throughput": {
            "sqlite": {"tasks_per_s": {"min": 1.0, "median": 2.0, "max": 3.0}},
            "layers-bare": {"tasks_per_s": {"min": 1.0, "median": 2.0, "max": 3.0}},
        },
        "latency": {"sqlite": [{"rate": 50, "p50_ms": 1.0, "p99_ms": 2.0}]},
        "request_path": {},
    }
    written = render(results, tmp_path)
    assert all(path.stat().st_size > 0 for path in written)


def test_bench_task_ids_counts_the_pages_each_kind_of_id_rewrites() -> None:
    from bench.task_ids import main

    results = main(["--rows", "10000", "--batch", "50", "--repeats", "1"])
    random_ids, ordered_ids = results["uuid4 (taskiq's)"][0], results["uuid7 (ours)"][0]
    assert random_ids["cpu_us_per_row"] > 0 and ordered_ids["cpu_us_per_row"] > 0
    # A page count, not a timing: ids that sort by time append to the index; random ones
    # land all over it, and each commit rewrites every page it touched.
    assert ordered_ids["wal_pages_per_commit"] < 16
    assert random_ids["wal_pages_per_commit"] > 2.5 * ordered_ids["wal_pages_per_commit"]


def test_bench_drains_each_case_in_rounds(monkeypatch, tmp_path: Path) -> None:
    """Repetitions go round all the cases (so a drifting machine slows every case alike); a
    prototype and a slow drain run once; a case that fails is reported and not retried."""
    from bench import cases, throughput

    order: list[str] = []
    seconds = {"sqlite": 1.0, "huey-sqlite": 1.0, "celery": 9.0, "sqlite-lean": 1.0}

    def drain_once(case, count, work):
        order.append(case.name)
        if case.name == "inmemory":
            raise RuntimeError("the workers died")
        return {"tasks_per_s": count / seconds[case.name], "enqueue_per_s": 1.0,
                "tasks_measured": count, "worker_cpu_us_per_task": 100.0}  # fmt: skip

    monkeypatch.setattr(throughput, "drain_once", drain_once)
    by_name = {case.name: case for case in cases.CASES + cases.PROTOTYPES}
    chosen = [by_name[name] for name in ("sqlite", "inmemory", "celery", "huey-sqlite",
                                         "sqlite-lean")]  # fmt: skip
    results: dict = {"throughput": {}, "skipped": {}}
    throughput.throughput(chosen, 1000, 3, tmp_path, results)

    assert order == ["sqlite", "inmemory", "celery", "huey-sqlite", "sqlite-lean",
                     "sqlite", "huey-sqlite", "sqlite", "huey-sqlite"]  # fmt: skip
    assert results["throughput"]["sqlite"]["tasks_measured"] == [1000, 1000, 1000]
    assert len(results["throughput"]["celery"]["tasks_measured"]) == 1  # 9 s: once
    assert len(results["throughput"]["sqlite-lean"]["tasks_measured"]) == 1  # a prototype
    assert "inmemory" not in results["throughput"]
    assert "the workers died" in results["skipped"]["inmemory"]
