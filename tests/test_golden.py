"""Every blueprint's results, less ``wall_s``, are exactly the committed golden files.

A change that moves any number fails here; regenerate with ``python tools/golden.py``
(or ``make golden``) and say in the commit which numbers moved and why.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from cloudtwin.blueprints import names

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("golden_tool", ROOT / "tools" / "golden.py")
assert _spec is not None and _spec.loader is not None
golden_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden_tool)


def test_every_blueprint_has_a_golden_file() -> None:
    committed = sorted(p.stem for p in (ROOT / "tests" / "golden").glob("*.json"))
    assert committed == names()


def _diff(old: object, new: object, path: str = "") -> list[str]:
    """The paths where two JSON values differ (the first few), for a readable failure."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for k in sorted(set(old) | set(new)):
            out += _diff(old.get(k, "<missing>"), new.get(k, "<missing>"), f"{path}.{k}")
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            out += _diff(a, b, f"{path}[{i}]")
        return out
    return [] if old == new else [f"{path}: {old!r} -> {new!r}"[:300]]


@pytest.mark.slow
@pytest.mark.parametrize("name", names())
def test_blueprint_results_are_golden(name: str) -> None:
    expected = json.loads((ROOT / "tests" / "golden" / f"{name}.json").read_text(encoding="utf-8"))
    got = json.loads(golden_tool.text(golden_tool.golden(name)))
    diffs = _diff(expected, got)
    assert not diffs, f"{name} moved ({len(diffs)} values; run tools/golden.py if intended):\n" + "\n".join(diffs[:20])
