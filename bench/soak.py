"""The soak run of issue 7: a steady request rate for minutes, on each broker.

    python -m bench.soak                     # make bench-soak: 3 brokers x 2 segments x 100 s
    python -m bench.soak --segment-seconds 10 --brokers sqlite --out /tmp/soak.json
    python -m bench.soak --render bench/results/soak.json     # tables and plot only

A segment is one broker with one recycling setting (``TASKIQ_MAX_TASKS_PER_WORKER``, 0 = never
recycle). Each gets a fresh app database and queue, the reference app under uvicorn and two
worker processes started as ``make worker`` starts them. An open-loop client POSTs
``/reports`` (the app's own route: a row, then ``.kiq()``) at ``--rate`` per second, whatever
the answers take, and records each request's latency and status. Every second the resident
memory (VmRSS) of each taskiq worker process is read from /proc, with the number of reports
done. When the load stops it waits, with a deadline, until every accepted report is complete
in the database: lost = accepted - completed.

Writes ``bench/results/soak.json``, ``docs/assets/bench/soak_rss.png`` and
``docs/includes/soak.md`` (or, with ``--out``, the three files side by side there). Redis DB
12 and queue names ``soak-*`` are its own; what it creates is deleted after each segment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

from bench.common import ROOT, Case, available, case_env, cleanup, machine, versions
from bench.loadgen import percentile
from reference_app.infrastructure.config import Settings
from tests.support.processes import ApiServer, WorkerProcess

RESULTS = ROOT / "bench" / "results" / "soak.json"
PLOT = ROOT / "docs" / "assets" / "bench" / "soak_rss.png"
TABLES = ROOT / "docs" / "includes" / "soak.md"
REDIS_DB = 12  # tests use 13, bench.run 14 (bench.common.REDIS_DB)
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
BROKERS = ("sqlite", "redis", "rabbitmq")
WORKERS = 2
BODY = {"title": "soak", "values": [1.0, 2.0, 3.0]}
MAX_IN_FLIGHT = 500  # an open-loop client still needs a bound if the server stops answering
MIB = 1024.0
PEERS = ("celery", "huey")  # versions bench.common records that play no part here


# -- measuring ------------------------------------------------------------------------------
def rss_kib(pid: int) -> int:
    """VmRSS of one process (0 once it has exited)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def report_counts(database: Path) -> dict[str, int]:
    """Reports per status, read from the app's SQLite file by a reader of its own."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        db.execute("PRAGMA busy_timeout = 5000")
        try:
            return dict(db.execute("SELECT status, count(*) FROM reports GROUP BY status"))
        except sqlite3.OperationalError:  # no table yet
            return {}


def final_counts(database: Path, accepted: list[int]) -> dict:
    """Lost, run twice and enqueue-to-complete times of the accepted reports."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        db.execute("PRAGMA busy_timeout = 5000")
        rows = db.execute(
            "SELECT id, status, runs, (julianday(completed_at) - julianday(created_at)) * 86400, "
            "julianday(created_at), julianday(completed_at) FROM reports"
        ).fetchall()
    by_id = {row[0]: row for row in rows}
    wanted = [by_id.get(report_id) for report_id in accepted]
    complete = [row for row in wanted if row is not None and row[1] == "complete"]
    seconds = [row[3] for row in complete if row[3] is not None]
    first = min((row[4] for row in complete), default=None)
    last = max((row[5] for row in complete), default=None)
    span = (last - first) * 86400 if complete and last is not None else 0.0
    return {
        "accepted": len(accepted),
        "completed": len(complete),
        "failed": sum(1 for row in wanted if row is not None and row[1] == "failed"),
        "lost": len(accepted) - len(complete),
        "missing_rows": sum(1 for row in wanted if row is None),
        "run_twice": sum(1 for row in complete if row[2] > 1),
        "rows_in_database": len(rows),
        "tasks_per_s": len(complete) / span if span else None,
        "enqueue_to_complete_p50_ms": percentile(seconds, 0.5) * 1000 if seconds else None,
        "enqueue_to_complete_p99_ms": percentile(seconds, 0.99) * 1000 if seconds else None,
        "enqueue_to_complete_max_ms": max(seconds) * 1000 if seconds else None,
    }


