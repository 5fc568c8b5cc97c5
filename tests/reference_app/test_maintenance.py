"""The nightly clean-up: what it deletes, when it is due, and a bad schedule refused at start."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from taskiq.schedule_sources import LabelScheduleSource

from reference_app.infrastructure.database import create_engine_from_settings, create_tables
from reference_app.infrastructure.taskiq import email_broker
from reference_app.modules.maintenance.tasks import purge_old_reports
from reference_app.modules.reports.models import Report, ReportStatus, utcnow
from tests.support.brokers import BrokerEnv
from tests.support.processes import ROOT


async def test_only_old_finished_reports_are_purged(tmp_path):
    engine = create_engine_from_settings(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    await create_tables(engine)
    old, recent = utcnow() - timedelta(days=31), utcnow() - timedelta(days=29)
    rows = {
        "old-complete": (ReportStatus.COMPLETE, old),
        "old-failed": (ReportStatus.FAILED, old),
        "old-queued": (ReportStatus.QUEUED, old),  # not finished: never purged
        "recent-complete": (ReportStatus.COMPLETE, recent),
    }
    async with async_sessionmaker(engine, expire_on_commit=False)() as db:
        db.add_all(Report(title=title, values=[1], status=status, created_at=created)
                   for title, (status, created) in rows.items())  # fmt: skip
        await db.commit()
        outcome = await purge_old_reports(keep_days=30, db=db)
        left = (await db.execute(select(Report.title).order_by(Report.title))).scalars().all()
    await engine.dispose()
    assert outcome == {"deleted": 2, "keep_days": 30}
    assert left == ["old-queued", "recent-complete"]


async def test_the_nightly_label_is_read_by_the_scheduler():
    labels = LabelScheduleSource(email_broker)
    await labels.startup()
    [purge] = [s for s in await labels.get_schedules() if s.task_name == "purge_old_reports"]
    assert (purge.cron, purge.cron_offset, purge.schedule_id) == (
        "30 3 * * *", "UTC", "purge_old_reports")  # fmt: skip


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [("MAINTENANCE_CLEANUP_CRON", "30 25 * * *", "hour '25' is not in 0-23"),
     ("MAINTENANCE_TIMEZONE", "Europe/Pariss", "unknown time zone 'Europe/Pariss'")],
)  # fmt: skip
def test_a_bad_nightly_schedule_stops_the_scheduler_with_one_line(tmp_path, setting, value, says):
    env = BrokerEnv("sqlite", tmp_path).process_env(**{setting: value})
    command = [sys.executable, "-m", "reference_app.infrastructure.taskiq.run_scheduler"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert says in done.stderr and setting in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
