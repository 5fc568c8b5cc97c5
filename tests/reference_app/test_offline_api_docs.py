"""/docs works with no network: Swagger UI comes from an installed package, not a CDN."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from tests.support.brokers import BrokerEnv
from tests.support.browser import chromium
from tests.support.waiting import wait_for


def test_the_api_docs_render_offline(tmp_path, start_api):
    api = start_api(BrokerEnv("sqlite", tmp_path), TASKIQ_ENABLED="false")
    with chromium(tmp_path, offline=True) as browser:
        browser.get(f"{api.base_url}/docs")
        title = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".swagger-ui .title"),
                         timeout=20, what="Swagger UI to render")  # fmt: skip
        assert "Taskiq reference app" in title[0].text
        paths = {e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
        assert "/reports" in paths
        html = browser.page_source
    assert "cdn.jsdelivr.net" not in html and "swagger-ui-bundle.js" in html
