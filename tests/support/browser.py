"""Headless Chromium (Debian's `chromium` and `chromium-driver`) driven by Selenium.

On a reader's machine without Chromium the browser tests skip with a reason; with CI=true
they must run (.ci/run installs the packages).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.brokers import IN_CI

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def require_chromium() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if not missing:
        return
    message = (
        f"needs headless Chromium: {', '.join(missing)} not found "
        "(apt-get install chromium chromium-driver)"
    )
    if IN_CI:
        pytest.fail(f"{message}; CI=true: browser tests must run", pytrace=False)
    pytest.skip(message)


@contextmanager
def chromium(
    tmp_path: Path, width: int = 1280, height: int = 900, offline: bool = False
) -> Iterator[object]:
    """``offline``: every request outside this machine goes to a proxy that is not there."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}",
                 f"--window-size={width},{height}"):  # fmt: skip
        options.add_argument(flag)
    if offline:  # loopback bypasses the proxy; anything else fails at once
        options.add_argument("--proxy-server=http://127.0.0.1:9")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(
        options=options,
        service=Service(executable_path=shutil.which("chromedriver") or CHROMEDRIVER),
    )
    try:
        yield driver
    finally:
        driver.quit()
