"""Thinned arrivals decided ahead give what popping every candidate gives (issue 17).

A workload with a rate profile draws Poisson candidates at the peak rate and drops those the
profile thins. :mod:`cloudtwin.workloads_thinning` makes those draws ahead and counts each
dropped candidate as a no-op event without scheduling it. These tests run the same specs
through the general arrival path (every candidate popped as an event) and compare everything.
"""

from __future__ import annotations

import json

import pytest

from cloudtwin import Simulation, parse_spec
from cloudtwin.workloads import WorkloadRun

SPEC = """
name: thin
zones: [a, b]
components:
  fn:
    type: lambda
    memory: 1024
    handler: [{{cpu: exp(20ms)}}]
workloads:
  w:
    entry: fn
    rate: 40/s
    profile: {profile}
simulate: {{duration: {duration}, seed: 5}}
"""

PROFILES = [
    "{type: spike, at: 1m, duration: 30s, factor: 3}",
    "{type: diurnal, low: 0.1, high: 1.0, period: 2m, peak_at: 30s}",
    "{type: ramp, at: 0s, duration: 3m, start: 0.0, end: 1.0}",  # a lull: long runs dropped
    "{type: ramp, at: 0s, duration: 1m, start: 1.0, end: 0.0}",  # nothing after 1 m: runs away
]


def _run(spec: str, general: bool, monkeypatch: pytest.MonkeyPatch, **kw: object) -> tuple[dict, int, float]:
    with monkeypatch.context() as m:
        if general:  # every candidate an event, as before: the look-ahead switched off
            m.setattr(WorkloadRun, "_look_ahead", lambda self, t: self.engine.at(t, self._arrive))
            m.setattr(WorkloadRun, "_arrive_thinned", WorkloadRun._arrive)
        sim = Simulation(parse_spec(spec), **kw)  # type: ignore[arg-type]
        res = sim.run()
        if general:
            assert not sim.workloads["w"].thinned._q  # nothing went through the ghosts
    return json.loads(res.deterministic_json()), sim.engine.events, sim.engine.now


@pytest.mark.python_only
@pytest.mark.parametrize("profile", PROFILES)
def test_the_same_results_events_and_clock_as_popping_every_candidate(
        profile: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = SPEC.format(profile=profile, duration="3m")
    fast = _run(spec, False, monkeypatch)
    assert fast == _run(spec, True, monkeypatch)
    assert fast[0]["workloads"]["w"]["requests"] > 500


@pytest.mark.python_only
def test_a_run_stopped_by_its_request_count_counts_the_dropped_candidates_before_the_stop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    spec = SPEC.format(profile=PROFILES[1], duration="10m")
    fast = _run(spec, False, monkeypatch, requests=3000, duration=None)
    assert fast == _run(spec, True, monkeypatch, requests=3000, duration=None)


def test_dropped_candidates_are_not_popped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a 3x spike, two thirds of the candidates outside it are dropped: they count as
    events but never reach the heap."""
    spec = SPEC.format(profile=PROFILES[0], duration="3m")
    sim = Simulation(parse_spec(spec))
    popped = 0
    import cloudtwin.engine.core as core

    real = core.heappop

    def counting(heap: list) -> object:
        nonlocal popped
        popped += 1
        return real(heap)

    monkeypatch.setattr(core, "heappop", counting)
    sim.run()
    dropped = sim.engine.events - popped
    # 150 min of candidates at 120/s, of which 2/3 dropped outside the 30 s spike
    assert 0.6 * 150 * 120 * 2 / 3 < dropped < 1.4 * 150 * 120 * 2 / 3
