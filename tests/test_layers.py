"""The layout holds: a small core on stock taskiq, the extras apart, arrows one way.

Each check reads the source (imports by AST, strings as text), so it fails the moment a file
breaks the rule, without running anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.processes import ROOT

CORE = ROOT / "reference_app" / "infrastructure" / "taskiq"
INFRASTRUCTURE = ROOT / "reference_app" / "infrastructure"
EXTRAS = ROOT / "taskiq_extras"
MODULES = ROOT / "reference_app" / "modules"
BROKER_CLIENTS = {"redis", "aio_pika", "aiormq", "taskiq_redis", "taskiq_aio_pika"}


def lines(paths: list[Path]) -> int:
    return sum(len(path.read_text().splitlines()) for path in paths)


def imports(path: Path) -> list[tuple[str, bool]]:
    """(absolute module name, imported at module level?) for every import in ``path``."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level:  # relative: resolve against this file's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, name] if name else base)
            found.append((name, id(node) in top))
    return found


def test_the_core_a_reader_copies_is_at_most_700_lines():
    assert lines(sorted(CORE.glob("*.py"))) <= 700


def test_the_core_with_its_config_and_database_is_under_1000_lines():
    files = [*CORE.glob("*.py"), *(INFRASTRUCTURE / "config").glob("*.py"),
             *(INFRASTRUCTURE / "database").glob("*.py")]  # fmt: skip
    assert lines(files) < 1000


@pytest.mark.parametrize("path", sorted(EXTRAS.glob("*.py")), ids=lambda p: p.name)
def test_the_extras_import_nothing_of_the_app(path):
    names = [name for name, _ in imports(path)]
    assert not [n for n in names if n.split(".")[0] in ("reference_app", "recipes", "tests")]
    assert "reference_app" not in path.read_text()  # not even as a string


@pytest.mark.parametrize(
    "path", sorted(p for p in INFRASTRUCTURE.rglob("*.py") if p != CORE / "worker.py"),
    ids=lambda p: str(p.relative_to(INFRASTRUCTURE)),
)  # fmt: skip
def test_infrastructure_names_no_module_and_no_app_outside_the_worker_entry(path):
    text = path.read_text()
    assert "reference_app" not in text
    assert not [n for n, _ in imports(path) if n.startswith("reference_app.modules")]


@pytest.mark.parametrize("path", sorted([*CORE.glob("*.py"), *EXTRAS.glob("*.py")]),
                         ids=lambda p: f"{p.parent.name}/{p.name}")  # fmt: skip
def test_a_broker_client_is_imported_only_where_it_is_chosen(path):
    """At module level only by the extras module that wraps that very client."""
    owners = {"redis_broker.py": {"redis", "taskiq_redis"},
              "redis_schedules.py": {"redis", "taskiq_redis"},
              "rabbitmq_broker.py": {"aio_pika", "aiormq", "taskiq_aio_pika"}}  # fmt: skip
    allowed = owners.get(path.name, set()) if path.parent == EXTRAS else set()
    eager = {name.split(".")[0] for name, top in imports(path) if top}
    assert (eager & BROKER_CLIENTS) <= allowed


def test_features_import_each_other_one_way_only():
    edges: dict[str, set[str]] = {}
    for path in MODULES.rglob("*.py"):
        feature = path.relative_to(MODULES).parts[0]
        for name, _ in imports(path):
            parts = name.split(".")
            if parts[:2] == ["reference_app", "modules"] and len(parts) > 2 and parts[2] != feature:
                edges.setdefault(feature, set()).add(parts[2])

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in edges.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = [f for f in edges if reaches(f, f, {f})]
    assert cycles == [], f"features in an import cycle: {cycles} ({edges})"


@pytest.mark.parametrize(
    ("folder", "word"), [(CORE, "Core"), (INFRASTRUCTURE / "config", "Core"),
                         (INFRASTRUCTURE / "database", "Core"), (EXTRAS, "Extras")],
    ids=["taskiq", "config", "database", "extras"],
)  # fmt: skip
def test_each_module_says_its_layer_in_its_first_line(folder, word):
    wrong = [p.name for p in folder.glob("*.py") if not p.read_text().startswith(f'"""{word}')]
    assert wrong == []
