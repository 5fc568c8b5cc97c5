"""The task registry and the worker's task discovery."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import ClassVar

import pytest
from taskiq import InMemoryBroker

from reference_app.infrastructure.taskiq.registry import (
    DuplicateTaskError,
    register_task,
    registered_tasks,
    tasks_per_broker,
    unregister_task,
)
from tests.support.processes import ROOT

broker = InMemoryBroker()


@broker.task(task_name="registry_test.first", timeout=30, retries=2)
async def first_task() -> int:
    return 1


@broker.task(task_name="registry_test.other")
async def other_task() -> int:
    return 2


@pytest.fixture(autouse=True)
def clean_registry():
    yield
    for name in ("registry_test.first", "registry_test.other"):
        for broker_name in ("test_broker", "second_broker"):
            unregister_task(name, broker_name)


def test_registered_tasks_are_listed_with_module_labels_and_counted_per_broker():
    before = tasks_per_broker()
    register_task("registry_test.first", "test_broker", first_task)
    register_task("registry_test.other", "second_broker", other_task)

    (entry,) = registered_tasks("test_broker")
    assert entry.as_dict() == {
        "name": "registry_test.first",
        "broker": "test_broker",
        "module": __name__,
        "function": "first_task",
        "labels": {"timeout": 30, "retries": 2},
    }
    after = tasks_per_broker()
    assert after["test_broker"] == before.get("test_broker", 0) + 1
    assert after["second_broker"] == before.get("second_broker", 0) + 1


def test_a_second_function_under_a_taken_name_fails_at_import_with_both_names():
    register_task("registry_test.first", "test_broker", first_task)
    with pytest.raises(DuplicateTaskError) as caught:
        register_task("registry_test.first", "test_broker", _renamed(other_task))
    message = str(caught.value)
    assert f"{__name__}.first_task" in message and f"{__name__}.other_task" in message
    assert "unique per broker" in message
    # The same function again (a module imported twice under one name) is fine,
    # and the same name on another broker too.
    register_task("registry_test.first", "test_broker", first_task)
    register_task("registry_test.first", "second_broker", first_task)


def test_the_name_given_must_be_the_tasks_own():
    with pytest.raises(ValueError, match="use the same name"):
        register_task("registry_test.typo", "test_broker", first_task)


def _renamed(task):
    """The other task, claiming the first task's name (as a copy-paste mistake would)."""

    class Renamed:
        task_name = "registry_test.first"
        original_func = task.original_func
        labels: ClassVar[dict] = {}

    return Renamed()


def test_the_worker_entry_imports_every_features_tasks():
    """A feature with a tasks.py that worker.py forgot would leave its messages unrun."""
    on_disk = sorted(
        f"reference_app.modules.{path.parent.name}.tasks"
        for path in (ROOT / "reference_app" / "modules").glob("*/tasks.py")
    )
    done = subprocess.run(
        [sys.executable, "-c", "import sys, reference_app.infrastructure.taskiq.worker as w; "
         "print(*sorted(m for m in sys.modules if m.startswith('reference_app.modules.') "
         "and m.endswith('.tasks')))"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == on_disk
    from reference_app.infrastructure.taskiq.worker import email_broker

    assert email_broker.find_task("process_report") is not None
    assert "process_report" in {t.name for t in registered_tasks("slow_broker")}


def test_a_broken_tasks_module_stops_the_worker_with_one_line(tmp_path, monkeypatch):
    package = tmp_path / "shop_features"
    (package / "orders").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "orders" / "__init__.py").write_text("")
    (package / "orders" / "tasks.py").write_text(
        textwrap.dedent("""
            import a_module_that_does_not_exist  # noqa
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from reference_app.infrastructure.config import ConfigurationError
    from reference_app.infrastructure.taskiq.run_worker import BROKER, check_imports

    with pytest.raises(ConfigurationError, match=r"shop_features\.orders\.tasks.*a_module_that"):
        check_imports(BROKER, ["shop_features.orders.tasks", "--log-level", "DEBUG"])
    for name in ("shop_features", "shop_features.orders", "shop_features.orders.tasks"):
        sys.modules.pop(name, None)
