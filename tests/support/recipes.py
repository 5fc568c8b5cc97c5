"""Run ``python -m recipes.<slug>`` as a reader would, on the broker under test."""

from __future__ import annotations

import subprocess
import sys

from tests.support.brokers import BrokerEnv
from tests.support.processes import ROOT


def run_recipe(slug: str, env: BrokerEnv, timeout: float = 120, **settings: object) -> str:
    done = subprocess.run(
        [sys.executable, "-m", f"recipes.{slug}"],
        cwd=ROOT,
        env=env.process_env(**settings),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"recipes.{slug} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout
