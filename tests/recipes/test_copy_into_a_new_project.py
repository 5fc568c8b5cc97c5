"""A reader copies the infrastructure and one recipe into an empty project, and runs it.

Nothing else is needed: the worker entry (`infrastructure/taskiq/worker.py`) imports feature
modules and plugs in the app factory only when the project has them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.brokers import BrokerEnv
from tests.support.processes import ROOT

SLUGS = ["define_tasks", "enqueue", "db_in_tasks", "workers", "registry", "configuration",
         "testing", "retries"]  # fmt: skip
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")


def new_project(tmp_path: Path, slug: str) -> Path:
    project = tmp_path / "project"
    (project / "reference_app").mkdir(parents=True)
    (project / "recipes").mkdir()
    shutil.copy(ROOT / "reference_app" / "__init__.py", project / "reference_app")
    shutil.copytree(
        ROOT / "reference_app" / "infrastructure",
        project / "reference_app" / "infrastructure",
        ignore=IGNORE,
    )
    shutil.copytree(ROOT / "taskiq_extras", project / "taskiq_extras", ignore=IGNORE)
    worker = project / "reference_app" / "infrastructure" / "taskiq" / "worker.py"
    # What the copy page tells a reader: drop the block that names the app's own modules.
    worker.write_text(
        re.sub(
            r"# --8<-- \[start:app\].*?# --8<-- \[end:app\]\n", "", worker.read_text(), flags=re.S
        )
    )
    shutil.copy(ROOT / "recipes" / "__init__.py", project / "recipes")
    shutil.copytree(ROOT / "recipes" / slug, project / "recipes" / slug, ignore=IGNORE)
    return project


def run_in(project: Path, env: BrokerEnv, *args: str, **settings: object):
    # Relative default paths (./var/...) land in the new project, as they would for a reader.
    environment = env.process_env(**settings)
    for name in ("DATABASE_URL", "TASKIQ_SQLITE_PATH"):
        environment.pop(name)
    return subprocess.run(
        [sys.executable, *args], cwd=project, env=environment,
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


@pytest.mark.parametrize("slug", SLUGS)
def test_a_recipe_runs_in_a_new_project(slug, tmp_path):
    project = new_project(tmp_path, slug)
    env = BrokerEnv("sqlite", tmp_path)
    where = run_in(project, env, "-c", "import reference_app, recipes; "
                   "print(reference_app.__file__); print(recipes.__file__)")  # fmt: skip
    assert where.stdout.split() == [
        str(project / "reference_app" / "__init__.py"),
        str(project / "recipes" / "__init__.py"),
    ]  # the copy is what runs, not this repository
    done = run_in(project, env, "-m", f"recipes.{slug}", TASKIQ_RETRY_DELAY=0.1)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-3000:]}"
    if slug == "testing":  # its tests use their own temp files, and pytest has no config here
        assert "4 passed" in done.stdout
    else:
        assert (project / "var" / "taskiq-broker.db").exists()


def test_the_worker_entry_imports_without_feature_modules_or_an_app(tmp_path):
    project = new_project(tmp_path, "define_tasks")
    done = run_in(
        project, BrokerEnv("sqlite", tmp_path), "-c",
        "import reference_app.infrastructure.taskiq.worker as w; print(w.email_broker)",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "SQLiteBroker" in done.stdout
    assert not (project / "reference_app" / "modules").exists()
    assert not (project / "reference_app" / "main.py").exists()
