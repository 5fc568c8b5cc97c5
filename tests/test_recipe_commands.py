"""The recipe pages' commands, pasted as a reader pastes them, beside a running app.

Every ``make recipe NAME=...`` line of a recipe page's shell blocks runs in the repository
(the venv that ``make run`` made), while a worker of the app runs on the default queue and the
same SQLite file, as ``make run`` would. Each recipe works on a queue of its own: it passes,
and the app's worker never sees one of its messages (nothing dead-lettered, nothing left).
Lines that switch to another broker are checked for form only: they name servers the tests
do not own (Redis DB 3).

Right after its plain ``make recipe NAME=<slug>`` block, each page shows what the command
prints, in a ``text`` block; the run's output must read the same, once what changes from run
to run (ids, pids, times, ports) is masked. A sample line ``...`` stands for any lines.
"""

from __future__ import annotations

import difflib
import itertools
import re
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.brokers import BrokerEnv
from tests.support.processes import ROOT

PAGES = sorted((ROOT / "docs" / "recipes").glob("*.md"))


@dataclass
class Block:
    """A fenced block at the left margin of a page: its language, lines and line numbers."""

    language: str
    lines: list[str]
    start: int  # the opening fence
    end: int  # the closing fence


def blocks(page: Path) -> list[Block]:
    found, current = [], None
    for number, line in enumerate(page.read_text().splitlines()):
        if not line.startswith("```"):
            if current is not None:
                current.lines.append(line)
        elif current is None:
            current = Block(line[3:].strip(), [], number, number)
        else:
            current.end = number
            found.append(current)
            current = None
    return found


def shell_lines(page: Path) -> list[str]:
    return [line.strip() for block in blocks(page) if block.language == "bash"
            for line in block.lines if line.strip()]  # fmt: skip


def sample_after(page: Path, command: str) -> list[str] | None:
    """The ``text`` block right after the shell block that holds ``command`` (only blank
    lines between), or None."""
    text = page.read_text().splitlines()
    found = blocks(page)
    for block, following in itertools.pairwise(found):
        if block.language == "bash" and command in (line.strip() for line in block.lines):
            between = text[block.end + 1 : following.start]
            if following.language == "text" and not any(line.strip() for line in between):
                return following.lines
            return None
    return None


# What changes from one run to the next, masked alike in the output and in the sample.
MASKS = [
    (r"\d{4}-\d\d-\d\d[T ][\d:.,]+Z?", "<time>"),  # ISO timestamps, log lines' times
    (r"\b\d\d:\d\d:\d\d\b", "<time>"),  # clock times
    (r"\b\d+\.\d+ ?s\b", "<seconds>"),  # measured durations
    (r"(\bpid |\bprocess |\[worker-)\d+", r"\1<pid>"),  # process ids
    (r"\b(127\.0\.0\.1|localhost):\d+", r"\1:<port>"),  # free ports
    (r"\b[0-9a-f]{32}\b", "<id>"),  # task ids: UUIDv7, 32 hex digits
    (r"\b([0-9a-f]{8}|\d{6,})\b", "<short>"),  # a task id's last 8 digits, random keys
    (r"\[\d+(, \d+)*\]", "[<numbers>]"),  # which jobs each worker process happened to take
]


def mask(text: str) -> str:
    for pattern, placeholder in MASKS:
        text = re.sub(pattern, placeholder, text)
    return "\n".join(line.rstrip() for line in text.splitlines())


def assert_shows(sample: list[str], output: str, what: str) -> None:
    """``output`` reads as ``sample``: line for line once masked, where a sample line ``...``
    stands for any number of lines (none too). One line that differs fails."""
    expected = [mask(line) for line in sample]
    pattern = "".join(r"(?:[^\n]*\n)*?" if line == "..." else re.escape(line) + "\n"
                      for line in expected)  # fmt: skip
    printed = mask(output).strip("\n") + "\n"
    if re.fullmatch(pattern, printed) is None:
        diff = difflib.unified_diff(
            expected, printed.splitlines(), "sample", "printed", lineterm=""
        )
        pytest.fail(f"{what}: the output differs from the page's sample (masked):\n"
                    + "\n".join(diff), pytrace=False)  # fmt: skip


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


def test_every_recipe_page_shows_what_its_command_prints():
    missing = [page.name for page in PAGES
               if not sample_after(page, f"make recipe NAME={page.stem}")]  # fmt: skip
    assert not missing, f"no ```text sample right after `make recipe NAME=...`: {missing}"


def test_a_sample_matches_line_for_line_once_masked():
    sample = ["queued, task id 01a2495b3cc6746ba9cec8e329509dba", "...", "took 0.52 s"]
    assert_shows(sample, "queued, task id 01a2495c16ba7bebae706d94be2a3100\ntook 1.02 s", "")
    assert_shows(sample, "queued, task id 01a2495c16ba7bebae706d94be2a3100\nA\nB\ntook 3.1 s", "")
    for printed in [
        "queued, task ID 01a2495c16ba7bebae706d94be2a3100\ntook 1.02 s",  # a word changed
        "queued, task id 01a2495c16ba7bebae706d94be2a3100\ntook 1.02 s\nmore",  # a line more
        "took 1.02 s",  # a line missing
    ]:
        with pytest.raises(pytest.fail.Exception):
            assert_shows(sample, printed, "")


def printed_by_the_recipe(stdout: str, slug: str) -> str:
    """make first echoes the command it runs (and a pip install, after pyproject.toml
    changed); the recipe's own output comes after the line that names ``recipes.<slug>``."""
    lines = stdout.splitlines()
    echoed = [i for i, line in enumerate(lines) if line.rstrip().endswith(f"-m recipes.{slug}")]
    return "\n".join(lines[echoed[0] + 1 :] if echoed else lines)


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
    done = subprocess.run(["bash", "-c", line], cwd=ROOT, env=process_env,
                          capture_output=True, text=True, timeout=240)  # fmt: skip
    assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    with sqlite3.connect(env.tmp_path / "broker.db") as db:
        if db.execute("SELECT name FROM sqlite_master WHERE name='taskiq_messages'").fetchone():
            app_queue = db.execute("SELECT count(*) FROM taskiq_messages WHERE queue='taskiq'")
            assert app_queue.fetchone() == (0,)
            dead = db.execute("SELECT count(*) FROM taskiq_dead_letters WHERE queue='taskiq'")
            assert dead.fetchone() == (0,)  # the app's worker took none of the recipe's
    if line == f"make recipe NAME={page}":  # the page shows what it prints
        # The test's broker file stands where a reader's is, in var/.
        printed = done.stdout.replace(str(env.tmp_path / "broker.db"), "var/taskiq-broker.db")
        sample = sample_after(ROOT / "docs" / "recipes" / f"{page}.md", line)
        assert sample, f"docs/recipes/{page}.md shows no output after `{line}`"
        assert_shows(sample, printed_by_the_recipe(printed, page), f"`{line}`")
