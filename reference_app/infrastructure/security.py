"""Core: who may reach admin pages and development-only pages.

Admin pages (the task registry, runs, dead letters, notifications to users):

- ``ADMIN_TOKEN`` set: a request must carry it, as ``X-Admin-Token: <token>`` (scripts) or as
  the password of HTTP Basic auth (a browser asks for it; any user name).
- ``ADMIN_TOKEN`` unset or empty: admin is off (403), except with ``DEV_MODE=true`` for this
  machine's own connections (``make run``).
- A request that changes something (POST...) and comes from a page of another site (the
  browser says so in ``Origin`` / ``Sec-Fetch-Site``) is refused whatever else it carries:
  a web page you visit cannot drive the admin of the app on your machine.

"This machine" is the socket's peer address, never a header: ``X-Forwarded-For`` counts only
where the server was told which proxies to trust (uvicorn's ``--forwarded-allow-ips``).
Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
from urllib.parse import urlsplit

from fastapi import HTTPException, Request, status

from .config import get_settings

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _presented_token(request: Request) -> str | None:
    header = request.headers.get("x-admin-token")
    if header:
        return header
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            return base64.b64decode(encoded).decode().partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            return None
    if scheme.lower() == "bearer" and encoded:
        return encoded
    return None


def from_this_machine(request: Request) -> bool:
    """The connection's peer is a loopback address."""
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cross_site(request: Request) -> bool:
    """A browser sent this from a page of another origin."""
    if request.headers.get("sec-fetch-site", "") in ("cross-site", "same-site"):
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False  # not a browser form or fetch: curl, scripts, tests
    return origin == "null" or urlsplit(origin).netloc != request.headers.get("host", "")


async def require_admin(request: Request) -> None:
    """FastAPI dependency for admin-only routes."""
    if request.method not in SAFE_METHODS and cross_site(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site requests to admin are refused")
    settings = get_settings()
    expected = settings.ADMIN_TOKEN.get_secret_value() if settings.ADMIN_TOKEN else ""
    if not expected:
        if settings.DEV_MODE and from_this_machine(request):
            return
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "admin is off: set ADMIN_TOKEN to use it (or DEV_MODE=true, on your own machine)",
        )
    presented = _presented_token(request) or ""
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "admin token needed (X-Admin-Token header, or the password of Basic auth)",
            headers={"WWW-Authenticate": 'Basic realm="taskiq admin"'},
        )


async def require_development(request: Request) -> None:
    """FastAPI dependency for development-only pages: DEV_MODE and this machine, else 404."""
    if not (get_settings().DEV_MODE and from_this_machine(request)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
