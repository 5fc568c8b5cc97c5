"""The soak harness still runs: one short segment on the embedded broker, with recycling."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_short_soak_loses_nothing_and_samples_memory(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")  # it draws the plot too
    out = tmp_path / "soak.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--brokers", "sqlite", "--segment-seconds", "5",
         "--rate", "20", "--recycle", "20", "--drain-deadline", "60", "--out", str(out)],
        cwd=ROOT, timeout=120, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["machine"]["cores"] >= 1 and results["versions"]["taskiq"]
    (segment,) = results["segments"]
    assert segment["requests"]["statuses"] == {"202": segment["requests"]["sent"]}
    tasks = segment["tasks"]
    assert tasks["accepted"] > 0 and tasks["lost"] == 0
    assert tasks["completed"] == tasks["accepted"]
    assert segment["worker_restarts"] >= 1  # 20 tasks per worker process, then a new one
    samples = segment["samples"]
    assert len(samples) >= 4 and any(row["sum_kib"] > 0 for row in samples)
    assert segment["memory"]["workers_first_mib"] > 0
    assert out.with_suffix(".png").stat().st_size > 0
    assert "| `sqlite` |" in out.with_suffix(".md").read_text()
