"""The notebooks: one per recipe plus first_task, paired with their .py, stored clean, and each
one runs top to bottom on a fresh kernel, as `pytest --nbmake notebooks/*.ipynb` runs them."""

from __future__ import annotations

import time
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
IPYNBS = sorted(NOTEBOOKS.glob("*.ipynb"))
PER_NOTEBOOK_TIMEOUT = 120  # s; each one takes well under 60 s on a quiet machine


def test_one_notebook_per_recipe_plus_the_first_task():
    """A new recipe without its notebook (or a notebook without its recipe) fails here."""
    recipes = {path.parent.name for path in (ROOT / "recipes").glob("*/__main__.py")}
    assert {path.stem for path in IPYNBS} == recipes | {"first_task"}
    assert {path.stem for path in NOTEBOOKS.glob("*.py")} == {path.stem for path in IPYNBS}


@pytest.mark.parametrize("ipynb", IPYNBS, ids=lambda path: path.stem)
def test_the_py_and_the_ipynb_of_a_pair_agree(ipynb: Path):
    def cells(path: Path) -> list[tuple[str, str]]:
        return [(cell.cell_type, cell.source.strip()) for cell in jupytext.read(path).cells]

    source = ipynb.with_suffix(".py")
    assert cells(ipynb) == cells(source), (
        f"{ipynb.name} and {source.name} differ: run `jupytext --sync notebooks/{source.name}`"
    )


@pytest.mark.parametrize("ipynb", IPYNBS, ids=lambda path: path.stem)
def test_a_stored_notebook_has_no_outputs(ipynb: Path):
    notebook = nbformat.read(ipynb, as_version=4)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert dirty == [], f"{ipynb.name}: cells {dirty} keep outputs; re-create it from the .py"
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.slow
@pytest.mark.timeout(PER_NOTEBOOK_TIMEOUT + 30)
@pytest.mark.parametrize("ipynb", IPYNBS, ids=lambda path: path.stem)
def test_a_notebook_runs_top_to_bottom(ipynb: Path):
    """What `pytest --nbmake notebooks/*.ipynb` does, one fresh kernel per notebook, run
    from the notebook's folder; the stored file is left as it is."""
    notebook = nbformat.read(ipynb, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=PER_NOTEBOOK_TIMEOUT,  # per cell; the mark above bounds the whole notebook
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    started = time.monotonic()
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{ipynb.name} failed after {time.monotonic() - started:.0f} s:\n{exc}")
    print(f"{ipynb.name}: {time.monotonic() - started:.1f} s")
