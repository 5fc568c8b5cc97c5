"""HTTP -> broker -> worker process -> database, on every broker."""

from __future__ import annotations

import pytest

from tests.support.waiting import wait_for

pytestmark = pytest.mark.broker


def _report(client, report_id: int) -> dict:
    response = client.get(f"/reports/{report_id}")
    assert response.status_code == 200, response.text
    return response.json()


def test_report_is_processed_by_a_worker_process(broker_env, start_worker, start_api):
    start_worker(broker_env)
    api = start_api(broker_env)
    with api.client() as client:
        response = client.post("/reports", json={"title": "sales", "values": [2, 4, 9]})
        assert response.status_code == 202, response.text
        queued = response.json()
        assert queued["status"] == "queued"
        assert len(queued["task_id"]) == 32
        assert queued["status_url"].endswith(f"/reports/{queued['id']}")

        done = wait_for(
            lambda: (r := _report(client, queued["id"]))["status"] == "complete" and r,
            timeout=20,
            what="the report to complete",
        )
    assert done["task_id"] == queued["task_id"]
    assert done["result"] == {
        "count": 3, "sum": 15.0, "mean": 5.0, "min": 2.0, "max": 9.0,
        "stdev": pytest.approx(2.943920288775949),
    }  # fmt: skip
    assert done["error"] is None
    assert done["runs"] == 1


def test_a_failing_report_is_marked_failed_with_its_reason(broker_env, start_worker, start_api):
    start_worker(broker_env)
    api = start_api(broker_env)
    with api.client() as client:
        queued = client.post("/reports", json={"title": "empty", "values": []}).json()
        failed = wait_for(
            lambda: (r := _report(client, queued["id"]))["status"] == "failed" and r,
            timeout=20,
            what="the report to fail",
        )
    assert "empty data set" in failed["error"]
    assert failed["result"] is None


def test_invalid_report_input_is_rejected_before_anything_is_queued(broker_env, start_api):
    api = start_api(broker_env)
    with api.client() as client:
        response = client.post("/reports", json={"title": "", "values": ["x"]})
        assert response.status_code == 422
        fields = {tuple(error["loc"]) for error in response.json()["detail"]}
        assert ("body", "title") in fields
        assert ("body", "values", 0) in fields
        assert client.get("/reports/1").status_code == 404
