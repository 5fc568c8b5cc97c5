"""A ``sitecustomize`` that makes some packages unimportable, in every process that starts
with it on ``PYTHONPATH``: proof that a project on the SQLite broker needs neither ``redis``
nor ``aio-pika`` installed."""

from __future__ import annotations

from pathlib import Path

SITECUSTOMIZE = """
import sys

BLOCKED = {blocked!r}


class _Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            message = f"No module named {{name!r}} (blocked by the test)"
            raise ModuleNotFoundError(message, name=name)
        return None


sys.meta_path.insert(0, _Blocker())
"""

BROKER_CLIENTS = ("redis", "aio_pika", "aiormq", "pamqp", "taskiq_redis", "taskiq_aio_pika")


def blocker_dir(tmp_path: Path, blocked: tuple[str, ...] = BROKER_CLIENTS) -> Path:
    """A directory to put first on PYTHONPATH."""
    where = tmp_path / "blocked-imports"
    where.mkdir(exist_ok=True)
    (where / "sitecustomize.py").write_text(SITECUSTOMIZE.format(blocked=set(blocked)))
    return where
