"""Outages of the app's database (issue: reports lost for good after a 20-second blip).

The workers reach PostgreSQL through a proxy that the test cuts for 20 seconds while reports
are being processed, on each broker: every report completes, none stays processing. A
report whose message is lost, or whose run stopped, is found by the sweep and run again, or
failed with the reason once it was tried enough."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from reference_app.infrastructure.database import create_engine_from_settings
from reference_app.migrate import upgrade
from reference_app.modules.reports.models import Report, ReportStatus, utcnow
from tests.support.fault_records import record
from tests.support.postgres import HOST, PORT
from tests.support.producer import kick, producer
from tests.support.tcp_proxy import CuttableProxy
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]
CUT_SECONDS = 20


def test_a_20_second_database_cut_loses_no_report(
    broker_env, postgres_url, start_api, start_worker, record_property
):
    with CuttableProxy(HOST, PORT) as proxy:
        through_proxy = postgres_url.replace(f"{HOST}:{PORT}", f"127.0.0.1:{proxy.port}")
        # The API reads the database directly; the workers' link is the one that breaks.
        api = start_api(broker_env, DATABASE_URL=postgres_url)
        # Retries wait 1, 2, 4, then 5 s each (the default caps at 60): done soon after.
        start_worker(broker_env, DATABASE_URL=through_proxy, TASKIQ_RETRY_DELAY=1,
                     TASKIQ_RETRY_MAX_DELAY=5, TASKIQ_WORKER_CONCURRENCY=4)  # fmt: skip
        with api.client() as client:
            ids = [client.post("/reports", json={"title": f"r{n}", "values": [1, 2, n],
                                                 "delay_ms": 2000}).json()["id"]
                   for n in range(3)]  # fmt: skip

            def statuses() -> list[str]:
                return [client.get(f"/reports/{i}").json()["status"] for i in ids]

            wait_for(lambda: statuses() == ["processing"] * 3, timeout=30, what="3 running")
            proxy.cut()  # they finish their work while the database is unreachable
            cut_at = time.monotonic()
            wait_for(lambda: time.monotonic() - cut_at >= CUT_SECONDS, timeout=CUT_SECONDS + 5,
                     interval=0.5, what="the end of the cut")  # fmt: skip
            assert statuses() == ["processing"] * 3  # nothing could be written meanwhile
            proxy.restore()
            wait_for(lambda: statuses() == ["complete"] * 3, timeout=90,
                     what="every report complete after the cut")  # fmt: skip
            after = round(time.monotonic() - cut_at - CUT_SECONDS, 1)
            record_property("seconds_after_restore", after)
            runs = [client.get(f"/reports/{i}").json()["runs"] for i in ids]
    assert all(count >= 2 for count in runs), runs  # each was retried after the cut
    record(broker_env.broker_type, "database_cut", {"tasks": len(ids), "lost": 0,
           "rerun_after_redelivery": len(ids), "seconds_after_restore": after})  # fmt: skip


async def _lost_reports(url: str) -> list[int]:
    """Reports whose messages are gone: queued 10 minutes ago, processing for 30 (a run that
    died after the broker gave up on its message), and one enqueued again 3 times already."""
    engine = create_engine_from_settings(url)
    past, long_ago = utcnow() - timedelta(minutes=10), utcnow() - timedelta(minutes=30)
    rows = [Report(title="queued", values=[1, 2], status=ReportStatus.QUEUED, created_at=past),
            Report(title="stuck", values=[3], status=ReportStatus.PROCESSING, task_id="gone",
                   created_at=long_ago, started_at=long_ago, runs=1),
            Report(title="hopeless", values=[4], status=ReportStatus.PROCESSING, task_id="gone",
                   created_at=long_ago, started_at=long_ago, runs=4, requeues=3)]  # fmt: skip
    async with async_sessionmaker(engine, expire_on_commit=False)() as db:
        db.add_all(rows)
        await db.commit()
    await engine.dispose()
    return [row.id for row in rows]


async def _reports(url: str) -> list[tuple[str, str | None, int]]:
    engine = create_engine_from_settings(url)
    async with async_sessionmaker(engine)() as db:
        found = (await db.execute(select(Report).order_by(Report.id))).scalars().all()
        result = [(r.status, r.error, r.requeues) for r in found]
    await engine.dispose()
    return result


def test_reports_left_queued_or_processing_are_run_again_then_failed_with_the_reason(
    broker_env, start_worker
):
    """Nothing stays queued or processing forever: the sweep (every minute, by the
    scheduler; sent by hand here) enqueues such reports again, and fails one that was
    enqueued too often already, saying why."""
    url = broker_env.settings().DATABASE_URL
    upgrade(url)
    ids = asyncio.run(_lost_reports(url))
    start_worker(broker_env)

    async def sweep():
        async with producer(broker_env) as broker:
            return await (await kick(broker, "sweep_reports")).wait_result(timeout=30)

    swept = asyncio.run(sweep())
    assert not swept.is_err, swept.error
    assert (sorted(swept.return_value["requeued"]), swept.return_value["failed"]) == (
        ids[:2], [ids[2]])  # fmt: skip
    done = wait_for(lambda: (r := asyncio.run(_reports(url)))[0][0] == r[1][0] == "complete"
                    and r, timeout=30, what="the re-run reports")  # fmt: skip
    assert [requeues for _, _, requeues in done] == [1, 1, 3]
    status, error, _ = done[2]
    assert status == "failed" and error.startswith("processing for too long, 3 times")
