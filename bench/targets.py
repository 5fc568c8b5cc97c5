"""The eight targets of issue 8, read from a run's results, and how they are printed.

Each target is a ratio or a figure with a goal; a few rows are context, not targets.
``bench.run`` prints the rows at the end of a run and stores them under ``"targets"`` in its
JSON, where ``bench.plots`` reads them for the page's table.
"""

from __future__ import annotations


# --8<-- [start:targets]
def targets(results: dict) -> list[dict]:
    """Each target of issue 8: the measured ratio, the goal, met or not (None: not measured)."""
    drain = {name: r["tasks_per_s"]["median"] for name, r in results["throughput"].items()}
    rows = []

    def add(target: str, value: float | None, goal: float, higher: bool = True,
            context: bool = False) -> None:  # fmt: skip
        met = None if value is None else (value >= goal if higher else value <= goal)
        rows.append({"target": target, "measured": value, "goal": goal,
                     "higher_is_better": higher, "met": met, "context": context})  # fmt: skip

    def ratio(a: str, b: str) -> float | None:
        return drain[a] / drain[b] if a in drain and b in drain else None

    add("redis: ours / raw redis-py floor", ratio("redis-stream", "floor-redis"), 0.60)
    # Not a target of its own: the same floor on the asyncio client, which any asyncio task
    # framework (taskiq included) must use; it shows how much of the gap is that client's.
    add("redis: ours / asyncio redis-py floor", ratio("redis-stream", "floor-redis-async"),
        0.60, context=True)  # fmt: skip
    add("redis: ours / Celery", ratio("redis-stream", "celery"), 4.0)
    add("rabbitmq: ours / bare AioPikaBroker", ratio("rabbitmq", "taskiq-aiopika"), 0.90)
    add("sqlite: ours / Huey SqliteHuey", ratio("sqlite", "huey-sqlite"), 1.0)
    p99 = None
    for row in results["latency"].get("sqlite", []):
        if row["rate"] == 200:
            p99 = row["p99_ms"]
    add("sqlite: p99 enqueue-to-start at 200/s (ms)", p99, 50.0, higher=False)
    sqlite = results["throughput"].get("sqlite")
    add("sqlite: enqueue from one producer (tasks/s)",
        sqlite["enqueue_per_s"]["median"] if sqlite else None, 2000.0)  # fmt: skip
    # What .kiq() adds to one request: read with one request in flight, where latency is the
    # request's own work. With 4 in flight on cores shared with the load generator, each
    # request also waits behind the others, so the difference multiplies: shown as context.
    serial = results.get("request_path_one_in_flight", {})
    for broker in ("redis", "sqlite"):
        for requests, context, label in (
            (serial, False, "1 in flight"),
            (results["request_path"], True, "4 in flight"),
        ):
            request = requests.get(broker)
            add(f"{broker}: enqueue adds to POST /reports p50, {label} (ms)",
                request["enqueue_adds_p50_ms"] if request else None, 1.0, higher=False,
                context=context)  # fmt: skip
    return rows


# --8<-- [end:targets]


def print_targets(rows: list[dict]) -> None:
    print("\nTargets of issue 8:")
    for row in rows:
        sign = ">=" if row["higher_is_better"] else "<="
        if row["measured"] is None:
            print(f"  {row['target']:48} not measured (goal {sign} {row['goal']:g})")
            continue
        mark = "met" if row["met"] else "MISSED"
        if row.get("context"):
            mark += " (context, not a target)"
        print(f"  {row['target']:48} {row['measured']:9.2f}  (goal {sign} {row['goal']:g})  "
              f"{mark}")  # fmt: skip
