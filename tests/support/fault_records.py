"""Numbers the fault tests measure, kept in build/faults/<broker>.json for the docs' table
(`python -m bench.faults_table` turns them into docs/includes/faults.md)."""

from __future__ import annotations

import json
import time

from tests.support.processes import ROOT

FAULTS = ROOT / "build" / "faults"


def record(broker_type: str, scenario: str, numbers: dict) -> None:
    out = FAULTS / f"{broker_type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(out.read_text()) if out.exists() else {}
    data[scenario] = {**numbers, "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    out.write_text(json.dumps(data, indent=2, sort_keys=True))
