from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reference_app.infrastructure.database import Base
from reference_app.infrastructure.database.types import UTCDateTime, utcnow


class DeliveryStatus:
    PENDING = "pending"  # not handed to the SMTP server yet: safe to send
    SENT = "sent"  # recorded just before the message's last line went out
    FAILED = "failed"  # gave up; `error` says why


# --8<-- [start:model]
class EmailDelivery(Base):
    """One email to one recipient. The unique idempotency key is what makes a redelivered
    task skip the emails it already sent."""

    __tablename__ = "email_deliveries"
    __table_args__ = (UniqueConstraint("idempotency_key", name="uq_email_deliveries_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(600))  # "<campaign>:<recipient>"
    campaign: Mapped[str] = mapped_column(String(200), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# --8<-- [end:model]
