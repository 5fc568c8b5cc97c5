"""Getting started, followed as a reader follows it; and define_tasks' copy, run as written.

The getting-started commands run as the page gives them, in a temp dir that stands for the
root of the repository (its ``.venv`` and ``recipes`` are the repository's, its ``var/`` is
its own), beside the app that ``make run`` starts: ``python -m reference_app.dev``, what
``make run`` runs, on a free port instead of 8000. What each command prints must read as
the page's sample right after it, once ids, times, pids and ports are masked
(``assert_shows``, shared with the recipe pages' test).
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.processes import LISTENING, ROOT, ManagedProcess, free_port
from tests.support.waiting import wait_for
from tests.test_recipe_commands import assert_shows, blocks, sample_after

PAGE = ROOT / "docs" / "getting-started.md"
DEFINE_TASKS = ROOT / "docs" / "recipes" / "define_tasks.md"


def reader_env(**settings: str) -> dict[str, str]:
    """A fresh shell's environment: none of the app's settings, not even DEV_MODE."""
    drop = (
        "TASKIQ_",
        "DATABASE_",
        "SMTP_",
        "REPORTS_",
        "DEV_MODE",
        "VIRTUAL_ENV",
        "MAKELEVEL",
        "MAKEFLAGS",
        "MFLAGS",
    )  # and no `make` of ours around: a fresh shell
    return {**{k: v for k, v in os.environ.items() if not k.startswith(drop)}, **settings}


def section(page: Path, title: str) -> list[str]:
    """The first line of each shell block under the heading ``title``, in order."""
    text = page.read_text().splitlines()
    start = next(i for i, line in enumerate(text) if line.startswith(f"## {title}"))
    end = next((i for i, line in enumerate(text) if i > start and line.startswith("## ")),
               len(text))  # fmt: skip
    return [block.lines[0] for block in blocks(page)
            if block.language == "bash" and start < block.start < end]  # fmt: skip


def shell_block(page: Path, first_line: str) -> str:
    (block,) = [b for b in blocks(page) if b.language == "bash" and b.lines[0] == first_line]
    return "\n".join(block.lines)


def sample(page: Path, first_line: str) -> list[str]:
    found = sample_after(page, first_line)
    assert found, f"{page.name}: no ```text sample right after `{first_line}`"
    return found


@pytest.mark.slow
def test_getting_started_as_written(tmp_path):
    repo = tmp_path / "repo"  # the reader's repository root
    repo.mkdir()
    for name in (".venv", "recipes"):
        (repo / name).symlink_to(ROOT / name)
    # The guide counts as built (`make run` builds it from docs/ once; no need here).
    (repo / "mkdocs.yml").touch()
    (repo / "site").mkdir()
    (repo / "site" / "index.html").write_text("the guide")
    port = free_port()
    env = reader_env(SMTP_PORT=str(free_port()))  # the mail catcher: a port of its own

    def on_our_port(command: str) -> str:
        return command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")

    def shell(command: str) -> str:
        done = subprocess.run(["bash", "-c", on_our_port(command)], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr[-3000:]}"
        return done.stdout

    make_run = ManagedProcess([".venv/bin/python", "-m", "reference_app.dev", "--port",
                               str(port)], env, tmp_path / "make-run.log")  # fmt: skip
    started: list[ManagedProcess] = [make_run]
    try:
        # Run the app.
        make_run.start(cwd=repo)
        wait_for(lambda: make_run.log().count(LISTENING) >= 2 or not make_run.alive(),
                 timeout=60, what="make run's worker processes")  # fmt: skip
        wait_for(lambda: "Ctrl-C" in make_run.log() or not make_run.alive(), timeout=30,
                 what="make run to print its URLs")  # fmt: skip
        assert make_run.alive(), make_run.log()[-3000:]
        assert_shows(sample(PAGE, "make run"), make_run.log(), "make run")
        worker_line = next(line for line in PAGE.read_text().split("`")
                           if line.startswith("worker: sqlite file"))  # fmt: skip
        assert worker_line.endswith(" ...")
        assert f"\n{worker_line.removesuffix(' ...')} " in f"\n{make_run.log()}", worker_line

        # Send a report, read it back once the worker is done.
        post = section(PAGE, "Send a report")[0]
        assert post.startswith("curl -X POST")
        assert_shows(sample(PAGE, post), shell(shell_block(PAGE, post)), post)
        report = f"http://127.0.0.1:{port}/reports/1"
        wait_for(lambda: httpx.get(report).json()["status"] == "complete", timeout=15,
                 what="the report to complete")  # fmt: skip
        get = "curl http://127.0.0.1:8000/reports/1"
        assert_shows(sample(PAGE, get), shell(get), get)

        # Your first task: each command in turn; the worker's runs on, as in its terminal.
        copy, start_worker, enqueue, forgot = section(PAGE, "Your first task")
        shell(copy)
        assert (repo / "hello.py").read_text() == (ROOT / "recipes/enqueue/hello.py").read_text()
        worker = ManagedProcess(["bash", "-c", start_worker], env, tmp_path / "worker.log")
        started.append(worker)
        worker.start(cwd=repo)
        wait_for(lambda: worker.log().count(LISTENING) >= 2 or not worker.alive(), timeout=30,
                 what="the hello worker to listen")  # fmt: skip
        assert worker.alive(), worker.log()[-3000:]
        assert_shows(sample(PAGE, enqueue), shell(enqueue), enqueue)
        assert_shows(sample(PAGE, start_worker), worker.log(), start_worker)
        runs = f"http://127.0.0.1:{port}/tasks/runs?task_name=hello.greet"  # /tasks, as JSON
        wait_for(lambda: [run["status"] for run in httpx.get(runs).json()["items"]]
                 == ["succeeded"], timeout=10, what="the run of hello.greet on /tasks")  # fmt: skip
        # Without the queue: make run's worker sets the message aside, the script says why.
        assert_shows(sample(PAGE, forgot), shell(forgot), forgot)

        worker.signal_group(signal.SIGINT)  # Ctrl-C in its terminal
        assert worker.wait_exit(timeout=30) == 0
        make_run.signal_main(signal.SIGINT)
        assert make_run.wait_exit(timeout=30) == 0
    finally:
        for process in started:
            process.stop()


@pytest.mark.slow
def test_define_tasks_runs_alone_as_its_page_says(tmp_path):
    """The copy of tasks.py into an empty folder, with a venv that has only taskiq."""
    commands = next(block.lines for block in blocks(DEFINE_TASKS)
                    if block.language == "bash" and "tasks.py" in block.lines[-1])  # fmt: skip
    done = subprocess.run(["bash", "-e", "-c", "\n".join(commands)], cwd=ROOT,
                          env=reader_env(HOME=str(tmp_path)), capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert_shows(sample(DEFINE_TASKS, commands[0]), done.stdout, "define_tasks, copied")
