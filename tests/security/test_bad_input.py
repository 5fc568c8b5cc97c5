"""Bad input gets a clear 4xx, never a 500, and the error never echoes what was sent."""

from __future__ import annotations

import pytest

from tests.security.conftest import client

BIG = 2**63  # one more than the largest row id SQLite (and PostgreSQL's BIGINT) can hold
JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "request_kwargs", "status", "says"),
    [
        ("POST", "/reports", {"content": b'{"title":"t","values":[1, NaN]}', "headers": JSON},
         422, "finite number"),
        ("POST", "/reports", {"content": b'{"title":"t","values":[Infinity]}', "headers": JSON},
         422, "finite number"),
        ("POST", "/reports", {"json": {"title": "t", "values": [1], "user_id": BIG}},
         422, "less than or equal to 9223372036854775807"),
        ("GET", f"/mail/{BIG}", {}, 422, "less than or equal to 9223372036854775807"),
        ("GET", f"/reports/{BIG}", {}, 422, "less than or equal to 9223372036854775807"),
        ("POST", "/reports", {"content": b"\xff\xfe{", "headers": JSON},
         400, "error parsing the body"),
        ("GET", "/users/verify?token=abc.def.ghi", {}, 400, "not valid"),
        ("POST", "/users/password-reset/confirm",
         {"json": {"token": "x.y", "new_password": "p" * 12}}, 400, "not valid"),
    ],
    ids=["nan", "infinity", "user-id-2^63", "mail-2^63", "report-2^63",
         "not-utf8", "malformed-verify-token", "malformed-reset-token"],
)  # fmt: skip
async def test_bad_input_is_a_clear_4xx(app_with, method, path, request_kwargs, status, says):
    app = app_with(DEV_MODE="true")
    async with app.router.lifespan_context(app), client(app) as http:
        response = await http.request(method, path, **request_kwargs)
    assert response.status_code == status, response.text
    assert says in response.text


async def test_a_huge_body_is_refused_unread_and_never_echoed(app_with):
    app = app_with(MAX_REQUEST_BYTES=64 * 1024)
    huge = b'{"title":"' + b"x" * (10 * 1024 * 1024) + b'"}'
    async with app.router.lifespan_context(app), client(app) as http:
        declared = await http.post("/reports", content=huge, headers=JSON)

        async def stream():  # no Content-Length: counted while it arrives
            for start in range(0, len(huge), 65536):
                yield huge[start : start + 65536]

        streamed = await http.post("/reports", content=stream(), headers=JSON)
    for response in (declared, streamed):
        assert response.status_code == 413
        assert len(response.content) < 200


async def test_a_validation_error_names_the_field_but_does_not_repeat_the_value(app_with):
    app = app_with()
    async with app.router.lifespan_context(app), client(app) as http:
        response = await http.post("/reports", json={"title": "z" * 5000, "values": [1]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "title"]
    assert "zzzz" not in response.text and len(response.content) < 300
