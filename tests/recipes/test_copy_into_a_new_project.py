"""The copy story, as docs/copy.md tells it: a reader copies the core, the extras and a recipe
into a project of their own (package ``shop``, not ``reference_app``), makes the one edit the
page names, installs only the page's ``pip install`` line into a fresh venv, and runs it.

Each distinct install line gets one venv per test session (under ``build/copy-venvs``, keyed
by the line and the Python version, built once under a file lock since tests run in several
processes); every recipe that needs it shares it. Nothing of this repository is importable
there: the venv has no editable install, and the project is a directory of copies.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.brokers import BrokerEnv, cleanup, require_server
from tests.support.processes import ROOT

PAGE = ROOT / "docs" / "copy.md"
VENVS = ROOT / "build" / "copy-venvs"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")
PACKAGE = "shop"
RECIPES = [
    "enqueue",
    "db_in_tasks",
    "workers",
    "registry",
    "configuration",
    "retries",
    "progress",
    "scheduling",
]
# (broker, TASKIQ_EXTRAS): each recipe on each broker, with our extras and with stock brokers.
SETUPS = [("sqlite", "true"), ("sqlite", "false"), ("redis", "true"), ("redis", "false"),
          ("rabbitmq", "true"), ("rabbitmq", "false")]  # fmt: skip


def install_lines() -> dict[str, list[str]]:
    """``# <name>`` then ``pip install ...``, from the page's code block: name -> arguments."""
    found: dict[str, list[str]] = {}
    lines = PAGE.read_text().splitlines()
    for comment, command in itertools.pairwise(lines):
        if comment.startswith("# ") and command.startswith("pip install "):
            found[comment[2:].strip()] = shlex.split(command)[2:]
    return found


def pytest_line() -> list[str]:
    """The page's extra line for the testing recipe (pytest)."""
    match = re.search(r"needs\s+`pip install ([^`]+)`", PAGE.read_text())
    assert match, "copy.md no longer gives the testing recipe's pip install line"
    return shlex.split(match.group(1))


def venv_for(name: str, packages: list[str]) -> Path:
    """A venv with exactly ``packages``, built once (other test processes wait for it)."""
    key = hashlib.sha256(f"{sys.version}{packages}".encode()).hexdigest()[:12]
    where = VENVS / f"{name}-{key}"
    VENVS.mkdir(parents=True, exist_ok=True)
    with open(VENVS / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (where / "ready").exists():
            shutil.rmtree(where, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)],
                           check=True, timeout=120)  # fmt: skip
            done = subprocess.run(
                [sys.executable, "-m", "pip", "--python", str(where / "bin" / "python"),
                 "install", "--quiet", "--disable-pip-version-check", *packages],
                capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            assert done.returncode == 0, f"pip install {shlex.join(packages)}:\n{done.stderr}"
            (where / "ready").touch()
    return where / "bin" / "python"


def copy_core(project: Path) -> None:
    """What the page's "The core" section says: two folders, one block of worker.py out."""
    (project / PACKAGE).mkdir(parents=True)
    (project / PACKAGE / "__init__.py").write_text("")
    shutil.copytree(ROOT / "reference_app" / "infrastructure", project / PACKAGE /
                    "infrastructure", ignore=IGNORE)  # fmt: skip
    shutil.copytree(ROOT / "taskiq_extras", project / "taskiq_extras", ignore=IGNORE)
    worker = project / PACKAGE / "infrastructure" / "taskiq" / "worker.py"
    text = worker.read_text()
    block = re.compile(r"# --8<-- \[start:app\].*?# --8<-- \[end:app\]\n", re.S)
    assert block.search(text), "worker.py lost the app block that copy.md tells readers to drop"
    worker.write_text(block.sub("", text))


def copy_recipe(project: Path, slug: str) -> None:
    """What the page's "A recipe" section says: the folder, then reference_app -> shop."""
    (project / "recipes").mkdir(exist_ok=True)
    (project / "recipes" / "__init__.py").write_text("")
    target = project / "recipes" / slug
    shutil.copytree(ROOT / "recipes" / slug, target, ignore=IGNORE)
    for path in target.glob("*.py"):
        path.write_text(re.sub(r"\breference_app\b", PACKAGE, path.read_text()))


def run(python: Path, project: Path, env: dict[str, str], *args: str):
    return subprocess.run([str(python), *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=240)  # fmt: skip


def reader_env(broker_env: BrokerEnv, **settings: object) -> dict[str, str]:
    env = broker_env.process_env(**settings)
    env.pop("PYTHONPATH", None)  # only the project itself is importable, as for a reader
    for name in ("DATABASE_URL", "TASKIQ_SQLITE_PATH"):
        env.pop(name)  # the defaults (./var/...) land in the project, as they would
    return env


def test_the_page_gives_one_install_line_per_layer_and_broker():
    lines = install_lines()
    assert list(lines) == ["in-process", "sqlite", "redis", "rabbitmq"]
    assert lines["in-process"] == ["taskiq>=0.13,<0.14"]
    for broker, client in (("redis", "redis"), ("rabbitmq", "aio-pika")):
        assert not [p for p in lines["sqlite"] if client in p]  # SQLite installs neither
        assert [p for p in lines[broker] if client in p]


def test_define_tasks_is_one_file_that_needs_only_taskiq(tmp_path):
    python = venv_for("in-process", install_lines()["in-process"])
    shutil.copy(ROOT / "recipes" / "define_tasks" / "tasks.py", tmp_path / "tasks.py")
    done = run(python, tmp_path, {"PATH": "/usr/bin:/bin"}, "tasks.py")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "define_tasks.summarise  ->  {'count': 3" in done.stdout
    assert done.stdout.count("  ->  ") == 3


@pytest.mark.slow
@pytest.mark.parametrize(("broker", "extras"), SETUPS, ids=[f"{b}-extras={e}" for b, e in SETUPS])
@pytest.mark.parametrize("slug", RECIPES)
def test_a_recipe_runs_in_a_new_project(slug, broker, extras, tmp_path):
    require_server(broker)
    broker_env = BrokerEnv(broker, tmp_path)
    python = venv_for(broker, install_lines()[broker])
    project = tmp_path / "project"
    copy_core(project)
    copy_recipe(project, slug)
    env = reader_env(broker_env, TASKIQ_EXTRAS=extras, TASKIQ_RETRY_DELAY=0.1)
    try:
        where = run(python, project, env, "-c", "import shop, recipes, taskiq_extras as x; "
                    "print(shop.__file__, recipes.__file__, x.__file__)")  # fmt: skip
        assert where.returncode == 0, where.stderr
        assert all(path.startswith(str(project)) for path in where.stdout.split())
        done = run(python, project, env, "-m", f"recipes.{slug}")
    finally:
        cleanup(broker_env)
    assert done.returncode == 0, f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    if broker == "sqlite":
        assert (project / "var" / "taskiq-broker.db").exists()


def test_the_testing_recipe_runs_its_tests_in_a_new_project(tmp_path):
    python = venv_for("testing", install_lines()["sqlite"] + pytest_line())
    project = tmp_path / "project"
    copy_core(project)
    copy_recipe(project, "testing")
    done = run(python, project, reader_env(BrokerEnv("sqlite", tmp_path)), "-m", "recipes.testing")
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "4 passed" in done.stdout
