"""Password hashes (``hashlib.scrypt``) and signed, expiring tokens (itsdangerous).

A token is the payload, a timestamp and an HMAC of both, keyed by ``SECRET_KEY`` and a
*purpose* (so a verification token cannot be used as a reset token). Changing one character
breaks the signature; a token older than its max age is refused, even if the signature holds.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # about 16 MB and 50 ms per hash


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, n, r, p, salt, expected = stored.split("$")
    digest = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(digest.hex(), expected)


@functools.cache
def dummy_hash() -> str:
    """A hash of no one's password, made once: checked when there is no real one to check."""
    return hash_password(os.urandom(16).hex())


def check_password(password: str, stored: str | None) -> bool:
    """``verify_password``, with the same work when there is no hash to check (no such
    account, or one without a password): how long a login takes says nothing about who
    has an account."""
    if not stored or not stored.startswith("scrypt$"):
        verify_password(password, dummy_hash())
        return False
    return verify_password(password, stored)


def password_fingerprint(password_hash: str | None) -> str:
    """Goes into reset tokens: once the password changes, older reset links stop working."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


class TokenError(ValueError):
    """The token cannot be used; ``str(exc)`` says why, for the API's answer."""


class TokenExpiredError(TokenError):
    pass


# --8<-- [start:tokens]
def _serializer(secret: str, purpose: str, issued_at: int | None = None) -> URLSafeTimedSerializer:
    signer: type[TimestampSigner] = TimestampSigner
    if issued_at is not None:  # tests: a token signed in the past
        signer = type("BackdatedSigner", (TimestampSigner,), {"get_timestamp": lambda _: issued_at})
    return URLSafeTimedSerializer(secret, salt=f"reference-app/{purpose}", signer=signer)


def issue_token(purpose: str, data: dict[str, Any], *, secret: str, issued_at: int | None = None):
    return _serializer(secret, purpose, issued_at).dumps(data)


def read_token(purpose: str, token: str, *, secret: str, max_age: int) -> dict[str, Any]:
    try:
        return _serializer(secret, purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenExpiredError("this link has expired: ask for a new one") from None
    except BadSignature:
        raise TokenError("this link is not valid (altered or incomplete)") from None


# --8<-- [end:tokens]
