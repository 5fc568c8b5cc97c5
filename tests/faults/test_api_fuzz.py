"""A fuzz pass of the HTTP API from its own OpenAPI spec (schemathesis): no 500, ever.

The app runs with TASKIQ_ENABLED=false (tasks in-process), so every route is exercised
without a worker; the email routes point at a port where no SMTP server listens.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.brokers import BrokerEnv
from tests.support.processes import free_port

pytestmark = pytest.mark.slow


def test_no_request_generated_from_the_openapi_spec_gets_a_500(tmp_path, start_api):
    st = Path(sys.executable).parent / "st"
    if not st.exists() and shutil.which("st") is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    api = start_api(BrokerEnv("sqlite", tmp_path), TASKIQ_ENABLED="false",
                    SMTP_PORT=free_port(), ADMIN_TOKEN="fuzz-admin-token")  # fmt: skip
    done = subprocess.run(
        [str(st), "run", f"{api.base_url}/openapi.json",
         "--checks", "not_a_server_error", "--max-examples", "25",
         "--phases", "examples,coverage,fuzzing", "--request-timeout", "10",
         "--header", "X-Admin-Token: fuzz-admin-token", "--workers", "1",
         "--suppress-health-check", "all"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    tail = done.stdout[-4000:] + done.stderr[-2000:]
    assert done.returncode == 0, tail
    generated = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
    assert generated, tail
    assert int(generated[1]) >= 200 and generated[1] == generated[2], tail  # all of them
    assert "Internal Server Error" not in api.log()


def test_an_id_beyond_a_64_bit_integer_is_a_422_not_a_500(tmp_path, start_api):
    """Found by the fuzz pass: SQLite's driver raised OverflowError on such an id."""
    api = start_api(BrokerEnv("sqlite", tmp_path), TASKIQ_ENABLED="false")
    body = {"subject": "s", "message": "m"}
    with api.client() as client:
        for method, path in [("GET", "/reports/{}"), ("POST", "/users/{}/notifications")]:
            response = client.request(method, path.format(2**63), json=body)
            assert response.status_code == 422, response.text
            assert "less than or equal to 9223372036854775807" in response.text
            largest = client.request(method, path.format(2**63 - 1), json=body)
            assert largest.status_code == 404, largest.text
    assert "Internal Server Error" not in api.log()
