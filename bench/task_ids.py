"""What a task id's shape costs SQLite: random ids (taskiq's ``uuid4().hex``) against ids that
sort by time (ours, ``new_task_id``: UUIDv7), stored as results are stored.

    python -m bench.task_ids                  # 30,000 results per kind, commits of 50
    python -m bench.task_ids --rows 2000      # quick

Each kind gets a fresh SQLite file with the broker's ``taskiq_results`` table, and the rows go
in as ``SQLiteBroker`` writes them: ``store_results`` in one transaction per commit of 50.
Checkpoints are off while it runs, so the write-ahead log's size tells how many pages the
commits rewrote. Printed: CPU µs per row over the last third (the table is large by then), and
the pages each commit wrote to the WAL.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from taskiq_extras.result_backend import store_results
from taskiq_extras.sqlite_broker import SCHEMA
from taskiq_extras.task_ids import new_task_id

KINDS: dict[str, Callable[[], str]] = {
    "uuid4 (taskiq's)": lambda: uuid.uuid4().hex,
    "uuid7 (ours)": new_task_id,
}
PAYLOAD = (  # what a no-op task's result looks like
    '{"is_err":false,"log":null,"return_value":null,"execution_time":0.0,"labels":{},"error":null}'
)


def store(kind: str, rows: int, batch: int, work: Path) -> dict:
    path = work / f"{kind.split()[0]}.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA wal_autocheckpoint=0")  # keep every page written, to count them
    db.executescript(SCHEMA)
    page = db.execute("PRAGMA page_size").fetchone()[0]
    wal = Path(f"{path}-wal")
    wal_start = wal.stat().st_size
    make_id, seconds, commits = KINDS[kind], [], rows // batch
    for write in range(1, commits + 1):
        items = [(make_id(), PAYLOAD, time.time() + 3600) for _ in range(batch)]
        started = time.process_time()
        db.execute("BEGIN IMMEDIATE")
        store_results(db, items, write)
        db.execute("COMMIT")
        seconds.append(time.process_time() - started)
    last = seconds[len(seconds) * 2 // 3 :]
    pages = (wal.stat().st_size - wal_start) / (page + 24)  # a WAL frame: header + page
    db.close()
    return {
        "cpu_us_per_row_last_third": sum(last) / (len(last) * batch) * 1e6,
        "cpu_us_per_row": sum(seconds) / (commits * batch) * 1e6,
        "wal_pages_per_commit": pages / commits,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    results: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    print(f"Storing {args.rows:,} results in commits of {args.batch}, per id kind", flush=True)
    for _ in range(args.repeats):
        for kind in KINDS:  # alternated, so a slow moment does not land on one kind only
            with tempfile.TemporaryDirectory(prefix="bench-ids-") as work:
                result = store(kind, args.rows, args.batch, Path(work))
            results[kind].append(result)
            print(f"  {kind:17} {result['cpu_us_per_row_last_third']:6.1f} µs per row "
                  f"(last third), {result['wal_pages_per_commit']:5.1f} pages per commit",
                  flush=True)  # fmt: skip
    print(json.dumps({"rows": args.rows, "batch": args.batch, **results}))
    return results


if __name__ == "__main__":
    main()
