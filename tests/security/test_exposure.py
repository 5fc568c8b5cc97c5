"""What a copied starter exposes: the mail catcher, the secret key, the admin pages.

The app runs in this process behind httpx's ASGI transport, so a test can choose the peer
address a request comes from (this machine, or somewhere else) without any network.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from reference_app.infrastructure.config import ConfigurationError
from tests.security.conftest import LOCAL, REMOTE, STRONG, TOKEN, client
from tests.support.processes import ROOT


# -- item 1: the mail catcher holds password-reset links -------------------------------------
@pytest.mark.parametrize(
    ("dev_mode", "peer", "headers", "expected"),
    [("true", LOCAL, {}, 200), ("true", REMOTE, {}, 404), ("false", LOCAL, {}, 404),
     ("true", REMOTE, {"X-Forwarded-For": "127.0.0.1"}, 404)],
    ids=["dev-local", "dev-remote", "production-local", "dev-remote-spoofing-a-header"],
)  # fmt: skip
async def test_the_mail_catcher_is_for_this_machine_in_development_only(
    app_with, dev_mode, peer, headers, expected
):
    app = app_with(DEV_MODE=dev_mode)
    async with client(app, peer) as http:
        for path in ("/mail", "/mail/1"):
            response = await http.get(path, headers=headers)
            assert response.status_code == (404 if path == "/mail/1" else expected), path


# -- item 2: the repository's SECRET_KEY -------------------------------------------------------
@pytest.mark.parametrize("secret", ["dev-only-change-me", "", "short-but-not-empty"])
def test_a_default_empty_or_short_secret_key_stops_the_app(app_with, secret):
    with pytest.raises(ConfigurationError, match="SECRET_KEY") as refused:
        app_with(SECRET_KEY=secret)
    assert "secrets.token_urlsafe" in str(refused.value)  # says how to make one
    if secret:
        assert secret not in str(refused.value)  # never repeats it


def test_development_mode_accepts_the_default_secret(app_with):
    assert app_with(SECRET_KEY="dev-only-change-me", DEV_MODE="true") is not None
    assert app_with(SECRET_KEY=STRONG, DEV_MODE="false") is not None


def test_the_worker_refuses_the_default_secret_with_one_line(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DEV_MODE": "false",
        "TASKIQ_SQLITE_PATH": str(tmp_path / "b.db"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'a.db'}",
    }
    launcher = "reference_app.infrastructure.taskiq.run_worker"
    done = subprocess.run([sys.executable, "-m", launcher], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert "SECRET_KEY" in done.stderr and "Traceback" not in done.stderr


# -- item 14: admin is off without a token; a web page cannot drive it ------------------------
async def test_an_empty_admin_token_means_admin_off(app_with):
    app = app_with(ADMIN_TOKEN="")
    news = {"subject": "s", "message": "m"}
    async with client(app) as http:
        assert (await http.get("/tasks/registry")).status_code == 403
        empty = {"X-Admin-Token": ""}
        assert (await http.post("/users/broadcast", json=news, headers=empty)).status_code == 403
        assert (await http.post("/users/1/notifications", json=news)).status_code == 403


async def test_without_a_token_only_this_machine_in_development_reaches_admin(app_with):
    app = app_with(DEV_MODE="true")
    async with client(app, LOCAL) as local, client(app, REMOTE) as remote:
        assert (await local.get("/tasks/registry")).status_code == 200
        assert (await remote.get("/tasks/registry")).status_code == 403


@pytest.mark.parametrize(
    "headers", [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                {"Origin": "null"}], ids=["origin", "fetch-metadata", "null-origin"],
)  # fmt: skip
async def test_a_cross_site_post_to_admin_is_refused_even_with_the_token(app_with, headers):
    app = app_with(DEV_MODE="true", ADMIN_TOKEN=TOKEN)
    async with client(app, LOCAL) as http:
        refused = await http.post("/tasks/dead-letters/1/replay",
                                  headers={**headers, "X-Admin-Token": TOKEN})  # fmt: skip
        assert refused.status_code == 403 and "cross-site" in refused.text
        same_site = await http.get("/tasks/registry", headers={"X-Admin-Token": TOKEN})
        assert same_site.status_code == 200


async def test_health_details_are_for_admins(app_with):
    app = app_with(ADMIN_TOKEN=TOKEN)
    async with app.router.lifespan_context(app), client(app, REMOTE) as http:
        public = (await http.get("/health/ready")).json()
        admin = (await http.get("/health/ready", headers={"X-Admin-Token": TOKEN})).json()
        home = (await http.get("/")).text
    assert public["database"] == {"ok": True} and public["broker"] == {"ok": True}
    assert "latency_ms" in admin["database"]
    assert "app.db" not in home and str(ROOT) not in home


# -- item 4: mail to another user needs admin, and is limited ---------------------------------
async def test_notifying_a_user_needs_the_admin_token_and_is_limited(app_with):
    app = app_with(ADMIN_TOKEN=TOKEN, EMAIL_RATE_LIMIT_PER_ADDRESS=2)
    note = {"subject": "s", "message": "m"}
    async with app.router.lifespan_context(app), client(app) as http:
        user = await http.post("/users", json={"email": "n@example.com", "name": "N"})
        assert user.status_code in (201, 202), user.text
        path = "/users/1/notifications"
        assert (await http.post(path, json=note)).status_code == 401
        admin = {"X-Admin-Token": TOKEN}
        codes = [(await http.post(path, json=note, headers=admin)).status_code for _ in range(3)]
    assert codes[-1] == 429 and 202 in codes
