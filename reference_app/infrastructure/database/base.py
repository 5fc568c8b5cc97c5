"""Core: the declarative base every feature's models share."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base shared by every feature's models."""
