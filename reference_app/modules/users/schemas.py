from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, EmailStr, Field

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def no_control_characters(value: str) -> str:
    """CR and LF in a value that ends up in an email header could add headers of its own."""
    if CONTROL.search(value):
        raise ValueError("must not contain control characters such as CR or LF")
    return value


# --8<-- [start:header_safe]
HeaderText = Annotated[
    str, Field(min_length=1, max_length=200), AfterValidator(no_control_characters)
]
# --8<-- [end:header_safe]


class SignUp(BaseModel):
    email: EmailStr  # an invalid address is a 422, before anything is queued
    name: Annotated[str, Field(max_length=100), AfterValidator(no_control_characters)] = Field(
        min_length=1
    )
    password: str | None = Field(None, min_length=8, max_length=128)


class EmailOnly(BaseModel):
    email: EmailStr


class PasswordResetConfirm(BaseModel):
    token: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=8, max_length=128)


class Login(BaseModel):
    email: EmailStr
    password: str = Field(max_length=128)
