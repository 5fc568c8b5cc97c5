"""Rows the recipe's tasks write, so every attempt and every charge can be counted."""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from reference_app.infrastructure.database import Base


class Attempt(Base):
    """How many times a task started for one key, and whether it finally succeeded."""

    __tablename__ = "retries_attempts"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)


class Charge(Base):
    """One row per order charged: the order id is the idempotency key."""

    __tablename__ = "retries_charges"

    order_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount: Mapped[int] = mapped_column(Integer)
