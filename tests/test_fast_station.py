"""The fast path (cloudtwin.fastpath, cloudtwin.engine.station) against the general engine.

Every run that the fast path takes must give the same results as the event loop, bit for
bit: the whole results dict minus ``wall_s`` (events, per-minute series, percentiles,
utilisation, cost). Hypothesis varies the workers, the load, the service distribution,
the accept queue's bound (so that requests are refused), the seed and the stop condition.
The compiled station and the pure-Python one (imported from the ``.py`` by path) must agree
too, and the selector must refuse every shape it cannot replay exactly.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudtwin import fastpath
from cloudtwin.engine import station as compiled_station
from cloudtwin.simulation import Simulation
from cloudtwin.spec import parse_spec

SPEC = """\
name: station
components:
  app:
    type: ec2
    instance_type: m5.xlarge
    workers: {workers}
    backlog: {backlog}
    handler:
      - cpu: {dist}
workloads:
  users:
    entry: app
    rate: {rate!r}/s
simulate:
  seed: {seed}
"""

MEAN_MS = 10.0
DISTS = {
    "exp": f"exp({MEAN_MS:g}ms)",
    "const": f"{MEAN_MS:g}ms",
    "lognormal": "lognormal(median=8ms, p99=40ms)",
    "uniform": "uniform(2ms, 18ms)",
}


def spec(workers: int, rho: float, dist: str, seed: int, backlog: int = 1024, rate: float | None = None) -> str:
    if rate is None:
        rate = round(rho * workers / (MEAN_MS / 1000.0), 6)
    return SPEC.format(workers=workers, backlog=backlog, dist=DISTS[dist], rate=rate, seed=seed)


def run(text: str, *, fast: bool, requests: int | None = None, duration: float | None = None,
        station: Any = None) -> tuple[dict[str, Any], bool]:
    """The results (minus wall_s) and whether the fast path ran."""
    arch = parse_spec(text)
    sim = Simulation(arch, requests=requests, duration=duration)
    sim.fast = fast
    used = []
    real_run, real_station = fastpath.run, fastpath._station

    def spy(p: fastpath.Plan) -> str | None:
        used.append(p)
        return real_run(p)

    fastpath.run = spy  # type: ignore[assignment]
    if station is not None:
        fastpath._station = station
    try:
        res = sim.run()
    finally:
        fastpath.run = real_run  # type: ignore[assignment]
        fastpath._station = real_station
    data = json.loads(res.deterministic_json())
    assert "wall_s" not in data
    return data, bool(used)


def pure_station() -> Any:
    """engine/station.py itself, never its compiled form."""
    path = Path(compiled_station.__file__).with_name("station.py")
    spec_ = importlib.util.spec_from_file_location("cloudtwin_station_pure", path)
    assert spec_ is not None and spec_.loader is not None
    mod = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(mod)
    assert mod.__file__.endswith(".py")
    return mod


PURE = pure_station()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    workers=st.integers(1, 16),
    rho=st.floats(0.1, 0.99),
    dist=st.sampled_from(sorted(DISTS)),
    seed=st.integers(0, 2**31 - 1),
    backlog=st.sampled_from([0, 1, 3, 1024]),
    stop=st.one_of(
        st.tuples(st.just("requests"), st.integers(1, 4000), st.just(0.0)),
        st.tuples(st.just("duration"), st.just(0), st.floats(0.5, 150.0)),
        st.tuples(st.just("both"), st.integers(1, 4000), st.floats(0.5, 150.0)),  # whichever comes first
    ),
)
def test_fast_equals_general(workers: int, rho: float, dist: str, seed: int, backlog: int,
                             stop: tuple[str, int, float]) -> None:
    text = spec(workers, rho, dist, seed, backlog)
    kw: dict[str, Any] = {}
    if stop[0] in ("requests", "both"):
        kw["requests"] = stop[1]
    if stop[0] in ("duration", "both"):  # at most a few thousand requests at low rates too
        kw["duration"] = min(stop[2], 4000 / (rho * workers / (MEAN_MS / 1000.0)))
    fast, used = run(text, fast=True, **kw)
    general, used_general = run(text, fast=False, **kw)
    assert used and not used_general
    assert fast == general
    assert fast["workloads"]["users"]["requests"] >= 1 or stop[0] != "requests"


@pytest.mark.parametrize("dist", sorted(DISTS))
def test_fast_equals_general_over_minutes(dist: str) -> None:
    """Long enough for many minute ticks, latency-buffer flushes and runtime-guard calls."""
    text = spec(4, 0.9, dist, 7)
    fast, used = run(text, fast=True, requests=120_000)
    general, _ = run(text, fast=False, requests=120_000)
    assert used
    assert fast == general
    assert fast["events"] > 240_000 and len(fast["series"]["t"]) >= 5
    u = fast["components"]["app"]["utilization"]
    assert abs(u - 0.9) < 0.03  # and it is the M/M/4 it claims to be


def test_refusals_are_identical() -> None:
    """Overload (twice the capacity) against a short accept queue: refused requests, counted
    the same way."""
    text = spec(2, 0.5, "exp", 3, backlog=2, rate=400.0)
    fast, used = run(text, fast=True, requests=3000)
    general, _ = run(text, fast=False, requests=3000)
    assert used
    assert fast == general
    assert fast["workloads"]["users"]["errors"]["unavailable"] > 100


def test_compiled_and_pure_python_agree() -> None:
    text = spec(4, 0.9, "exp", 11)
    pure, used_pure = run(text, fast=True, requests=30_000, station=PURE)
    comp, used_comp = run(text, fast=True, requests=30_000)
    assert used_pure and used_comp
    assert pure == comp
    if not fastpath.compiled():
        pytest.skip("no compiled station (run tools/build_fast.py): only the pure-Python one was checked")


def test_station_refuses_ties() -> None:
    """An end and an arrival at exactly the same instant: which runs first is the event loop's
    sequence numbers' decision, which the station does not keep, so it gives up (TIE)."""
    for mod in (compiled_station, PURE):
        st_ = mod.Station(1, 10, 4096)
        st_.next_arrival = 1.0
        st_.gaps = [1.0] * 10  # arrivals at 1, 2, 3, ...
        st_.services = [1.0] * 10  # each ends when the next arrives
        st_.budget = 1000
        assert st_.run() == mod.TIE
        assert st_.now == 1.0 and st_.arrivals == 1 and st_.served == 0
        # and a zero service time is no tie: the end is scheduled after the arrival that drew it
        st_ = mod.Station(1, 10, 4096)
        st_.next_arrival, st_.gaps, st_.services, st_.budget = 1.0, [0.5] * 10, [0.0] * 10, 1000
        st_.remaining = 3
        assert st_.run() == mod.DONE
        assert (st_.now, st_.arrivals, st_.served, st_.lat_a) == (2.0, 3, 3, [0.0, 0.0, 0.0])


