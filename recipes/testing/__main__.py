"""python -m recipes.testing: run the example tests, as you would run your own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).with_name("test_example.py")


def main() -> None:
    # --8<-- [start:run]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(EXAMPLE), "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
    )
    # --8<-- [end:run]
    lines = done.stdout.strip().splitlines()
    print(f"pytest {EXAMPLE.name}: {lines[-1] if lines else done.stderr.strip()}")
    if done.returncode != 0:
        print(done.stdout[-4000:], done.stderr[-2000:], sep="\n")
        raise SystemExit(done.returncode)


if __name__ == "__main__":
    main()
