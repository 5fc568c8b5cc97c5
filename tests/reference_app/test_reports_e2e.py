"""HTTP -> broker -> worker process -> database, on every broker."""

from __future__ import annotations

import pytest

from tests.support.waiting import wait_for

pytestmark = pytest.mark.broker


def _report(client, report_id: int) -> dict:
    response = client.get(f"/reports/{report_id}")
    assert response.status_code == 200, response.text
    return response.json()


# --8<-- [start:e2e]
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


# --8<-- [end:e2e]


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


def test_the_seeds_worker_command_finds_every_task(broker_env, tmp_path, start_api):
    """`python -m taskiq worker reference_app.infrastructure.taskiq.worker:email_broker
    --workers 2`, as FastroAI's page writes it, without our launcher."""
    import sys

    from tests.support.processes import ManagedProcess

    worker = ManagedProcess(
        [sys.executable, "-m", "taskiq", "worker",
         "reference_app.infrastructure.taskiq.worker:email_broker", "--workers", "2"],
        broker_env.process_env(),
        tmp_path / "taskiq-worker.log",
    )  # fmt: skip
    worker.start()
    try:
        wait_for(lambda: worker.log().count("Listening started.") == 2, timeout=30,
                 what="two worker processes")  # fmt: skip
        api = start_api(broker_env)
        with api.client() as client:
            queued = client.post("/reports", json={"title": "plain taskiq", "values": [1]}).json()
            wait_for(
                lambda: _report(client, queued["id"])["status"] == "complete",
                timeout=20,
                what="the report to complete",
            )
    finally:
        worker.stop()
    assert "is not found" not in worker.log()


def test_with_tasks_disabled_the_web_process_runs_them_itself(tmp_path, start_api):
    from tests.support.brokers import BrokerEnv

    env = BrokerEnv("sqlite", tmp_path)
    api = start_api(env, TASKIQ_ENABLED="false")  # and no worker at all
    with api.client() as client:
        queued = client.post("/reports", json={"title": "inline", "values": [3, 5]}).json()
        done = wait_for(
            lambda: (r := _report(client, queued["id"]))["status"] == "complete" and r,
            timeout=10,
            what="the in-process task",
        )
    assert done["result"]["mean"] == 4.0
    assert not (tmp_path / "broker.db").exists()  # no queue was involved
