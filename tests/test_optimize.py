"""`cloudtwin optimize`: the cheapest configuration meeting an SLO, checked against runs made
directly, with the store as a cache and a seeded search that is deterministic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import cloudtwin
from cloudtwin.cli import app
from cloudtwin.errors import SpecError
from cloudtwin.sweep import store as store_mod
from cloudtwin.sweep.plan import metrics
from cloudtwin.sweep.slo import parse_slo

runner = CliRunner()
SPEC = """name: opt
zones: [a, b]
components:
  lb: {type: alb, zones: [a, b], targets: app}
  app:
    type: asg
    instance_type: m5.large
    zones: [a, b]
    capacity: {min: 1, desired: 1, max: 8}
    handler:
      - cpu: exp(20ms)
workloads:
  users: {entry: lb, rate: 150/s}
simulate: {duration: 2m, seed: 3}
"""
SLO = "availability>=99.9%, p99<=120ms"


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    p = tmp_path / "opt.yaml"
    p.write_text(SPEC)
    return p


def optimize(spec: Path, out: Path, *args: str) -> Any:
    return runner.invoke(app, ["optimize", str(spec), "-o", str(out), "-f", "json", *args])


def test_slo_terms() -> None:
    a, p99, cost = parse_slo("availability>=99.9%, p99<=0.2s, cost<=$500")
    assert (a.column, a.op, a.bound) == ("availability", ">=", pytest.approx(0.999))
    assert (p99.column, p99.bound) == ("p99_ms", pytest.approx(200.0)) and str(p99) == "p99<=0.2s"
    assert cost.column == "monthly_usd" and cost.bound == 500
    assert a.violation({"availability": 0.9995}) == 0 and a.violation({"availability": None}) == float("inf")
    assert p99.violation({"p99_ms": 300.0}) == pytest.approx(0.5, abs=1e-6)  # 50 % over its bound
    for bad, needle in (("latency<=1s", "not a metric"), ("availability>=120%", "outside 0..100%"),
                        ("p99<=fast", "expected a duration"), ("p99 = 1s", "expected METRIC>=VALUE"), ("", "empty")):
        with pytest.raises(SpecError, match=needle):
            parse_slo(bad)


def direct(desired: int) -> dict[str, Any]:
    """The run optimize makes for a capacity, made here without it."""
    arch = cloudtwin.parse_spec(SPEC.replace("desired: 1", f"desired: {desired}"))
    return metrics(cloudtwin.Simulation(arch, seed=3).run().data)


def test_exhaustive_search_finds_the_cheapest_configuration_meeting_the_slo(spec: Path, tmp_path: Path) -> None:
    r = optimize(spec, tmp_path / "o", "--vary", "components.app.capacity.desired=1..4", "--slo", SLO)
    assert r.exit_code == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["exhaustive"] and got["tried"] == got["space"] == 4
    runs = {d: direct(d) for d in range(1, 5)}
    ok = [d for d, m in runs.items() if m["availability"] >= 0.999 and m["p99_ms"] <= 120]
    assert 1 not in ok and ok  # one instance cannot carry 150/s x 20 ms on 2 vCPUs (3 Erlangs): the SLO bites
    cheapest = min(ok, key=lambda d: runs[d]["monthly_usd"])
    assert got["best"]["set"] == {"components.app.capacity.desired": cheapest}
    assert got["best"]["metrics"]["monthly_usd"] == pytest.approx(runs[cheapest]["monthly_usd"])
    assert got["best"]["metrics"]["p99_ms"] == pytest.approx(runs[cheapest]["p99_ms"])
    # the front: no member is beaten on cost, p99 and availability at once by another feasible one
    front = got["pareto"]
    assert front[0] == got["best"] and all(t["feasible"] for t in front)
    infeasible = [t for t in got["trials"] if not t["feasible"]]
    assert {t["set"]["components.app.capacity.desired"] for t in infeasible} == set(range(1, 5)) - set(ok)


def test_the_store_is_a_cache(spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ("--vary", "components.app.capacity.desired=2..3", "--slo", SLO)
    assert optimize(spec, tmp_path / "o", *args).exit_code == 0
    calls: list[str] = []
    real = store_mod.Store.record
    monkeypatch.setattr(store_mod.Store, "record", lambda self, row, text: (calls.append(row["run"]),
                                                                           real(self, row, text)))
    r = optimize(spec, tmp_path / "o", "--vary", "components.app.capacity.desired=2..3", "--slo", "p99<=1s")
    assert r.exit_code == 0 and calls == []  # another SLO over the same runs: nothing runs again


def test_a_seeded_search_is_deterministic_and_never_beats_the_optimum(spec: Path, tmp_path: Path) -> None:
    args = ("--vary", "components.app.capacity.desired=1..4",
            "--vary", "components.app.instance_type=m5.large,m5.xlarge", "--slo", SLO, "--trials", "5")
    a = json.loads(optimize(spec, tmp_path / "a", *args).stdout)
    b = json.loads(optimize(spec, tmp_path / "b", *args).stdout)
    assert not a["exhaustive"] and a["space"] == 8 and a["tried"] <= 5
    assert [t["set"] for t in a["trials"]] == [t["set"] for t in b["trials"]]
    full = json.loads(optimize(spec, tmp_path / "c", *args[:-2], "--trials", "8").stdout)
    assert full["exhaustive"]
    if a["best"] is not None:
        assert a["best"]["metrics"]["monthly_usd"] >= full["best"]["metrics"]["monthly_usd"]


def test_no_configuration_meeting_the_slo_exits_1_and_bad_input_2(spec: Path, tmp_path: Path) -> None:
    r = runner.invoke(app, ["optimize", str(spec), "-o", str(tmp_path / "o"), "--vary",
                            "components.app.capacity.desired=1..2", "--slo", "p99<=1ms"])
    assert r.exit_code == 1 and "no configuration tried meets the SLO" in r.stdout
    r = optimize(spec, tmp_path / "p", "--vary", "components.app.capacity.desired=0..2", "--slo", SLO)
    assert r.exit_code == 2 and f"{spec}:9: components.app.capacity" in r.stderr and "(--vary " in r.stderr
    r = optimize(spec, tmp_path / "p", "--vary", "components.app.capacity.desired=1..2",
                 "--vary", "components.app.capacity.desired=3", "--slo", SLO)
    assert r.exit_code == 2 and "given twice" in r.stderr
    assert not (tmp_path / "p").exists()
