"""benchmarks/compiled_layer.py: what it compiles, and how a row reads (issue 17).

The whole measurement builds the runtime with mypyc (about 5 minutes) and is not run here;
docs/performance.md records its figures and the command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "compiled_layer.py"
SRC = BENCH.parent.parent / "src"


def test_the_module_list_names_real_modules_and_every_service_class_base(bench: Any) -> None:
    mods = bench("compiled_layer").modules()
    assert len(mods) == len(set(mods)) > 50
    for m in mods:
        assert (SRC / m).is_file(), m
    # Component and the services built on it are compiled together (their __slots__ would
    # hide a compiled base's attributes); the sampler's itertools.chain subclass cannot be
    assert "cloudtwin/component.py" in mods and "cloudtwin/services/elb.py" in mods
    assert "cloudtwin/engine/sampling.py" not in mods


def test_a_row_gives_both_speeds_the_ratios_and_whether_results_match(bench: Any) -> None:
    row = bench("compiled_layer").row
    a = {"events": 1000, "events_per_s": 300_000.0, "digest": "x"}
    b = {"events": 1000, "events_per_s": 600_000.0, "digest": "x"}
    cells = row("fan-out", a, b, 1_000_000.0, 1_200_000.0).split()
    assert cells == ["fan-out", "1,000", "300,000", "0.30", "600,000", "0.50", "2.00", "yes"]
    assert row("fan-out", a, {**b, "digest": "y"}, 1e6, 1e6).split()[-1] == "NO"
    failed = row("ip-block-nacl", a, {"error": "TypeError: layout differs"}, 1e6, 1e6)
    assert "compiled run failed: TypeError: layout differs" in failed
    assert "interpreted run failed" in row("x", {"error": "boom"}, b, 1e6, 1e6)
