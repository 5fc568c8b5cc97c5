"""The built docs site in headless Chromium: pages render, the diagram is drawn, no errors.

Screenshots land in build/screenshots/ for a person to look at.
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.browser import chromium, require_chromium
from tests.support.processes import ROOT
from tests.support.waiting import wait_for

SHOTS = ROOT / "build" / "screenshots"


@pytest.fixture(scope="module")
def site_url(tmp_path_factory):
    require_chromium()
    site = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
                   cwd=ROOT, check=True, capture_output=True, timeout=300)  # fmt: skip
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def concept_pages() -> list[str]:
    pages = ["getting-started/", "brokers/", "workers/", "monitoring/", "copy/", "beyond-stock/",
             "security/", "configuration/"]  # fmt: skip
    pages += [f"recipes/{p.stem}/" for p in sorted((ROOT / "docs" / "recipes").glob("*.md"))]
    return pages


def console_errors(browser) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def test_the_home_page_draws_its_diagram_offline(site_url, tmp_path):
    from selenium.webdriver.common.by import By

    with chromium(tmp_path) as browser:
        browser.get(site_url + "/")
        assert "Taskiq" in browser.title
        assert browser.find_elements(By.CSS_SELECTOR, "nav.md-nav")

        # Material draws the diagram in a closed shadow root: we cannot read the SVG, but a
        # diagram that failed would leave its source text on the page, a few lines high.
        def diagram_height() -> float:
            return browser.execute_script(
                "const d = document.querySelector('div.mermaid');"
                "return d ? d.getBoundingClientRect().height : 0;"
            )

        wait_for(lambda: diagram_height() > 150, timeout=15, what="Mermaid to draw the diagram")
        assert "sequenceDiagram" not in browser.find_element(By.TAG_NAME, "body").text
        SHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SHOTS / "site-home.png"))
        assert console_errors(browser) == []


@pytest.mark.parametrize("page", concept_pages())
def test_each_concept_page_renders_with_highlighted_code(site_url, tmp_path, page):
    from selenium.webdriver.common.by import By

    with chromium(tmp_path) as browser:
        browser.get(f"{site_url}/{page}")
        assert browser.find_elements(By.CSS_SELECTOR, "article h1")
        assert browser.find_elements(By.CSS_SELECTOR, "nav.md-nav")
        assert browser.find_elements(By.CSS_SELECTOR, ".highlight pre code span")
        # At 1280 px nothing in a code block is cut off: long lines wrap.
        cut = browser.execute_script(
            "return [...document.querySelectorAll('.md-typeset pre > code')]"
            ".filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.textContent.slice(0, 80));"
        )
        assert cut == []
        if page.startswith(("recipes/define_tasks", "getting-started")):
            SHOTS.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(SHOTS / f"site-{Path(page).name or 'page'}.png"))
        assert console_errors(browser) == []
