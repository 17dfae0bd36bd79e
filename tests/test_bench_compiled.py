"""The compiled layer's module list (tools/build_fast.py --layer) and how a row of
benchmarks/compiled_layer.py reads (issue 17).

The build takes about 5 minutes with mypyc and is not run here (make fast builds it);
docs/performance.md records the measurement and the command."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"


def test_the_module_list_names_real_modules_and_every_service_class_base() -> None:
    spec = importlib.util.spec_from_file_location("build_fast", ROOT / "tools" / "build_fast.py")
    assert spec is not None and spec.loader is not None
    build_fast = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_fast)
    mods = build_fast.layer_modules()
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


def test_the_fastest_run_counts_and_differing_runs_are_an_error(bench: Any) -> None:
    pick = bench("compiled_layer").pick
    runs = [{"events": 10, "events_per_s": 1.0, "digest": "x"}, {"events": 10, "events_per_s": 3.0, "digest": "x"},
            {"events": 10, "events_per_s": 2.0, "digest": "x"}]
    assert pick(runs)["events_per_s"] == 3.0
    assert "differ" in pick([runs[0], {**runs[1], "digest": "y"}])["error"]
    assert pick([runs[0], {"error": "boom"}]) == {"error": "boom"}


def test_the_runs_under_half_of_mm4_are_listed_with_their_ratio(bench: Any) -> None:
    below_half = bench("compiled_layer").below_half
    fast, slow = {"events_per_s": 600_000.0}, {"events_per_s": 400_000.0}
    runs = [("fan-out", slow, fast), ("dx-shared", slow, slow), ("x", {"error": "boom"}, fast)]
    assert below_half(runs, True, 1_000_000.0) == ["dx-shared 0.40"]
    assert below_half(runs, False, 1_000_000.0) == ["fan-out 0.40", "dx-shared 0.40"]
    assert below_half(runs, True, 1_200_000.0) == ["dx-shared 0.33"]


def test_min_events_stretches_a_run_by_a_whole_factor(bench: Any) -> None:
    """``--min-events``: the measured run is the blueprint at a whole multiple of its length,
    with at least that many events (ecs-schedule's 58 minutes give 849 events)."""
    measure = bench("compiled_layer").measure
    plain = measure(False, "ecs-schedule")
    assert plain["events"] == 849
    stretched = measure(False, "ecs-schedule", None, 2_000)
    assert stretched["events"] >= 2_000 and stretched["digest"] != plain["digest"]
    assert stretched["events"] < 3 * 2_000  # 3 x 58 minutes, not more
