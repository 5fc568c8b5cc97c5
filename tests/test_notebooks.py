"""The notebooks: one per recipe plus first_task, paired with their .py, and each one runs top
to bottom on a fresh kernel, as `pytest --nbmake notebooks/*.ipynb` runs them.

Each .ipynb keeps the outputs of such a run, because the site shows them and does not run the
notebooks. A fresh run must give the same outputs, once what differs from run to run is masked
(task ids, times, process ids, ports, temporary folders): stale outputs fail here. After
changing a notebook, store its new outputs with
`python -m tests.test_notebooks notebooks/<name>.ipynb` (no argument: every notebook).
"""

from __future__ import annotations

import copy
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
IPYNBS = sorted(NOTEBOOKS.glob("*.ipynb"))
HELPERS = {"nbsetup"}  # notebooks/nbsetup.py: the one-line setup the notebooks import, no pair
PER_NOTEBOOK_TIMEOUT = 120  # s; each one takes well under 60 s on a quiet machine

# What differs from one run to the next, and what it is compared as.
MASKS = [
    (r"(?:/[\w.-]+)*/nb-\w+-[a-z0-9_]{8}\b", "<workdir>"),  # nbsetup's temporary folder
    (r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?", "<time>"),  # log records
    (r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<id>"),
    (r"\b[0-9a-f]{32}\b", "<id>"),  # task ids
    (r"\b[0-9a-f]{8}\b", "<id>"),  # their first 8 digits, and the random part of chosen ids
    (r"(pid\W{0,4})\d+", r"\1<pid>"),  # "pid 123", "'worker_pid': 123"
    (r"(127\.0\.0\.1:)\d+", r"\1<port>"),  # the SMTP server's free port
    (r"(token=)[\w.-]+", r"\1<token>"),  # signed with a timestamp
    (r"\b\d+(?:\.\d+)?\s?m?s\b", "<duration>"),  # "1.3 ms", "0.82 s", "in 4.59s"
    (r"\|[ █]+\|", "|<bar>|"),  # the workers notebook's timelines:
    (r"job\s+\d+", "job <n>"),  # which process ran which job, and when,
    (r"\d+ tasks, at most", "<n> tasks, at most"),  # is the scheduler's choice
]
# Of stderr (the worker's log, through the kernel's), log records and exception lines only:
# traceback frames name this machine's paths and the libraries' line numbers.
LOG_LINE = re.compile(r"^\[|^[A-Za-z_][\w.]*(Error|Exception|Warning)\b")


def mask(text: str) -> str:
    for pattern, replacement in MASKS:
        text = re.sub(pattern, replacement, text)
    return text


def comparable(notebook: nbformat.NotebookNode) -> dict:
    """Per code cell, the set of its masked stdout lines (a line printed while polling may
    come once or twice) and its results; stderr, from the worker process, for the whole
    notebook, as its log lands in whichever cell is running at the time. Images are compared
    by their type only."""
    outputs, stderr = {}, set()
    code_cells = (cell for cell in notebook.cells if cell.cell_type == "code")
    for index, cell in enumerate(code_cells):
        stdout, results = "", []
        for output in cell.outputs:
            if output.output_type == "stream" and output.name == "stdout":
                stdout += output.text
            elif output.output_type == "stream":
                stderr |= {mask(line) for line in output.text.splitlines() if LOG_LINE.match(line)}
            elif output.output_type == "error":
                results.append(f"error {output.ename}: {mask(output.evalue)}")
            else:
                results.append(f"{sorted(output.data)} {mask(output.data.get('text/plain', ''))}")
        lines = {mask(line.rstrip()) for line in stdout.splitlines() if line.strip()}
        if lines or results:
            outputs[f"code cell {index + 1}"] = (sorted(lines), results)
    outputs["stderr of the notebook"] = sorted(stderr)
    return outputs


def execute(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Run a copy on a fresh kernel from the notebooks' folder, as nbmake and Jupyter do."""
    executed = copy.deepcopy(notebook)
    # Under pytest, ipykernel leaves the worker process's stderr out of the cell outputs (it
    # sees PYTEST_CURRENT_TEST): the kernel does not get it, and so shows what Jupyter shows.
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_CURRENT_TEST"}
    NotebookClient(
        executed,
        timeout=PER_NOTEBOOK_TIMEOUT,  # per cell
        kernel_name="python3",
        record_timing=False,  # no timestamps in the stored file
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    ).execute(env=env)
    executed.metadata = notebook.metadata  # not the kernel's language_info: same on any machine
    return executed


def store_hint(ipynb: Path) -> str:
    return f"store a fresh run's outputs: `python -m tests.test_notebooks notebooks/{ipynb.name}`"


def store_outputs(ipynb: Path) -> str:
    """Run the notebook and store it with its outputs."""
    started = time.monotonic()
    nbformat.write(execute(nbformat.read(ipynb, as_version=4)), ipynb)
    return f"{ipynb.name}: outputs stored ({time.monotonic() - started:.0f} s)"


def test_one_notebook_per_recipe_plus_the_first_task():
    """A new recipe without its notebook (or a notebook without its recipe) fails here."""
    recipes = {path.parent.name for path in (ROOT / "recipes").glob("*/__main__.py")}
    assert {path.stem for path in IPYNBS} == recipes | {"first_task"}
    sources = {path.stem for path in NOTEBOOKS.glob("*.py")} - HELPERS
    assert sources == {path.stem for path in IPYNBS}


@pytest.mark.parametrize("ipynb", IPYNBS, ids=lambda path: path.stem)
def test_the_py_and_the_ipynb_of_a_pair_agree(ipynb: Path):
    def cells(path: Path) -> list[tuple[str, str]]:
        return [(cell.cell_type, cell.source.strip()) for cell in jupytext.read(path).cells]

    source = ipynb.with_suffix(".py")
    assert cells(ipynb) == cells(source), (
        f"{ipynb.name} and {source.name} differ: run `jupytext --sync notebooks/{source.name}`"
    )


@pytest.mark.parametrize("ipynb", IPYNBS, ids=lambda path: path.stem)
def test_a_stored_notebook_has_outputs_and_no_run_metadata(ipynb: Path):
    notebook = nbformat.read(ipynb, as_version=4)
    assert set(notebook.metadata) <= {"kernelspec", "jupytext"}, store_hint(ipynb)
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert any(cell.outputs for cell in code), f"{ipynb.name} has no outputs: {store_hint(ipynb)}"
    assert not [cell.metadata for cell in code if cell.metadata], store_hint(ipynb)


@pytest.mark.slow
@pytest.mark.timeout(PER_NOTEBOOK_TIMEOUT + 30)
@pytest.mark.parametrize("ipynb", IPYNBS, ids=lambda path: path.stem)
def test_a_notebook_runs_top_to_bottom_and_gives_its_stored_outputs(ipynb: Path):
    """What `pytest --nbmake notebooks/*.ipynb` does, one fresh kernel per notebook, run
    from the notebook's folder; the stored file is left as it is."""
    stored = nbformat.read(ipynb, as_version=4)
    started = time.monotonic()
    try:
        fresh = execute(stored)
    except CellExecutionError as exc:
        pytest.fail(f"{ipynb.name} failed after {time.monotonic() - started:.0f} s:\n{exc}")
    print(f"{ipynb.name}: {time.monotonic() - started:.1f} s")
    expected, got = comparable(stored), comparable(fresh)
    differences = [
        f"{where}:\n  stored: {expected.get(where)}\n  fresh:  {got.get(where)}"
        for where in sorted(expected.keys() | got.keys())
        if expected.get(where) != got.get(where)
    ]
    assert not differences, (
        f"{ipynb.name}: the stored outputs are not a fresh run's; {store_hint(ipynb)}\n"
        + "\n".join(differences)
    )


if __name__ == "__main__":
    # python -m tests.test_notebooks [notebooks/<name>.ipynb ...]: run them, store the outputs.
    chosen = [Path(arg).resolve() for arg in sys.argv[1:]] or IPYNBS
    with ProcessPoolExecutor(max_workers=3) as pool:
        for line in pool.map(store_outputs, chosen):
            print(line)