class Segment:
    """One broker, one recycling setting: the processes, the load and the samples."""

    def __init__(self, broker: str, recycle: int, args: argparse.Namespace, work: Path):
        self.broker, self.recycle, self.args = broker, recycle, args
        self.queue = f"soak-{broker}-{recycle}-{uuid.uuid4().hex[:8]}"
        self.tmp = work / self.queue
        self.case = Case(self.queue, "ours", broker, "")
        self.env = case_env(self.case, self.queue, self.tmp)
        self.env.update({
            "TASKIQ_REDIS_DB": str(REDIS_DB),
            "TASKIQ_WORKER_PROCESSES": str(WORKERS),
            "TASKIQ_WORKER_CONCURRENCY": str(args.concurrency),
            "TASKIQ_MAX_TASKS_PER_WORKER": str(recycle),
        })  # fmt: skip
        self.database = self.tmp / "app.db"
        self.latencies: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.accepted: list[int] = []
        self.samples: list[dict] = []
        self.sent = self.dropped = 0
        self.max_lag = 0.0
        self.label = f"{broker}, " + (f"recycle every {recycle}" if recycle else "no recycling")

    # The load: one request every 1/rate s, whether or not the previous ones have answered.
    async def post(self, client: httpx.AsyncClient) -> None:
        started = time.perf_counter()
        try:
            response = await client.post("/reports", json=BODY)
        except httpx.HTTPError as exc:
            self.statuses[type(exc).__name__] += 1
            return
        self.latencies.append((time.perf_counter() - started) * 1000)
        self.statuses[str(response.status_code)] += 1
        if response.status_code == 202:
            self.accepted.append(response.json()["id"])

    async def load(self, client: httpx.AsyncClient, seconds: float) -> None:
        in_flight: set[asyncio.Task] = set()
        started = time.perf_counter()
        while (now := time.perf_counter() - started) < seconds:
            due = self.sent / self.args.rate
            if due > now:
                await asyncio.sleep(due - now)
                continue
            self.max_lag = max(self.max_lag, now - due)
            self.sent += 1
            if len(in_flight) >= MAX_IN_FLIGHT:
                self.dropped += 1
                continue
            task = asyncio.create_task(self.post(client))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.gather(*in_flight)

    def sample(self, t: float, phase: str, workers: WorkerProcess, api: ApiServer) -> dict:
        per_process = {str(pid): rss_kib(pid) for pid in workers.child_pids()}
        per_process = {pid: kib for pid, kib in per_process.items() if kib}
        counts = report_counts(self.database)
        row = {
            "t": round(t, 2),
            "phase": phase,
            "workers_kib": per_process,
            "sum_kib": sum(per_process.values()),
            "max_kib": max(per_process.values(), default=0),
            "main_kib": rss_kib(workers.pid),
            "api_kib": rss_kib(api.pid),
            "requests": self.sent,
            "done": counts.get("complete", 0),
        }
        self.samples.append(row)
        return row

    async def sampler(self, workers: WorkerProcess, api: ApiServer, stop: asyncio.Event,
                      phase: list[str], started: float) -> None:  # fmt: skip
        last_print = 0.0
        while not stop.is_set():
            t = time.perf_counter() - started
            row = await asyncio.to_thread(self.sample, t, phase[0], workers, api)
            if t - last_print >= self.args.progress_every:
                last_print = t
                left = max(0.0, self.args.segment_seconds - t)
                print(f"  [{self.label}] {phase[0]:5} t={t:5.0f} s, {left:4.0f} s of load left; "
                      f"{self.sent:,} requests, {row['done']:,} done; workers "
                      f"{len(row['workers_kib'])} procs, {row['sum_kib'] / MIB:.1f} MiB",
                      flush=True)  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.args.sample_every)

    async def drive(self, base_url: str, workers: WorkerProcess, api: ApiServer) -> float:
        """Load, then drain; returns the drain's seconds."""
        limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=base_url, timeout=10, limits=limits) as client:
            stop, phase = asyncio.Event(), ["load"]
            started = time.perf_counter()
            sampler = asyncio.create_task(self.sampler(workers, api, stop, phase, started))
            try:
                await self.load(client, self.args.segment_seconds)
                phase[0] = "drain"
                drain_started = time.perf_counter()
                deadline = drain_started + self.args.drain_deadline
                while time.perf_counter() < deadline:
                    counts = await asyncio.to_thread(report_counts, self.database)
                    if counts.get("complete", 0) + counts.get("failed", 0) >= len(self.accepted):
                        break
                    if not workers.alive():
                        break
                    await asyncio.sleep(0.25)
                drained = time.perf_counter() - drain_started
            finally:
                stop.set()
                await sampler
            await asyncio.to_thread(self.sample, time.perf_counter() - started, "end",
                                    workers, api)  # fmt: skip
            return drained

    def run(self) -> dict:
        self.tmp.mkdir(parents=True, exist_ok=True)
        api = ApiServer(self.env, self.tmp / "api.log")
        api.ready_path = "/health/ready"  # the broker client is started too
        api.command += ["--no-access-log"]
        workers = WorkerProcess(self.env, self.tmp / "workers.log")
        began = time.time()
        try:
            api.start_and_wait(timeout=60)
            workers.start_and_wait(listeners=WORKERS, timeout=60)
            drained = asyncio.run(self.drive(api.base_url, workers, api))
            alive = workers.alive()
            restarts = len(workers.started_pids()) - WORKERS
            log_tail = "" if alive else workers.log()[-3000:]
        finally:
            # Everything accepted is done (or counted lost): no graceful stop to wait for.
            workers.stop(grace=0)
            api.stop(grace=5)
            cleanup(self.case, self.queue, REDIS_URL)
        result = {
            "broker": self.broker,
            "max_tasks_per_worker": self.recycle,
            "label": self.label,
            "queue": self.queue,
            "load_seconds": self.args.segment_seconds,
            "drain_seconds": round(drained, 2),
            "wall_seconds": round(time.time() - began, 1),
            "workers_alive_at_end": alive,
            "worker_restarts": restarts,
            "requests": self.request_summary(),
            "tasks": final_counts(self.database, self.accepted),
            "memory": self.memory_summary(),
            "samples": self.samples,
        }
        if log_tail:
            result["workers_log_tail"] = log_tail
        return result

    def request_summary(self) -> dict:
        lat = self.latencies
        return {
            "sent": self.sent,
            "dropped_in_flight_cap": self.dropped,
            "achieved_per_s": self.sent / self.args.segment_seconds,
            "statuses": dict(self.statuses),
            "p50_ms": percentile(lat, 0.5) if lat else None,
            "p99_ms": percentile(lat, 0.99) if lat else None,
            "max_ms": max(lat) if lat else None,
            "client_max_lag_ms": self.max_lag * 1000,
        }

    def memory_summary(self) -> dict:
        return memory_summary(self.samples, self.args.segment_seconds)


