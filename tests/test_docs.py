"""The docs site: builds strictly, shows only tested code, and names only real files/settings."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from reference_app.settings import SETTINGS_CLASSES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PYTHON_BLOCK = re.compile(r"```(?:python|py)[^\n]*\n(.*?)```", re.S)


def test_the_site_builds_in_strict_mode(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "site" / "index.html").exists()
    # A reader of the site sees each notebook's output as if they had run it.
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        page = (tmp_path / "site" / "notebooks" / notebook.stem / "index.html").read_text()
        assert "jp-OutputArea-output" in page, f"{notebook.name}: no output on its page"


def test_every_python_block_is_a_snippet_from_a_tested_file():
    inline = []
    for page in sorted(DOCS.rglob("*.md")):
        for block in PYTHON_BLOCK.findall(page.read_text()):
            lines = [line.strip() for line in block.splitlines() if line.strip()]
            if not lines or not all(line.startswith("--8<--") for line in lines):
                inline.append(f"{page.relative_to(ROOT)}: {lines[:2]}")
    assert inline == []


def test_every_path_in_the_key_files_tables_exists():
    table_rows = [
        line for line in (DOCS / "reference-app.md").read_text().splitlines()
        if line.startswith("|") and "`" in line
    ]  # fmt: skip
    paths = [re.findall(r"`([^`]+)`", row.split("|")[2])[0] for row in table_rows]
    assert len(paths) >= 6
    missing = [path for path in paths if not (ROOT / path).exists()]
    assert missing == []


def test_every_setting_is_documented_on_the_configuration_page():
    page = (DOCS / "configuration.md").read_text()
    names = [name for cls in SETTINGS_CLASSES for name in cls.model_fields]
    undocumented = [name for name in names if f"`{name}`" not in page]
    assert undocumented == []
