"""Users' data access, free of HTTP and of taskiq."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reference_app.modules.users.models import User


class EmailTakenError(ValueError):
    pass


async def create(db: AsyncSession, *, email: str, name: str, password_hash: str | None) -> User:
    if await get_by_email(db, email) is not None:
        raise EmailTakenError(f"{email} is already signed up")
    user = User(email=email.lower(), name=name, password_hash=password_hash)
    db.add(user)
    try:
        await db.commit()
    except IntegrityError:  # signed up by another request between our check and our insert
        await db.rollback()
        raise EmailTakenError(f"{email} is already signed up") from None
    return user


async def get(db: AsyncSession, user_id: int) -> User | None:
    return await db.get(User, user_id)


async def get_by_email(db: AsyncSession, email: str) -> User | None:
    return await db.scalar(select(User).where(User.email == email.lower()))


async def mark_verified(db: AsyncSession, user_id: int) -> None:
    await db.execute(update(User).where(User.id == user_id).values(is_verified=True))
    await db.commit()


async def replace_password_hash(
    db: AsyncSession, user_id: int, old_hash: str | None, new_hash: str
) -> bool:
    """Set the new hash only if the old one is still there; False if it changed meanwhile.

    One conditional UPDATE: of two requests with the same reset link, the database lets one
    change the row, and the other finds the old hash gone (0 rows), however close they come.
    """
    unchanged = User.password_hash.is_(None) if old_hash is None else User.password_hash == old_hash
    result = await db.execute(
        update(User)
        .where(User.id == user_id, unchanged)
        .values(password_hash=new_hash)
        .execution_options(synchronize_session=False)
    )
    await db.commit()
    return result.rowcount == 1


# --8<-- [start:active_batches]
async def active_user_batches(
    sessions: async_sessionmaker[AsyncSession], batch_size: int
) -> AsyncIterator[list[tuple[int, str, str]]]:
    """(id, email, name) of every active user, ``batch_size`` rows at a time.

    Keyset pagination (``id > last id``): each query reads one batch through the primary key
    index, however far along it is, and no more than one batch is in memory. Each batch is
    read in a short session of its own, so no transaction stays open during a long send.
    """
    last_id = 0
    while True:
        async with sessions() as db:
            rows = (
                await db.execute(
                    select(User.id, User.email, User.name)
                    .where(User.is_active.is_(True), User.id > last_id)
                    .order_by(User.id)
                    .limit(batch_size)
                )
            ).all()
        if not rows:
            return
        yield [tuple(row) for row in rows]
        last_id = rows[-1][0]


# --8<-- [end:active_batches]