def _median_mib(rows: list[dict], key: str) -> float | None:
    return statistics.median(row[key] for row in rows) / MIB if rows else None


def _slope(rows: list[dict], key: str) -> float | None:
    """MiB per minute of a least-squares line through the samples."""
    if len(rows) < 3:
        return None
    minutes = [row["t"] / 60 for row in rows]
    mib = [row[key] / MIB for row in rows]
    return statistics.linear_regression(minutes, mib).slope


def settled(row: dict) -> bool:
    """Every worker process up and past its start (a recycled one restarts smaller than the
    others and counts once it has grown back)."""
    sizes = list(row["workers_kib"].values())
    return len(sizes) == WORKERS and min(sizes) >= 0.9 * max(sizes)


def memory_summary(samples: list[dict], seconds: float) -> dict:
    """Median RSS in the first vs the last window of the load (a minute, or a third of shorter
    loads), and the slope of a line fitted after the warm-up (first imports and caches).
    Samples taken while a worker process was (re)starting are left out of both."""
    load = [row for row in samples if row["phase"] == "load"]
    steady = [row for row in load if settled(row)]
    window = min(60.0, seconds / 3)
    warmup = min(10.0, seconds / 10)
    first = [row for row in steady if row["t"] < window]
    last = [row for row in steady if row["t"] >= seconds - window]
    fitted = [row for row in steady if row["t"] >= warmup]
    pids = {pid for row in samples for pid in row["workers_kib"]}
    return {
        "window_s": window,
        "samples": len(samples),
        "load_samples": len(load),
        "load_samples_while_a_worker_started": len(load) - len(steady),
        "workers_first_mib": _median_mib(first, "sum_kib"),
        "workers_last_mib": _median_mib(last, "sum_kib"),
        "slope_fitted_after_s": warmup,
        "workers_slope_mib_per_min": _slope(fitted, "sum_kib"),
        "workers_peak_mib": max((row["sum_kib"] for row in load), default=0) / MIB,
        "largest_process_peak_mib": max((row["max_kib"] for row in load), default=0) / MIB,
        "largest_process_first_mib": _median_mib(first, "max_kib"),
        "largest_process_last_mib": _median_mib(last, "max_kib"),
        "largest_process_slope_mib_per_min": _slope(fitted, "max_kib"),
        "worker_pids_seen": len(pids),
        "main_process_first_mib": _median_mib(first, "main_kib"),
        "main_process_last_mib": _median_mib(last, "main_kib"),
        "api_first_mib": _median_mib(first, "api_kib"),
        "api_last_mib": _median_mib(last, "api_kib"),
        "api_slope_mib_per_min": _slope(fitted, "api_kib"),
    }


