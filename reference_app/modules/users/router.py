from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.infrastructure.database import get_request_session
from reference_app.infrastructure.ratelimit import SlidingWindowLimiter
from reference_app.modules.users import service
from reference_app.modules.users.mailer import AccountMailer, get_mailer
from reference_app.modules.users.schemas import EmailOnly, Login, PasswordResetConfirm, SignUp
from reference_app.modules.users.security import (
    TokenError,
    check_password,
    hash_password,
    password_fingerprint,
    read_token,
)
from reference_app.modules.users.settings import get_users_settings

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/users", tags=["users"])

ACCEPTED = "if the address belongs to an account, an email is on its way"
SIGN_UP_ACCEPTED = "if the address can be registered, an email is on its way"


def _secret() -> str:
    return get_users_settings().SECRET_KEY.get_secret_value()


# --8<-- [start:sign_up]
@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def sign_up(
    data: SignUp,
    request: Request,
    db: AsyncSession = Depends(get_request_session),
    mailer: AccountMailer = Depends(get_mailer),
) -> dict[str, str]:
    # `data.email` is already a valid address: pydantic's EmailStr answered 422 otherwise.
    mailer.check_limit(request, data.email)
    password_hash = await asyncio.to_thread(hash_password, data.password) if data.password else None
    try:
        user = await service.create(db, email=data.email, name=data.name,
                                    password_hash=password_hash)  # fmt: skip
    except service.EmailTakenError:
        return {"status": SIGN_UP_ACCEPTED}  # the same answer: no guessing who has an account
    await mailer.welcome(user.id)
    await mailer.verification(user.id)
    return {"status": SIGN_UP_ACCEPTED}


# --8<-- [end:sign_up]


# --8<-- [start:verify]
@router.get("/verify")
async def verify_email(
    token: str, db: AsyncSession = Depends(get_request_session)
) -> dict[str, Any]:
    """The link in the verification email."""
    settings = get_users_settings()
    try:
        data = read_token("verify-email", token, secret=_secret(),
                          max_age=settings.VERIFY_TOKEN_MAX_AGE)  # fmt: skip
    except TokenError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    user = await service.get(db, int(data["uid"]))
    if user is None or user.email != data.get("email"):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "this link is not valid any more")
    await service.mark_verified(db, user.id)
    return {"status": "verified", "user_id": user.id, "email": user.email}


# --8<-- [end:verify]


@router.post("/verification/resend", status_code=status.HTTP_202_ACCEPTED)
async def resend_verification(
    data: EmailOnly,
    request: Request,
    db: AsyncSession = Depends(get_request_session),
    mailer: AccountMailer = Depends(get_mailer),
) -> dict[str, str]:
    mailer.check_limit(request, data.email)
    user = await service.get_by_email(db, data.email)
    if user is not None and not user.is_verified:
        await mailer.verification(user.id)
    return {"status": ACCEPTED}  # the same answer either way: no guessing who has an account


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED)
async def request_password_reset(
    data: EmailOnly,
    request: Request,
    db: AsyncSession = Depends(get_request_session),
    mailer: AccountMailer = Depends(get_mailer),
) -> dict[str, str]:
    mailer.check_limit(request, data.email)
    user = await service.get_by_email(db, data.email)
    if user is not None and user.is_active:
        await mailer.password_reset(user.id)
    return {"status": ACCEPTED}


async def _reset_user(token: str, db: AsyncSession):
    try:
        data = read_token("password-reset", token, secret=_secret(),
                          max_age=get_users_settings().RESET_TOKEN_MAX_AGE)  # fmt: skip
    except TokenError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    user = await service.get(db, int(data["uid"]))
    if user is None or data.get("pw") != password_fingerprint(user.password_hash):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "this link was already used")
    return user


@router.get("/password-reset")
async def check_reset_link(
    token: str, db: AsyncSession = Depends(get_request_session)
) -> dict[str, Any]:
    """The link in the reset email: a front end would show a form here; the API says whether
    the token is good and where to post the new password."""
    user = await _reset_user(token, db)
    return {"token_valid": True, "email": user.email,
            "next": "POST /users/password-reset/confirm {token, new_password}"}  # fmt: skip


@router.post("/password-reset/confirm")
async def confirm_password_reset(
    data: PasswordResetConfirm, db: AsyncSession = Depends(get_request_session)
) -> dict[str, str]:
    user = await _reset_user(data.token, db)
    new_hash = await asyncio.to_thread(hash_password, data.new_password)
    # Only if the hash the link was made for is still there: one use, even for two requests at
    # once; and the link, like any older one, stops working.
    if not await service.replace_password_hash(db, user.id, user.password_hash, new_hash):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "this link was already used")
    return {"status": "password changed"}


def _login_attempts(request: Request) -> SlidingWindowLimiter:
    """This app's login counts (made on first use; an app of its own in each test)."""
    attempts = getattr(request.app.state, "login_attempts", None)
    if attempts is None:
        attempts = request.app.state.login_attempts = SlidingWindowLimiter()
    return attempts


def _too_many(wait: float) -> HTTPException:
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                         "too many login attempts; try again later",
                         headers={"Retry-After": str(math.ceil(wait))})  # fmt: skip


@router.post("/login")
async def login(
    data: Login, request: Request, db: AsyncSession = Depends(get_request_session)
) -> dict[str, int]:
    """Every attempt counts per client; failed ones per account, known or not. An attempt is
    counted as failed before the password is checked, and taken back if it was right, so
    attempts sent at once cannot all pass the limit while their hashes are computed."""
    settings = get_users_settings()
    attempts, window = _login_attempts(request), settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS
    client = request.client.host if request.client else "unknown"
    account = f"account:{data.email.strip().lower()}"
    for key, limit in ((f"client:{client}", settings.LOGIN_RATE_LIMIT_PER_CLIENT),
                       (account, settings.LOGIN_RATE_LIMIT_PER_ACCOUNT)):  # fmt: skip
        if (wait := attempts.retry_after(key, limit, window)) is not None:
            raise _too_many(wait)
    user = await service.get_by_email(db, data.email)
    stored = user.password_hash if user is not None else None
    # no such account: the password is still checked, against a dummy hash (the same work)
    right = await asyncio.to_thread(check_password, data.password, stored)
    if user is None or not right:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    attempts.forget_one(account)  # a success does not count against the account
    return {"user_id": user.id}
