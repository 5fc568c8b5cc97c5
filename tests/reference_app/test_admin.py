"""Admin pages need the admin token; without one configured, only this machine gets in."""

from __future__ import annotations

import httpx

from reference_app.main import create_app
from tests.support.brokers import BrokerEnv

TOKEN = "adm1n-t0ken-for-tests"
ADMIN_PATHS = ["/tasks", "/tasks/registry", "/tasks/runs", "/tasks/stats", "/tasks/dead-letters"]


def test_with_a_token_configured_every_admin_page_asks_for_it(tmp_path, start_api):
    api = start_api(BrokerEnv("sqlite", tmp_path), ADMIN_TOKEN=TOKEN)
    with api.client() as client:
        for path in ADMIN_PATHS:
            refused = client.get(path)
            assert refused.status_code == 401, path
            assert refused.headers["www-authenticate"].startswith("Basic")
            assert client.get(path, headers={"X-Admin-Token": "wrong"}).status_code == 401
            assert client.get(path, headers={"X-Admin-Token": TOKEN}).status_code == 200, path
        assert client.get("/tasks", auth=("anyone", TOKEN)).status_code == 200  # a browser
        assert client.get("/health/live").status_code == 200  # not an admin page
    assert TOKEN not in api.log()


async def test_without_a_token_only_this_machine_gets_in():
    app = create_app()  # no lifespan needed: the refusal comes before any database work
    remote = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=remote, base_url="http://app") as client:
        for path in ADMIN_PATHS:
            response = await client.get(path)
            assert response.status_code == 403, path
            assert "set ADMIN_TOKEN" in response.json()["detail"]