def source_state() -> dict:
    """The commit measured, and any uncommitted change to the app (others work here too)."""
    state: dict = {}
    with contextlib.suppress(Exception):
        git = ["git", "-C", str(ROOT)]
        state["commit"] = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True,
                                         text=True, check=True).stdout.strip()  # fmt: skip
        status = subprocess.run([*git, "status", "--porcelain", "--", "reference_app"],
                                capture_output=True, text=True, check=True).stdout  # fmt: skip
        state["uncommitted_app_files"] = [line[3:] for line in status.splitlines()]
    return state


# -- rendering ------------------------------------------------------------------------------
def _n(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def tables(results: dict) -> str:
    m, s = results["machine"], results["settings"]
    segments = results["segments"]
    window = segments[0]["memory"]["window_s"] if segments else 60
    shown = ", ".join(f"{k} {v}" for k, v in results["versions"].items() if k not in PEERS)
    lines = [
        f"Measured {results['date']} on {m['cores']} cores ({m['cpu_model']}), load average "
        f"{m['load_average_at_start'][0]:.2f} at the start (a machine shared with other work); "
        f"{s['rate']:g} `POST /reports` per second for {s['segment_seconds']:g} s per segment, "
        f"{s['worker_processes']} worker processes of concurrency {s['worker_concurrency']}, "
        f"{results['seconds'] / 60:.1f} minutes in all. Versions: {shown}.",
        "",
        "| Broker | Worker recycling | Requests | Answers | p50, ms | p99, ms | max, ms "
        "| Tasks done | Tasks/s | Enqueue to done, p99 ms | Lost | Run twice |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for seg in segments:
        r, t = seg["requests"], seg["tasks"]
        recycling = (f"every {seg['max_tasks_per_worker']} tasks "
                     f"({seg['worker_restarts']} restarts)"
                     if seg["max_tasks_per_worker"] else "off")  # fmt: skip
        answers = ", ".join(f"{n:,} × {code}" for code, n in sorted(r["statuses"].items()))
        lines.append(
            f"| `{seg['broker']}` | {recycling} | {r['sent']:,} | {answers} | {_n(r['p50_ms'])} | "
            f"{_n(r['p99_ms'])} | {_n(r['max_ms'], 0)} | {t['completed']:,} | "
            f"{_n(t['tasks_per_s'])} | {_n(t['enqueue_to_complete_p99_ms'], 0)} | "
            f"**{t['lost']}** | {t['run_twice']} |"
        )
    lines += [
        "",
        f"| Broker | Worker recycling | Workers' RSS, first {window:.0f} s (MiB) "
        f"| last {window:.0f} s | Slope, MiB/min | Largest process, peak MiB "
        "| Worker processes seen | API RSS, first → last (MiB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for seg in segments:
        mem = seg["memory"]
        recycling = f"every {seg['max_tasks_per_worker']}" if seg["max_tasks_per_worker"] else "off"
        lines.append(
            f"| `{seg['broker']}` | {recycling} | {_n(mem['workers_first_mib'])} | "
            f"{_n(mem['workers_last_mib'])} | {_n(mem['workers_slope_mib_per_min'], 2)} | "
            f"{_n(mem['largest_process_peak_mib'])} | {mem['worker_pids_seen']} | "
            f"{_n(mem['api_first_mib'])} → {_n(mem['api_last_mib'])} |"
        )
    if results.get("skipped"):
        lines += ["", "Skipped: " + "; ".join(f"{k}: {v}" for k, v in results["skipped"].items())]
    return "\n".join(lines) + "\n"


def plot(results: dict, path: Path) -> Path:
    import matplotlib  # the bench extra

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    colours = {"sqlite": "#2e7d32", "redis": "#c62828", "rabbitmq": "#ef6c00"}
    fig, (total, largest) = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    for seg in results["segments"]:
        rows = [row for row in seg["samples"] if row["sum_kib"]]
        t = [row["t"] for row in rows]
        style = {"color": colours.get(seg["broker"], "#555555"),
                 "linestyle": "--" if seg["max_tasks_per_worker"] else "-",
                 "linewidth": 1.2, "label": seg["label"]}  # fmt: skip
        total.plot(t, [row["sum_kib"] / MIB for row in rows], **style)
        largest.plot(t, [row["max_kib"] / MIB for row in rows], **style)
    load = results["settings"]["segment_seconds"]
    for ax, title in ((total, "All worker processes (sum of RSS)"),
                      (largest, "Largest worker process")):  # fmt: skip
        ax.axvline(load, color="#9e9e9e", linewidth=0.8, linestyle=":")
        ax.set_xlabel("seconds into the segment (dotted: load stops)")
        ax.set_ylabel("MiB")
        ax.set_ylim(0, ax.get_ylim()[1] * 1.25)  # room for the legend above the lines
        ax.set_title(title, fontsize=10)
    total.legend(fontsize=7, loc="upper left", ncol=2)
    m = results["machine"]
    fig.suptitle(f"Worker memory under {results['settings']['rate']:g} POST /reports per second "
                 f"({m['cores']} cores, {results['date'][:10]})", fontsize=11)  # fmt: skip
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_outputs(results: dict, out: Path | None) -> list[Path]:
    json_path, png, md = (RESULTS, PLOT, TABLES) if out is None else (
        out, out.with_suffix(".png"), out.with_suffix(".md"))  # fmt: skip
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=1) + "\n")
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(tables(results))
    return [json_path, md, plot(results, png)]


# -- the run --------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> dict:
    default_concurrency = Settings.model_fields["TASKIQ_WORKER_CONCURRENCY"].default
    parser = argparse.ArgumentParser()
    parser.add_argument("--segment-seconds", type=float, default=100.0, help="load per segment")
    parser.add_argument("--rate", type=float, default=50.0, help="POST /reports per second")
    parser.add_argument("--brokers", default=",".join(BROKERS), help="comma-separated")
    parser.add_argument(
        "--recycle",
        type=int,
        nargs="+",
        default=[0, 500],
        help="TASKIQ_MAX_TASKS_PER_WORKER of each segment (0: never)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=default_concurrency,
        help="TASKIQ_WORKER_CONCURRENCY (default: the app's)",
    )
    parser.add_argument(
        "--drain-deadline",
        type=float,
        default=150.0,
        help="s to wait after the load for every accepted report",
    )
    parser.add_argument("--sample-every", type=float, default=1.0)
    parser.add_argument("--progress-every", type=float, default=10.0)
    parser.add_argument("--out", type=Path, help="results here (and .png, .md beside it)")
    parser.add_argument("--render", type=Path, help="only render tables and plot from this JSON")
    args = parser.parse_args(argv)  # fmt: skip
    if args.render:
        results = json.loads(args.render.read_text())
        for seg in results["segments"]:  # derived from the samples: recomputed
            seg["memory"] = memory_summary(seg["samples"], seg["load_seconds"])
        for path in write_outputs(results, args.out):
            print(path)
        return results

    brokers = [b for b in args.brokers.split(",") if b]
    started = time.time()
    results: dict = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": machine(),
        "versions": versions(),
        "source": source_state(),
        "settings": {
            "rate": args.rate,
            "segment_seconds": args.segment_seconds,
            "route": "POST /reports",
            "body": BODY,
            "client": "open loop, httpx, one process, keep-alive",
            "worker_processes": WORKERS,
            "worker_concurrency": args.concurrency,
            "max_tasks_per_worker": args.recycle,
            "drain_deadline_s": args.drain_deadline,
            "sample_every_s": args.sample_every,
            "redis_db": REDIS_DB,
            "memory": "VmRSS of each taskiq worker process (children of the main one)",
        },
        "segments": [],
        "skipped": {},
    }
    total = len(brokers) * len(args.recycle)
    print(f"Soak: {total} segments of {args.segment_seconds:g} s at {args.rate:g} requests/s "
          f"(about {total * (args.segment_seconds + 10) / 60:.0f} min)", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="soak-") as work:
        for broker in brokers:
            if broker != "sqlite" and not available(broker):
                results["skipped"][broker] = "server not reachable"
                print(f"  {broker}: skipped (server not reachable)", flush=True)
                continue
            for recycle in args.recycle:
                segment = Segment(broker, recycle, args, Path(work))
                print(f"Segment {len(results['segments']) + 1}/{total}: {segment.label}",
                      flush=True)  # fmt: skip
                try:
                    row = segment.run()
                except Exception as exc:  # one broken segment must not cost the whole run
                    results["skipped"][segment.label] = f"failed: {str(exc)[:2000]}"
                    print(f"  FAILED: {str(exc)[:2000]}", flush=True)
                    continue
                results["segments"].append(row)
                r, t, mem = row["requests"], row["tasks"], row["memory"]
                print(f"  done: {r['sent']:,} requests {r['statuses']}, p50 {_n(r['p50_ms'])} "
                      f"ms, p99 {_n(r['p99_ms'])} ms; {t['completed']:,} tasks done, lost "
                      f"{t['lost']}, run twice {t['run_twice']}; workers' RSS "
                      f"{_n(mem['workers_first_mib'])} -> {_n(mem['workers_last_mib'])} MiB, "
                      f"slope {_n(mem['workers_slope_mib_per_min'], 2)} MiB/min; drain "
                      f"{row['drain_seconds']:.1f} s", flush=True)  # fmt: skip
    results["seconds"] = round(time.time() - started, 1)
    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    for path in write_outputs(results, args.out):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    print(f"Done in {results['seconds'] / 60:.1f} min.")
    return results


if __name__ == "__main__":
    main()
