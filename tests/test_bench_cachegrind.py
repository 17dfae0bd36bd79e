"""benchmarks/cachegrind.py: instructions, cache misses and mispredictions per event (issue 17)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "cachegrind.py"


def test_totals_are_read_by_event_name(bench: Any) -> None:
    text = "desc: I1 cache: 32768 B\ncmd: python\nevents: Ir I1mr D1mr\nfl=a.c\nfn=f\n1 5 1 0\nsummary: 120 7 3\n"
    assert bench("cachegrind").read_totals(text) == {"Ir": 120, "I1mr": 7, "D1mr": 3}
    with pytest.raises(ValueError, match="not a cachegrind output"):
        bench("cachegrind").read_totals("events: Ir I1mr\nsummary: 1\n")


def test_without_valgrind_it_says_so_and_measures_nothing(bench: Any, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    mod = bench("cachegrind")
    monkeypatch.setattr(mod.shutil, "which", lambda _: None)
    assert mod.main(["--only", "alb-alias"]) == 0
    assert "valgrind is not installed" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed (.ci/run installs it)")
def test_an_mm4_event_costs_thousands_of_instructions(bench: Any) -> None:
    mod = bench("cachegrind")
    mm4 = str(BENCH.parent / "specs" / "mm4.yaml")
    events, per = mod.marginal(mm4, 4.0)
    assert events > 1000
    # a few Python frames per event: thousands of machine instructions, not hundreds or millions
    assert 2_000 < per["Ir"] < 50_000
    assert 0 <= per["I1 miss"] < per["Ir"] and 0 <= per["br miss"] < per["Ir"]
