"""Render the fault suite's measurements (build/faults/*.json) as the docs' table.

make bench-faults    # runs the fault tests (they write build/faults/<broker>.json), then
python -m bench.faults_table   # writes docs/includes/faults.md
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "build" / "faults"
TARGET = ROOT / "docs" / "includes" / "faults.md"

SCENARIOS = {
    "sigkill_mid_batch": ("Worker SIGKILLed after 20 of 200 tasks, a new worker started",
                          "seconds_to_finish_after_restart"),
    "sigkill_random_processes": ("One of 2 worker processes SIGKILLed at 3 random points "
                                 "of 1,000 tasks; taskiq starts a new one", "seconds_to_finish"),
    "sigterm_main_process": ("SIGTERM to the worker's main process (`docker stop`)",
                             "exit_seconds"),
    "sigterm_process_group": ("SIGTERM to the whole process group (Ctrl-C)", "exit_seconds"),
    "broker_outage": ("Redis stopped while serving, started again",
                      "seconds_to_finish_backlog"),
    "broker_restart": ("RabbitMQ node stopped and started again mid-run (quorum queue)",
                       "seconds_to_finish_backlog"),
    "database_cut": ("The workers' PostgreSQL link cut for 20 s mid-report (3 reports)",
                     "seconds_after_restore"),
    "sigstop_worker": ("Worker SIGSTOPped mid-report (3 s lease, 2 s heartbeat, 4 s of work)",
                       "seconds_to_complete"),
}  # fmt: skip


def render() -> str:
    lines = [
        "| Broker | Fault | Tasks | Lost | Started again | Time | Measured |",
        "|---|---|---|---|---|---|---|",
    ]
    for path in sorted(SOURCE.glob("*.json")):
        data = json.loads(path.read_text())
        for key, (label, time_key) in SCENARIOS.items():
            if key not in data:
                continue
            row = data[key]
            seconds = row.get(time_key)
            what = {"exit_seconds": "to exit", "seconds_to_finish_after_restart": "to finish",
                    "seconds_to_finish_backlog": "to finish the backlog",
                    "seconds_to_finish": "for the whole run",
                    "seconds_after_restore": "to finish after the link returned",
                    "seconds_to_complete": "to finish after the freeze"}[time_key]  # fmt: skip
            lines.append(
                f"| `{path.stem}` | {label} | {row['tasks']} | {row['lost']} | "
                f"{row.get('rerun_after_redelivery', 0)} | {seconds} s {what} | "
                f"{row.get('measured_at', '')} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(render())
    print(TARGET.read_text())
