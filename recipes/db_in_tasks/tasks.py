"""Tasks that read and write rows through the session ``get_db_session`` gives each task."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import TaskiqDepends

from recipes.db_in_tasks.models import Note
from reference_app.infrastructure.taskiq import email_broker, register_task
from reference_app.infrastructure.taskiq.deps import get_db_session


class NoteNotFoundError(LookupError):
    pass


# --8<-- [start:count_words]
@email_broker.task(task_name="db_in_tasks.count_words")
async def count_words(note_id: int, db: AsyncSession = TaskiqDepends(get_db_session)) -> int:
    """Gets an id, loads the row in its own session; the session commits when it returns."""
    note = await db.get(Note, note_id)
    if note is None:
        raise NoteNotFoundError(f"note {note_id} does not exist")
    note.word_count = len(note.text.split())
    note.status = "counted"
    return note.word_count


register_task("db_in_tasks.count_words", "email_broker", count_words)
# --8<-- [end:count_words]


# --8<-- [start:rollback]
@email_broker.task(task_name="db_in_tasks.archive_then_fail")
async def archive_then_fail(note_id: int, db: AsyncSession = TaskiqDepends(get_db_session)) -> None:
    """Changes the row, then raises: the session rolls back, the row stays as it was."""
    note = await db.get(Note, note_id)
    if note is None:
        raise NoteNotFoundError(f"note {note_id} does not exist")
    note.status = "archived"
    await db.flush()  # sent to the database, inside the task's transaction
    raise RuntimeError(f"archiving note {note_id} failed half-way")


register_task("db_in_tasks.archive_then_fail", "email_broker", archive_then_fail)
# --8<-- [end:rollback]


@email_broker.task(task_name="db_in_tasks.pool_kind")
async def pool_kind(db: AsyncSession = TaskiqDepends(get_db_session)) -> str:
    """The connection pool of the tasks' engine, as the worker sees it."""
    return type(db.get_bind().pool).__name__


register_task("db_in_tasks.pool_kind", "email_broker", pool_kind)
