"""Two tasks to schedule: one with a schedule label, one scheduled at run time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reference_app.infrastructure.taskiq import email_broker


# --8<-- [start:label]
@email_broker.task(
    task_name="scheduling.morning_digest",
    # Read by the scheduler process: 07:00 on weekdays, Paris time (summer time included).
    schedule=[
        {
            "cron": "0 7 * * mon-fri",
            "cron_offset": "Europe/Paris",
            "schedule_id": "scheduling.morning_digest",  # stable, so ticks can be told apart
        }
    ],
)
async def morning_digest() -> str:
    return f"digest built at {datetime.now(UTC):%H:%M:%S} UTC"


# --8<-- [end:label]


# --8<-- [start:remind]
@email_broker.task(task_name="scheduling.remind")
async def remind(text: str) -> dict[str, Any]:
    return {"text": text, "ran_at": datetime.now(UTC).isoformat(timespec="milliseconds")}


# --8<-- [end:remind]
