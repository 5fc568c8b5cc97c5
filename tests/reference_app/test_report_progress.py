"""The report task reports progress; GET /reports/{id} shows it while the report is processing,
on every broker, and the watch page draws it as a bar that moves, in a real browser, offline."""

from __future__ import annotations

import itertools
import time

import pytest

from tests.support.brokers import BrokerEnv
from tests.support.processes import ROOT
from tests.support.waiting import wait_for

pytestmark = pytest.mark.broker


def follow(client, report_id: int, timeout: float = 30) -> list[dict]:
    """Every answer of GET /reports/{id}, polled quickly until the report is done."""
    answers, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(f"/reports/{report_id}")
        assert response.status_code == 200, response.text
        answers.append(response.json())
        if answers[-1]["status"] in ("complete", "failed"):
            return answers
        time.sleep(0.05)
    raise AssertionError(f"report {report_id} not done after {timeout} s: {answers[-1]}")


def percents_while_processing(answers: list[dict]) -> list[int]:
    return [a["progress"]["percent"] for a in answers
            if a["status"] == "processing" and a["progress"]]  # fmt: skip


# --8<-- [start:api_progress]
def test_get_report_shows_the_tasks_progress_while_it_runs(broker_env, start_worker, start_api):
    start_worker(broker_env)
    api = start_api(broker_env)
    with api.client() as client:
        queued = client.post("/reports", json={"title": "slow", "values": [1, 2], "delay_ms": 2000})
        assert queued.status_code == 202, queued.text
        answers = follow(client, queued.json()["id"])
    percents = percents_while_processing(answers)
    assert len(set(percents)) >= 3, answers  # it moved, several times
    assert percents == sorted(percents) and all(0 <= p <= 100 for p in percents)
    assert {a["progress"]["state"] for a in answers if a["progress"]} == {"STARTED"}
    assert answers[-1]["status"] == "complete"
    assert answers[-1]["progress"] is None  # done: the row says so, progress is not read


# --8<-- [end:api_progress]


def test_in_process_tasks_report_progress_too(tmp_path, start_api):
    """TASKIQ_ENABLED=false: the task runs in the web process, progress in its memory."""
    api = start_api(BrokerEnv("sqlite", tmp_path), TASKIQ_ENABLED="false")
    with api.client() as client:
        queued = client.post("/reports", json={"title": "inline", "values": [1], "delay_ms": 1500})
        answers = follow(client, queued.json()["id"])
    assert len(set(percents_while_processing(answers))) >= 2, answers


def test_the_watch_page_shows_a_bar_that_moves_offline(tmp_path, start_worker, start_api):
    from selenium.webdriver.common.by import By

    from tests.support.browser import chromium

    env = BrokerEnv("sqlite", tmp_path)
    start_worker(env)
    api = start_api(env)
    with api.client() as client:
        report = client.post("/reports", json={"title": "watched", "values": [3, 5],
                                               "delay_ms": 4000}).json()  # fmt: skip
        page = client.get(f"/reports/{report['id']}/watch")
        assert client.get("/reports/999999/watch").status_code == 404
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text  # no inline script: the policy would block it
    with chromium(tmp_path, offline=True) as browser:
        browser.get(f"{api.base_url}/reports/{report['id']}/watch")
        values: list[int] = []
        shot = ROOT / "build" / "screenshots" / "report-watch.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        shot.unlink(missing_ok=True)

        def done() -> bool:
            bar = browser.find_element(By.ID, "bar")
            value = int(float(bar.get_attribute("value")))
            if not values or value != values[-1]:
                values.append(value)
            if 40 <= value < 100 and not shot.exists():  # for a human to look at
                browser.save_screenshot(str(shot))
            return browser.find_element(By.ID, "status").text == "complete"

        wait_for(done, timeout=30, interval=0.1, what="the page to read complete")
        status = browser.find_element(By.ID, "status").text
        errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    rises = [after for before, after in itertools.pairwise(values) if after > before]
    assert len([v for v in rises if v < 100]) >= 2, values  # moved twice before the end
    assert values[-1] == 100 and status == "complete"
    assert errors == []  # no request blocked by the policy, none to a network we lack
