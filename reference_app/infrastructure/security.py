"""Who may see the admin pages (the task registry, runs and statistics).

- ``ADMIN_TOKEN`` set: a request must carry it, as ``X-Admin-Token: <token>`` (scripts) or as
  the password of HTTP Basic auth (a browser asks for it; any user name).
- ``ADMIN_TOKEN`` unset (the default, for ``make run``): only requests from this machine
  (loopback) get in; anyone else gets 403 and the name of the setting to set.
Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress

from fastapi import HTTPException, Request, status

from .config import get_settings


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


def _from_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("localhost", "testclient")


async def require_admin(request: Request) -> None:
    """FastAPI dependency for admin-only routes."""
    expected = get_settings().ADMIN_TOKEN
    if expected is None or not expected.get_secret_value():
        if _from_loopback(request):
            return
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "admin pages are open to this machine only: set ADMIN_TOKEN to reach them remotely",
        )
    presented = _presented_token(request) or ""
    if not hmac.compare_digest(presented.encode(), expected.get_secret_value().encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "admin token needed (X-Admin-Token header, or the password of Basic auth)",
            headers={"WWW-Authenticate": 'Basic realm="taskiq admin"'},
        )
