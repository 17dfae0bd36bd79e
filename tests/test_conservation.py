"""Conservation: every request and session is accounted for, whatever the spec and faults.

Hypothesis builds small valid specs: one to three ``ec2`` components (random
workers, counts, zones and backlogs, down to 0 so connections are refused),
handlers of cpu/sleep steps and calls to *later* components (so no cycles) with
timeouts and retries, one or two workloads (Poisson or evenly spaced, with or
without a client timeout or sessions), and faults at random times: terminate,
replace, AZ outage, injected latency and errors. After each run:

* ``requests == succeeded + failed + in_flight`` and the errors by kind sum to
  ``failed``, per workload;
* sessions balance: ``started == completed + lost + active``;
* at no instant did an instance have more busy workers than requests in it
  (its busy-time integral is at most its in-system integral);
* the run did not raise :class:`~cloudtwin.InvariantViolation`.

With a long drain (traffic ramps to zero, then the run goes on for minutes)
nothing may be left anywhere: no request in flight, no live session, no queued
or busy worker on any instance.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st

import cloudtwin
from cloudtwin import Results, Simulation

RUN_S = 120  # seconds of traffic
DRAIN_S = 600  # seconds of no new traffic afterwards

durations_ms = st.sampled_from([1, 2, 5, 10, 20, 50])


@st.composite
def steps(draw: st.DrawFn, me: int, n: int) -> list[dict[str, Any]]:
    """1-3 handler steps for component ``c{me}`` of ``n``; calls go only to later components."""
    out: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 3))):
        kinds = ["cpu", "sleep"] + (["call"] if me + 1 < n else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "cpu":
            form = draw(st.sampled_from(["exp({}ms)", "{}ms", "uniform(0ms, {}ms)"]))
            out.append({"cpu": form.format(draw(durations_ms))})
        elif kind == "sleep":
            out.append({"sleep": f"exp({draw(durations_ms)}ms)"})
        else:
            call: dict[str, Any] = {"call": f"c{draw(st.integers(me + 1, n - 1))}"}
            if draw(st.booleans()):
                call["timeout"] = f"{draw(st.sampled_from([5, 20, 100, 500]))}ms"
            retries = draw(st.integers(0, 2))
            if retries:
                call["retries"] = retries
                call["backoff"] = "10ms"
            out.append(call)
    return out


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 3))
    components = {}
    for i in range(n):
        components[f"c{i}"] = {
            "type": "ec2",
            "workers": draw(st.integers(1, 4)),
            "backlog": draw(st.sampled_from([0, 1, 2, 5, 1024])),
            "count": draw(st.integers(1, 2)),
            "zones": draw(st.sampled_from([["a"], ["a", "b"]])),
            "boot_time": "uniform(5s, 20s)",
            "handler": draw(steps(i, n)),
        }
    workloads = {}
    for k in range(draw(st.integers(1, 2))):
        w: dict[str, Any] = {
            "entry": f"c{draw(st.integers(0, n - 1))}",
            "rate": f"{draw(st.sampled_from([5, 20, 60, 150]))}/s",
            "arrivals": draw(st.sampled_from(["poisson", "constant"])),
        }
        if draw(st.booleans()):
            w["timeout"] = f"{draw(st.sampled_from([10, 50, 300, 2000]))}ms"
        if draw(st.booleans()):
            w["sessions"] = {"requests": draw(st.integers(1, 4)), "think": "exp(500ms)",
                             "state": draw(st.sampled_from(["instance", "none", "cookie"]))}
        workloads[f"w{k}"] = w
    faults: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 3))):
        at = f"{draw(st.integers(1, RUN_S - 1))}s"
        target = f"c{draw(st.integers(0, n - 1))}"
        kind = draw(st.sampled_from(["terminate", "replace", "az_outage", "latency", "errors"]))
        if kind == "az_outage":
            faults.append({"at": at, "az_outage": draw(st.sampled_from(["a", "b"])),
                           "duration": f"{draw(st.integers(1, 60))}s"})
        elif kind == "latency":
            faults.append({"at": at, "latency": target, "add": "exp(30ms)", "duration": "20s"})
        elif kind == "errors":
            faults.append({"at": at, "errors": target, "rate": draw(st.sampled_from([0.1, 0.5, 1.0])),
                           "duration": "15s"})
        else:
            faults.append({"at": at, kind: target})
    return {"name": "random", "zones": ["a", "b"], "components": components, "workloads": workloads,
            "faults": faults, "simulate": {"duration": f"{RUN_S}s"}}


def simulate(spec: dict[str, Any], seed: int, *, drain: bool) -> tuple[Results, Simulation]:
    spec = dict(spec)
    if drain:
        # Traffic stops at RUN_S (sessions already started carry on); the run goes on DRAIN_S more.
        ramp = {"type": "ramp", "at": f"{RUN_S}s", "duration": "1s", "start": 1, "end": 0}
        spec["workloads"] = {n: {**w, "profile": ramp} for n, w in spec["workloads"].items()}
        spec["simulate"] = {"duration": f"{RUN_S + DRAIN_S}s"}
    sim = Simulation(cloudtwin.parse_spec(yaml.safe_dump(spec)), seed=seed)
    return sim.run(), sim  # run() raises InvariantViolation on a broken identity


def check_balances(r: Results, sim: Simulation) -> None:
    for name, w in r["workloads"].items():
        assert w["requests"] == w["succeeded"] + w["failed"] + w["in_flight"], name
        assert w["in_flight"] >= 0, name
        assert sum(w["errors"].values()) == w["failed"], name
        assert w["requests"] > 0, name
    s = r["sessions"]
    assert s["started"] == s["completed"] + s["lost"] + s["active"]
    for comp in sim.components.values():
        for inst in comp.launched:  # type: ignore[attr-defined]
            assert 0 <= inst.busy <= inst.slots and inst.active >= 0
            assert inst.busy_seconds() <= inst.in_system_seconds() * (1 + 1e-9) + 1e-9, inst.iid


def note_coverage(r: Results) -> None:
    """Which failure kinds the examples reached (``pytest --hypothesis-show-statistics``)."""
    for w in r["workloads"].values():
        for kind, n in w["errors"].items():
            if n:
                event(f"some {kind}")


@pytest.mark.slow
@settings(max_examples=60)
@given(specs(), st.integers(0, 2**32))
def test_requests_and_sessions_are_conserved(spec: dict[str, Any], seed: int) -> None:
    r, sim = simulate(spec, seed, drain=False)
    assert r["simulated_s"] == RUN_S
    check_balances(r, sim)
    note_coverage(r)


@pytest.mark.slow
@settings(max_examples=40)
@given(specs(), st.integers(0, 2**32))
def test_nothing_is_stuck_after_a_long_drain(spec: dict[str, Any], seed: int) -> None:
    r, sim = simulate(spec, seed, drain=True)
    check_balances(r, sim)
    note_coverage(r)
    for name, w in r["workloads"].items():
        assert w["in_flight"] == 0, f"{name}: {w['in_flight']} requests stuck after {DRAIN_S}s of drain"
    assert r["sessions"]["active"] == 0
    for comp in sim.components.values():
        for inst in comp.launched:  # type: ignore[attr-defined]
            assert inst.active == 0 and inst.busy == 0 and not inst.queue, inst.iid
    # The per-minute series cover the whole run and add up to the totals.
    for name, w in r["workloads"].items():
        assert len(r["series"]["t"]) == (RUN_S + DRAIN_S) // 60
        assert sum(r["series"]["workloads"][name]["requests"]) == w["succeeded"] + w["failed"]


def test_refused_connections_are_counted_as_unavailable() -> None:
    """A concrete case of the above: one worker, no backlog, a request every 10 ms
    needing 35 ms of CPU. Exactly one in four finds the worker free; the other
    three are refused (``unavailable``), and nothing else happens to them."""
    spec = {"name": "refuse", "components": {"c0": {"type": "ec2", "workers": 1, "backlog": 0,
                                                    "handler": [{"cpu": "35ms"}]}},
            "workloads": {"w0": {"entry": "c0", "rate": "100/s", "arrivals": "constant"}},
            "simulate": {"duration": f"{RUN_S}s"}}
    r, sim = simulate(spec, 1, drain=False)
    check_balances(r, sim)
    w = r.workload("w0")
    assert abs(w["requests"] - 100 * RUN_S) <= 1  # 0.01 s gaps summed in floating point
    assert w["failed"] == w["errors"]["unavailable"]
    assert w["succeeded"] + w["in_flight"] == (w["requests"] + 3) // 4  # arrivals 1, 5, 9, ...
    assert w["latency_ms"]["min"] == w["latency_ms"]["max"] == 35.0
