"""Numbers the fault tests measure, kept in build/faults/<broker>.json for the docs' table
(`python -m bench.faults_table` turns them into docs/includes/faults.md)."""

from __future__ import annotations

import fcntl
import json
import time

from tests.support.processes import ROOT

FAULTS = ROOT / "build" / "faults"


def record(broker_type: str, scenario: str, numbers: dict) -> None:
    out = FAULTS / f"{broker_type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    # Tests run in parallel (pytest-xdist): one read-modify-write at a time per file.
    with open(out.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(out.read_text()) if out.exists() else {}
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        data[scenario] = {**numbers, "measured_at": stamp}
        out.write_text(json.dumps(data, indent=2, sort_keys=True))
