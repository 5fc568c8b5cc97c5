"""The recipe pages' commands, pasted as a reader pastes them, beside a running app.

Every ``make recipe NAME=...`` line of a recipe page's shell blocks runs in the repository
(the venv that ``make run`` made), while a worker of the app runs on the default queue and the
same SQLite file, as ``make run`` would. Each recipe works on a queue of its own: it passes,
and the app's worker never sees one of its messages (nothing dead-lettered, nothing left).
Lines that switch to another broker are checked for form only: they name servers the tests
do not own (Redis DB 3).
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.support.brokers import BrokerEnv
from tests.support.processes import ROOT

PAGES = sorted((ROOT / "docs" / "recipes").glob("*.md"))


def shell_lines(page: Path) -> list[str]:
    lines, inside = [], False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```bash"
            continue
        if inside and line.strip():
            lines.append(line.strip())
    return lines


def recipe_commands() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for line in shell_lines(page):
            if "make recipe NAME=" in line:
                found.append((page.stem, line))
    return found


def test_every_recipe_page_runs_its_recipe_with_make_recipe():
    commands = recipe_commands()
    assert {page for page, _ in commands} == {page.stem for page in PAGES}
    for page, line in commands:
        assert re.fullmatch(r"(\w+=\S+ )*make recipe NAME=(\w+)", line), line
        assert (ROOT / "recipes" / line.rpartition("=")[2]).is_dir(), (page, line)
    assert not [line for page in PAGES for line in shell_lines(page)
                if re.search(r"(^|\s)python -m recipes\.", line)]  # fmt: skip


RUNNABLE = [(page, line) for page, line in recipe_commands() if "TASKIQ_BROKER_TYPE" not in line]


@pytest.mark.slow
@pytest.mark.parametrize(("page", "line"), RUNNABLE, ids=[f"{p}:{i}" for i, (p, _) in
                                                          enumerate(RUNNABLE)])  # fmt: skip
def test_a_page_command_works_beside_the_running_app(page, line, tmp_path, start_worker):
    env = BrokerEnv("sqlite", tmp_path)
    start_worker(env, TASKIQ_QUEUE_NAME="taskiq")  # the app's worker, as `make run` starts it
    process_env = env.process_env()
    for name in ("TASKIQ_QUEUE_NAME", "DEV_MODE"):  # as in a reader's shell: neither is set
        process_env.pop(name)
    process_env["TASKIQ_RETRY_DELAY"] = "0.1"
    done = subprocess.run(["bash", "-c", line], cwd=ROOT, env=process_env,
                          capture_output=True, text=True, timeout=240)  # fmt: skip
    assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    with sqlite3.connect(env.tmp_path / "broker.db") as db:
        if db.execute("SELECT name FROM sqlite_master WHERE name='taskiq_messages'").fetchone():
            app_queue = db.execute("SELECT count(*) FROM taskiq_messages WHERE queue='taskiq'")
            assert app_queue.fetchone() == (0,)
            dead = db.execute("SELECT count(*) FROM taskiq_dead_letters WHERE queue='taskiq'")
            assert dead.fetchone() == (0,)  # the app's worker took none of the recipe's
