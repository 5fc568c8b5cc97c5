"""The emails the users feature asks for, as an interface the app plugs an implementation into.

Features import each other one way only: the email feature reads users (to address and sign
its emails), so users never imports email. Its routes ask ``get_mailer`` for an
``AccountMailer``; ``create_app`` sets ``app.state.account_mailer`` to the email feature's.
"""

from __future__ import annotations

from typing import Protocol

from fastapi import Request


class AccountMailer(Protocol):
    def check_limit(self, request: Request, address: str) -> None:
        """Raise a 429 once an address, or a client, asked for too many emails."""

    async def welcome(self, user_id: int) -> str:
        """Enqueue the welcome email; return its task id (503 if the broker is down)."""

    async def verification(self, user_id: int) -> str:
        """Enqueue the email with the verification link; return its task id."""

    async def password_reset(self, user_id: int) -> str:
        """Enqueue the email with the password reset link; return its task id."""


def get_mailer(request: Request) -> AccountMailer:
    """FastAPI dependency: the mailer the app plugged in."""
    mailer = getattr(request.app.state, "account_mailer", None)
    if mailer is None:
        raise RuntimeError("no AccountMailer: create_app() sets app.state.account_mailer")
    return mailer
