"""Regenerate the golden results of every blueprint: ``python tools/golden.py [NAME ...]``.

Each blueprint runs with its own seed and scenario; its results JSON, less ``wall_s``
(the only field that is not a function of spec and seed), goes to
``tests/golden/<name>.json``. ``tests/test_golden.py`` fails on any difference, so a change
that moves a number shows up as a diff of these files, to be explained in its commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cloudtwin import Simulation, load_spec
from cloudtwin.blueprints import names

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden"


def golden(name: str) -> dict:  # type: ignore[type-arg]
    """Blueprint ``name``'s results as compared: JSON-normalised, without ``wall_s``."""
    data = json.loads(Simulation(load_spec(name)).run().to_json())
    data.pop("wall_s", None)
    return data  # type: ignore[no-any-return]


def text(data: dict) -> str:  # type: ignore[type-arg]
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name in argv or names():
        path = GOLDEN / f"{name}.json"
        new = text(golden(name))
        old = path.read_text(encoding="utf-8") if path.exists() else None
        tmp = path.with_suffix(".tmp")
        tmp.write_text(new, encoding="utf-8")
        tmp.replace(path)
        print(f"{name}: {'unchanged' if old == new else 'written'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
