"""The recipe's one table, on the app's shared ``Base`` (prefixed, so it never clashes)."""

from __future__ import annotations

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from reference_app.infrastructure.database import Base


# --8<-- [start:model]
class Note(Base):
    __tablename__ = "db_in_tasks_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="new")
    word_count: Mapped[int | None] = mapped_column(Integer, nullable=True)


# --8<-- [end:model]
