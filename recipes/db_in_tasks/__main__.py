"""python -m recipes.db_in_tasks: a task that commits, one that rolls back, a refused row."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import async_sessionmaker
from taskiq.exceptions import SendTaskError

from recipes.db_in_tasks.models import Note
from recipes.db_in_tasks.tasks import archive_then_fail, count_words, pool_kind
from reference_app.infrastructure.config import get_settings
from reference_app.infrastructure.database import create_engine_from_settings, create_tables
from reference_app.infrastructure.taskiq import email_broker, run_worker
from taskiq_extras.processes import worker_process


async def main() -> None:
    engine = create_engine_from_settings(get_settings().DATABASE_URL)
    await create_tables(engine)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as db:  # the web side: create a row, commit, then enqueue its id
        note = Note(text="tasks get their own database session")
        db.add(note)
        await db.commit()
    await email_broker.startup()
    try:
        with worker_process(run_worker, "recipes.db_in_tasks.tasks"):
            # --8<-- [start:kiq]
            counted = await (await count_words.kiq(note_id=note.id)).wait_result(timeout=30)
            failed = await (await archive_then_fail.kiq(note_id=note.id)).wait_result(timeout=30)
            # --8<-- [end:kiq]
            print(f"count_words({note.id}) -> {counted.return_value} words (committed)")
            print(f"archive_then_fail({note.id}) -> error: {failed.error}")
            print("(the worker logs that error's traceback on stderr: expected)")
            pool = (await (await pool_kind.kiq()).wait_result(timeout=30)).return_value
            print(f"the worker's task engine uses {pool}")
        # --8<-- [start:mistake]
        try:
            await count_words.kiq(note_id=note)  # the row itself instead of its id
        except TypeError as exc:  # TaskArgumentError: the extras' JSON check names the argument
            print(f"refused: {exc}")
        except SendTaskError as exc:  # stock taskiq: the reason is in the cause
            print(f"refused: {exc} ({exc.__cause__})")
        # --8<-- [end:mistake]
    finally:
        await email_broker.shutdown()
    async with sessions() as db:
        row = await db.get(Note, note.id)
        print(f"row {row.id}: status={row.status!r}, word_count={row.word_count}: the count was")
        print("committed; the failed task's 'archived' was rolled back")
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