def test_a_tie_reruns_on_the_general_engine() -> None:
    """When the station gives up half-way, the run is made again on the general engine: the
    results are the general engine's, and the Simulation object holds that run's state."""

    class GiveUpAtTick(PURE.Station):  # type: ignore[misc, name-defined]
        def run(self) -> int:
            reason: int = super().run()
            return int(PURE.TIE) if reason == PURE.TICK else reason

    class Module:
        Station = GiveUpAtTick

        def __getattr__(self, name: str) -> Any:
            return getattr(PURE, name)

    text = spec(4, 0.8, "exp", 5)
    general, _ = run(text, fast=False, requests=50_000)
    fast, used = run(text, fast=True, requests=50_000, station=Module())
    assert used and fast == general


def test_env_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDTWIN_FAST", "0")
    _, used = run(spec(4, 0.5, "exp", 1), fast=True, requests=100)
    assert not used
    monkeypatch.setenv("CLOUDTWIN_FAST", "1")
    _, used = run(spec(4, 0.5, "exp", 1), fast=True, requests=100)
    assert used


def _with_workload_key(text: str, line: str) -> str:
    return text.replace("    entry: app\n", f"    entry: app\n    {line}\n")


@pytest.mark.parametrize("case", [
    "fault", "timeout", "retries", "profile", "sessions", "second component", "second workload",
    "two instances", "two steps", "a sleep step", "scaling group", "periodic arrivals", "failures",
])
def test_selector_refuses(case: str) -> None:
    base = spec(2, 0.5, "exp", 1)
    text = {
        "fault": base + "faults:\n  - {at: 10s, replace: app}\n",
        "timeout": _with_workload_key(base, "timeout: 1s"),
        "retries": _with_workload_key(base, "retries: 2"),
        "profile": _with_workload_key(base, "profile: {type: spike, at: 10s, duration: 10s, factor: 2}"),
        "sessions": _with_workload_key(base, "sessions: {requests: 3, think: 2s}"),
        "second component": base.replace("workloads:", "  other:\n    type: ec2\n    instance_type: m5.large\n"
                                          "    handler:\n      - cpu: 1ms\nworkloads:"),
        "second workload": base.replace("simulate:", "  more:\n    entry: app\n    rate: 5/s\nsimulate:"),
        "two instances": base.replace("    workers: 2\n", "    workers: 2\n    count: 2\n"),
        "two steps": base.replace("      - cpu: exp(10ms)\n", "      - cpu: exp(10ms)\n      - cpu: 1ms\n"),
        "a sleep step": base.replace("      - cpu: exp(10ms)\n", "      - sleep: 5ms\n"),
        "scaling group": base.replace("type: ec2", "type: asg\n    capacity: {min: 1, desired: 1, max: 2}\n"
                                       "    scaling: {target_cpu: 50}"),
        "periodic arrivals": _with_workload_key(base, "arrivals: constant"),
        "failures": base + "failures:\n  app:\n    mtbf: 1h\n",
    }[case]
    arch = parse_spec(text)
    sim = Simulation(arch, duration=30.0)
    tried = []
    real_plan = fastpath.plan

    def spy(s: Simulation) -> fastpath.Plan | None:
        p = real_plan(s)
        tried.append(p)
        return p

    fastpath.plan = spy  # type: ignore[assignment]
    try:
        sim.run()
    finally:
        fastpath.plan = real_plan  # type: ignore[assignment]
    assert tried == [None]
