"""Determinism: one seed, one result; and components do not disturb each other's draws.

Hypothesis generates small specs (one or two ``ec2`` with random handlers, a
workload with Poisson or evenly spaced arrivals, sometimes sessions, a client
timeout or a fault) and seeds. The same spec and seed must give byte-identical
results JSON (wall time aside); a different seed must give different numbers;
and adding a component plus its own workload must not change a single draw of
an existing workload: every number it reports stays identical.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import cloudtwin
from cloudtwin import Results, Simulation

cpu = st.sampled_from(["exp(5ms)", "exp(20ms)", "lognormal(10ms, 80ms)", "uniform(1ms, 9ms)", "3ms"])


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    handler: list[dict[str, Any]] = [{"cpu": draw(cpu)}]
    components: dict[str, Any] = {}
    if draw(st.booleans()):
        components["db"] = {"type": "ec2", "workers": draw(st.integers(1, 4)), "handler": [{"cpu": draw(cpu)}]}
        handler.append({"call": "db", "timeout": "50ms", "retries": draw(st.integers(0, 2)), "backoff": "5ms"})
    if draw(st.booleans()):
        handler.append({"sleep": "exp(2ms)"})
    components["app"] = {"type": "ec2", "count": draw(st.integers(1, 2)), "workers": draw(st.integers(1, 4)),
                         "backlog": draw(st.sampled_from([2, 1024])), "handler": handler}
    users: dict[str, Any] = {"entry": "app", "rate": f"{draw(st.sampled_from([20, 80, 200]))}/s",
                             "arrivals": draw(st.sampled_from(["poisson", "constant"]))}
    if draw(st.booleans()):
        users["timeout"] = "100ms"
    if draw(st.integers(0, 3)) == 0:
        users["sessions"] = {"requests": 3, "think": "exp(1s)", "state": "none"}
    faults = []
    if draw(st.booleans()):
        faults.append(draw(st.sampled_from([
            {"at": "20s", "errors": "app", "rate": 0.3, "duration": "10s"},
            {"at": "30s", "latency": "app", "add": "exp(20ms)", "duration": "10s"},
            {"at": "40s", "terminate": "app"},
        ])))
    return {"name": "det", "components": components, "workloads": {"users": users}, "faults": faults,
            "simulate": {"duration": "1m"}}


def run(spec: dict[str, Any], seed: int) -> Results:
    return Simulation(cloudtwin.parse_spec(yaml.safe_dump(spec)), seed=seed).run()


@settings(max_examples=20)
@given(specs(), st.integers(0, 2**63 - 1))
def test_same_spec_and_seed_give_identical_results(spec: dict[str, Any], seed: int) -> None:
    a = run(spec, seed)
    b = run(spec, seed)
    assert a.deterministic_json() == b.deterministic_json()
    assert a["events"] == b["events"] > 0
    # ... and wall time is the only thing deterministic_json leaves out
    assert set(json.loads(a.deterministic_json())) == set(a.data) - {"wall_s"}


@settings(max_examples=15)
@given(specs(), st.integers(0, 2**32))
def test_different_seeds_give_different_runs(spec: dict[str, Any], seed: int) -> None:
    """Every generated spec has a random cpu step or Poisson arrivals whose draws
    show in the latency sum or the request count, so two seeds cannot agree."""
    a = run(spec, seed)
    b = run(spec, seed + 1)
    assert a.deterministic_json() != b.deterministic_json()
    wa, wb = a.workload("users"), b.workload("users")
    random_arrivals = spec["workloads"]["users"]["arrivals"] == "poisson"
    random_cpu = any("cpu" in s and not s["cpu"].endswith("ms") or "(" in s.get("cpu", "")
                     for c in spec["components"].values() for s in c["handler"])
    if random_arrivals or random_cpu:
        assert (wa["requests"], wa["latency_ms"].get("mean")) != (wb["requests"], wb["latency_ms"].get("mean"))


@settings(max_examples=15)
@given(specs(), st.integers(0, 2**32), st.sampled_from(["poisson", "constant"]))
def test_an_unrelated_component_does_not_change_other_draws(spec: dict[str, Any], seed: int,
                                                            arrivals: str) -> None:
    """Random streams are named per consumer, so adding ``other`` (and a workload
    that only uses it) leaves every draw of ``users`` and ``app`` as it was: same
    request count, same latencies to the microsecond, same errors."""
    base = run(spec, seed)
    bigger = dict(spec)
    bigger["components"] = {"other": {"type": "ec2", "workers": 2, "handler": [{"cpu": "exp(7ms)"}]},
                            **spec["components"]}
    bigger["workloads"] = {"extra": {"entry": "other", "rate": "50/s", "arrivals": arrivals},
                           **spec["workloads"]}
    more = run(bigger, seed)
    assert more.workload("extra")["requests"] > 0
    assert more.workload("users") == base.workload("users")
    for name in spec["components"]:
        assert more.component(name) == base.component(name), name
    assert more["series"]["workloads"]["users"] == base["series"]["workloads"]["users"]


def test_seed_changes_arrivals_but_not_their_rate() -> None:
    """Two seeds of a 1-minute Poisson workload at 200/s: different counts, both
    within 4 sd (sqrt(12000) ~ 110) of 12,000."""
    spec = {"name": "p", "components": {"app": {"type": "ec2", "workers": 4, "handler": [{"cpu": "exp(5ms)"}]}},
            "workloads": {"users": {"entry": "app", "rate": "200/s"}}, "simulate": {"duration": "1m"}}
    counts = [run(spec, s).workload("users")["requests"] for s in (1, 2)]
    assert counts[0] != counts[1]
    assert all(abs(n - 12_000) < 440 for n in counts), counts
