"""FastroAI's worker command in this layout, as the security page gives it: a wrong module path
stops after --max-fails failures with its error, instead of restarting forever."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

from tests.support.processes import ROOT


def page_command() -> list[str]:
    text = (ROOT / "docs" / "security.md").read_text()
    line = next(x for x in text.splitlines() if x.startswith(".venv/bin/python -m taskiq worker"))
    return shlex.split(line)


def test_the_page_command_names_the_real_worker_entry_and_max_fails():
    command = page_command()
    module, _, attribute = command[4].partition(":")
    assert (ROOT / (module.replace(".", "/") + ".py")).exists() and attribute == "email_broker"
    assert command[command.index("--max-fails") + 1] == "3"


def test_a_wrong_module_path_stops_after_max_fails_with_its_error(tmp_path):
    command = page_command()
    command[0] = sys.executable
    command[4] = "src.infrastructure.taskiq.worker:email_broker"  # FastroAI's path, not ours
    command[command.index("--workers") + 1] = "1"
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert len(re.findall(r"No module named 'src'", done.stdout + done.stderr)) == 3
    assert "Max restarts reached" in done.stdout + done.stderr
