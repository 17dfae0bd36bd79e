"""The terminal summary of a few blueprints at 80 and 120 columns, against tests/golden_terminal/.

Regenerate with ``python tools/golden_terminal.py`` after a change of layout (or after
``make golden`` moved a number) and say why in the commit.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("golden_terminal", ROOT / "tools" / "golden_terminal.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("golden_terminal", mod)
    spec.loader.exec_module(mod)
    return mod


TOOL = _tool()
CASES = [(n, w) for n in TOOL.BLUEPRINTS for w in TOOL.WIDTHS]


@pytest.mark.parametrize(("name", "width"), CASES, ids=[f"{n}-{w}" for n, w in CASES])
def test_summary_matches_golden(name: str, width: int) -> None:
    want = (TOOL.OUT / f"{name}-{width}.txt").read_text(encoding="utf-8")
    got = TOOL.summary(name, width)
    assert got == want, f"summary of {name} at {width} columns changed: run tools/golden_terminal.py"


@pytest.mark.parametrize(("name", "width"), CASES, ids=[f"{n}-{w}" for n, w in CASES])
def test_summary_fits_and_cuts_no_number(name: str, width: int) -> None:
    text = TOOL.summary(name, width)
    assert all(len(line.rstrip()) <= width for line in text.splitlines())
    assert "…" not in text  # rich's ellipsis: nothing is cut
