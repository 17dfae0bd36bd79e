"""benchmarks/opcodes.py: the bytecode count of a run is a deterministic measure (issue 17)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "opcodes.py"


@pytest.mark.python_only
def test_the_count_is_the_same_in_every_run_and_grows_with_the_events(bench: Any) -> None:
    count = bench("opcodes").count
    mm4 = str(BENCH.parent / "specs" / "mm4.yaml")
    short, again, longer = count(mm4, 2.0), count(mm4, 2.0), count(mm4, 8.0)
    assert short == again  # same spec and seed: the same events and the same bytecodes
    assert longer[0] > short[0] > 0
    per_event = (longer[1] - short[1]) / (longer[0] - short[0])
    # an M/M/4 event is an arrival or a departure: a few Python frames, not one, not thousands
    assert 20 < per_event < 2000


@pytest.mark.python_only
def test_main_prints_a_row_per_blueprint(bench: Any, capsys) -> None:  # type: ignore[no-untyped-def]
    assert bench("opcodes").main(["--only", "alb-alias", "--seconds", "4"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2].startswith("M/M/4") and out[3].startswith("alb-alias")
    assert float(out[3].split()[-1]) > 0
