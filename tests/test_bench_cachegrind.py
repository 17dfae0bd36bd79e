"""benchmarks/cachegrind.py: instructions, cache misses and mispredictions per event (issue 17)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "cachegrind.py"


def _module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_cachegrind", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_totals_are_read_by_event_name() -> None:
    text = "desc: I1 cache: 32768 B\ncmd: python\nevents: Ir I1mr D1mr\nfl=a.c\nfn=f\n1 5 1 0\nsummary: 120 7 3\n"
    assert _module().read_totals(text) == {"Ir": 120, "I1mr": 7, "D1mr": 3}
    with pytest.raises(ValueError, match="not a cachegrind output"):
        _module().read_totals("events: Ir I1mr\nsummary: 1\n")


def test_without_valgrind_it_says_so_and_measures_nothing(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    mod = _module()
    monkeypatch.setattr(mod.shutil, "which", lambda _: None)
    assert mod.main(["--only", "alb-alias"]) == 0
    assert "valgrind is not installed" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed (.ci/run installs it)")
def test_an_mm4_event_costs_thousands_of_instructions() -> None:
    mod = _module()
    mm4 = str(BENCH.parent / "specs" / "mm4.yaml")
    events, per = mod.marginal(mm4, 4.0)
    assert events > 1000
    # a few Python frames per event: thousands of machine instructions, not hundreds or millions
    assert 2_000 < per["Ir"] < 50_000
    assert 0 <= per["I1 miss"] < per["Ir"] and 0 <= per["br miss"] < per["Ir"]
