from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.infrastructure.database import get_request_session
from reference_app.modules.users import service
from reference_app.modules.users.mailer import AccountMailer, get_mailer
from reference_app.modules.users.schemas import (
    EmailOnly,
    Login,
    PasswordResetConfirm,
    SignedUp,
    SignUp,
    UserRead,
)
from reference_app.modules.users.security import (
    TokenError,
    hash_password,
    password_fingerprint,
    read_token,
    verify_password,
)
from reference_app.modules.users.settings import get_users_settings

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/users", tags=["users"])

ACCEPTED = "if the address belongs to an account, an email is on its way"


def _secret() -> str:
    return get_users_settings().SECRET_KEY.get_secret_value()


# --8<-- [start:sign_up]
@router.post("", status_code=status.HTTP_201_CREATED, response_model=SignedUp)
async def sign_up(
    data: SignUp,
    request: Request,
    db: AsyncSession = Depends(get_request_session),
    mailer: AccountMailer = Depends(get_mailer),
) -> SignedUp:
    # `data.email` is already a valid address: pydantic's EmailStr answered 422 otherwise.
    mailer.check_limit(request, data.email)
    password_hash = await asyncio.to_thread(hash_password, data.password) if data.password else None
    try:
        user = await service.create(db, email=data.email, name=data.name,
                                    password_hash=password_hash)  # fmt: skip
    except service.EmailTakenError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    task_ids = [await mailer.welcome(user.id), await mailer.verification(user.id)]
    return SignedUp(user=UserRead.model_validate(user), task_ids=task_ids)


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
    await service.set_password_hash(db, user.id, new_hash)  # older reset links stop working
    return {"status": "password changed"}


@router.post("/login")
async def login(data: Login, db: AsyncSession = Depends(get_request_session)) -> dict[str, int]:
    user = await service.get_by_email(db, data.email)
    stored = user.password_hash if user is not None else None
    if user is None or not await asyncio.to_thread(verify_password, data.password, stored):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    return {"user_id": user.id}
