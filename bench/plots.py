"""Render the plots of the performance page from ``bench/results/latest.json``.

    python -m bench.plots [results.json] [--out docs/assets/bench]

Needs matplotlib (the ``bench`` extra). Writes PNG files, and the page's tables as a markdown
fragment (``docs/includes/bench.md``), so the page always shows the numbers of the plots.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[1]
MAIN = ["floor-redis", "floor-redis-async", "floor-amqp", "taskiq-listqueue", "taskiq-stream",
        "taskiq-aiopika", "taskiq-aiopika-classic", "redis-stream", "rabbitmq", "sqlite",
        "huey-sqlite", "celery"]  # fmt: skip
LAYERS = ["layers-bare", "layers-runs", "layers-runs-db", "redis-stream"]
COLOURS = {"ours": "#2e7d32", "floor": "#9e9e9e", "peer": "#1565c0", "taskiq": "#ef6c00"}


def colour(name: str) -> str:
    if name.startswith("floor"):
        return COLOURS["floor"]
    if name.startswith(("celery", "huey")):
        return COLOURS["peer"]
    if name.startswith("taskiq"):
        return COLOURS["taskiq"]
    return COLOURS["ours"]


def bars(ax, data: dict, names: list[str], title: str) -> None:
    names = [n for n in names if n in data]
    medians = [data[n]["tasks_per_s"]["median"] for n in names]
    low = [m - data[n]["tasks_per_s"]["min"] for n, m in zip(names, medians, strict=True)]
    high = [data[n]["tasks_per_s"]["max"] - m for n, m in zip(names, medians, strict=True)]
    ax.barh(names, medians, xerr=[low, high], color=[colour(n) for n in names], capsize=3)
    for y, (value, above) in enumerate(zip(medians, high, strict=True)):
        ax.text(value + above, y, f" {value:,.0f}", va="center", fontsize=8)  # past the bar
    ax.invert_yaxis()
    ax.set_xlabel("tasks/s (median; bars: min to max)")
    ax.set_title(title)


def render(results: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    machine = f"{results['machine']['cores']} cores, {results['date'][:10]}"
    written = []
    throughput = results["throughput"]

    fig, ax = plt.subplots(figsize=(9, 5))
    bars(ax, throughput, MAIN, f"Drain of N={results['settings']['tasks']:,} no-op tasks, "
         f"2 worker processes ({machine})")  # fmt: skip
    fig.tight_layout()
    written.append(out / "throughput.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)

    # In-memory (no queue at all, far above the rest) is left to the table: it would flatten
    # the bars.
    others = ["sqlite", "redis-stream", "rabbitmq"]
    others += [n for n in throughput if n not in MAIN and n != "inmemory"]
    if others:
        fig, ax = plt.subplots(figsize=(9, 0.45 * len(others) + 1.5))
        bars(ax, throughput, others, "Our layers and prototypes (same drain)")
        fig.tight_layout()
        written.append(out / "layers.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)

    if results["latency"]:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for name, rows in results["latency"].items():
            rates = [row["rate"] for row in rows]
            line = ax.plot(rates, [row["p50_ms"] for row in rows], marker="o", label=f"{name} p50")
            ax.plot(rates, [row["p99_ms"] for row in rows], marker="x", linestyle="--",
                    color=line[0].get_color(), label=f"{name} p99")  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("enqueue rate (tasks/s)")
        ax.set_ylabel("enqueue to start (ms)")
        ax.set_title(f"Latency at fixed rates ({machine})")
        ax.legend(fontsize=8)
        fig.tight_layout()
        written.append(out / "latency.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)

    if results["request_path"]:
        fig, ax = plt.subplots(figsize=(8, 5))
        labels, p50, p99 = [], [], []
        for flight, row, broker in _request_rows(results):
            for key, text in (("row_only", "row only"), ("row_and_enqueue", "row + .kiq()")):
                labels.append(f"{broker}, {flight} in flight: {text}")
                p50.append(row[key]["p50_ms"])
                p99.append(row[key]["p99_ms"])
        y = range(len(labels))
        ax.barh([i - 0.2 for i in y], p50, height=0.4, label="p50", color="#2e7d32")
        ax.barh([i + 0.2 for i in y], p99, height=0.4, label="p99", color="#a5d6a7")
        ax.set_yticks(list(y), labels)
        ax.invert_yaxis()
        ax.set_xlabel("ms per POST /reports (1 or 4 requests in flight, loopback)")
        ax.set_title(f"The cost of enqueueing in a request ({machine})")
        ax.legend()
        fig.tight_layout()
        written.append(out / "request_path.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    return written


def _request_rows(results: dict) -> list[tuple[int, dict, str]]:
    """(requests in flight, row, broker) of the request path; runs before 2026-11-29 06:00
    measured 4 in flight only."""
    serial = results.get("request_path_one_in_flight", {})
    rows = [(1, row, broker) for broker, row in serial.items()]
    return rows + [(4, row, broker) for broker, row in results["request_path"].items()]


def _number(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "not measured"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.{digits}f}"


def tables(results: dict) -> str:
    """The performance page's tables (markdown), from the same JSON as the plots."""
    m = results["machine"]
    lines = [
        f"Measured {results['date']} on {m['cores']} cores ({m['cpu_model']}), load average "
        f"{m['load_average_at_start'][0]:.2f} at the start; N = {results['settings']['tasks']:,} "
        f"tasks per drain, {results['settings']['worker_processes']} worker processes, "
        f"{results['settings']['repeats']} runs per case (one for drains longer than "
        f"{results['settings'].get('single_run_if_drain_longer_than_s', 5):g} s and for "
        "prototypes). Versions: "
        + ", ".join(f"{k} {v}" for k, v in results["versions"].items())
        + ".",
        "",
        "| Target (issue 8) | Goal | Measured | |",
        "|---|---|---|---|",
    ]
    for row in results["targets"]:
        sign = ">=" if row["higher_is_better"] else "<="
        mark = {True: "met", False: "**missed**", None: "not measured"}[row["met"]]
        if row.get("context"):
            mark = "context, not a target"
        lines.append(
            f"| {row['target']} | {sign} {row['goal']:g} | {_number(row['measured'])} | {mark} |"
        )
    lines += [
        "",
        "| Case | What runs | Drain, tasks/s (median) | min to max | Worker CPU, µs/task "
        "| Enqueue, tasks/s |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in results["throughput"].items():
        t = row["tasks_per_s"]
        lines.append(
            f"| `{name}` | {row['about']} | {t['median']:,.0f} | {t['min']:,.0f} to "
            f"{t['max']:,.0f} | {row['worker_cpu_us_per_task']:,.0f} | "
            f"{row['enqueue_per_s']['median']:,.0f} |"
        )
    layers = results.get("layers_in_process")  # not in runs before 2026-11-29 09:00
    if layers:
        lines += [
            "",
            "| Layers, in-process (`bench.layers`) | What runs | Worker CPU, µs/task "
            "| Against `floor` |",
            "|---|---|---|---|",
        ]
        for name, row in layers.items():
            ratio = row.get("cost_vs_floor")
            lines.append(
                f"| `{name}` | {row['about']} | {row['cpu_us_per_task']:,.0f} | "
                f"{'' if ratio is None else f'{ratio:.2f}×'} |"
            )
    if results["latency"]:
        lines += ["", "| Broker (ours) | Rate, tasks/s | p50, ms | p99, ms |", "|---|---|---|---|"]
        for name, rows in results["latency"].items():
            for row in rows:
                saturated = " (saturated)" if row.get("saturated") else ""
                lines.append(
                    f"| `{name}` | {row['rate']:g}{saturated} | {row['p50_ms']:.1f} | "
                    f"{row['p99_ms']:.1f} |"
                )
    if results["request_path"]:
        lines += [
            "",
            "| Broker | In flight | Route | p50, ms | p99, ms | requests/s "
            "| server CPU, ms/request |",
            "|---|---|---|---|---|---|---|",
        ]
        for flight, row, broker in _request_rows(results):
            for key in ("row_only", "row_and_enqueue"):
                r = row[key]
                cpu = r.get("server_cpu_ms_per_request")  # not in runs before 2026-11-29 03:40
                lines.append(
                    f"| {broker} | {flight} | `POST {r['path']}` | {r['p50_ms']:.2f} | "
                    f"{r['p99_ms']:.2f} | {r['requests_per_s']:,.0f} | "
                    f"{'' if cpu is None else f'{cpu:.2f}'} |"
                )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("results", nargs="?", type=Path,
                        default=ROOT / "bench" / "results" / "latest.json")  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "assets" / "bench")
    parser.add_argument("--tables", type=Path, default=ROOT / "docs" / "includes" / "bench.md")
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    args.tables.write_text(tables(results))
    for path in [*render(results, args.out), args.tables]:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
