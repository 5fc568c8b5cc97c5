"""`make run` gives the docs and the running app side by side: the app serves the built site."""

from __future__ import annotations

import subprocess
import sys

from tests.support.brokers import BrokerEnv
from tests.support.processes import ROOT


def test_the_app_serves_the_built_guide_and_links_to_it(tmp_path, start_api):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(site)],
                   cwd=ROOT, check=True, capture_output=True, timeout=300)  # fmt: skip
    api = start_api(BrokerEnv("sqlite", tmp_path), DOCS_SITE_DIR=site)
    with api.client() as client:
        home = client.get("/").text
        guide = client.get("/guide/")
        concept = client.get("/guide/recipes/define_tasks/")
    assert 'href="/guide/"' in home
    assert guide.status_code == 200 and "Taskiq + FastAPI cookbook" in guide.text
    assert concept.status_code == 200 and "Defining tasks" in concept.text
