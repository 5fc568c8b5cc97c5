"""The recipe's table, on the app's shared ``Base``."""

from __future__ import annotations

from sqlalchemy import Float, Integer
from sqlalchemy.orm import Mapped, mapped_column

from reference_app.infrastructure.database import Base


class Order(Base):
    __tablename__ = "testing_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    total: Mapped[float] = mapped_column(Float)
