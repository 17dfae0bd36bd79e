"""Elastic Load Balancing: health checks, fail-open, routing, stickiness, cross-zone,
deregistration and the source IP targets see. Numbers come from aws-facts §1."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

import cloudtwin
from cloudtwin.engine import stream
from cloudtwin.request import Client, Request
from cloudtwin.services.ec2 import Instance
from cloudtwin.simulation import Simulation


def sim_of(text: str, **kw: Any) -> Simulation:
    return Simulation(cloudtwin.parse_spec(textwrap.dedent(text)), **kw)


def health(results: cloudtwin.Results, target: str, state: str) -> list[float]:
    """Times at which ``target`` entered ``state`` (from the timeline)."""
    return [e["t"] for e in results["timeline"] if e["kind"] == "health" and e.get("target") == target
            and e.get("state") == state and "registered" not in e["detail"]]


def first_check_after(lb: str, iid: str, t: float, interval: float, seed: int = 1) -> float:
    """The first health check of ``iid`` sent after ``t``: checks run at a per-target
    phase drawn from the target's own stream, then every ``interval``."""
    phase = float(stream(seed, f"{lb}.health.{iid}").random()) * interval
    return phase + math.ceil((t - phase) / interval) * interval


def every(sim: Simulation, period: float, fn: Callable[[float], None]) -> None:
    sim.engine.every(period, fn, start=period)


# ---------------------------------------------------------------- health checks
UNHEALTHY_SPEC = """
name: hc
components:
  lb:
    type: alb
    targets: app
    zones: [a, b]  # an ALB needs two AZs; both instances are in a
    health_check: {{interval: 10s, timeout: 2s, unhealthy_threshold: {ut}}}
  app: {{type: ec2, count: 2, handler: [{{cpu: 1ms}}]}}
workloads:
  users: {{entry: lb, rate: 20/s}}
faults:
  - {{at: 100s, terminate: app, count: 1}}
simulate: {{duration: 300s, seed: 1}}
"""


@pytest.mark.parametrize("ut", [2, 4])
def test_unhealthy_after_exactly_threshold_failed_checks(ut: int) -> None:
    r = sim_of(UNHEALTHY_SPEC.format(ut=ut)).run()
    [t_bad] = health(r, "app-1", "unhealthy")
    # the k-th consecutive failing check is sent (k-1) intervals after the first,
    # and its failure is known when its 2 s timeout expires
    expected = first_check_after("lb", "app-1", 100.0, 10.0) + (ut - 1) * 10.0 + 2.0
    assert t_bad == pytest.approx(expected, abs=1e-3)
    assert 100.0 + (ut - 1) * 10.0 + 2.0 < t_bad <= 100.0 + ut * 10.0 + 2.0
    lb = r.component("lb")
    assert lb["healthy_targets"] == {"min": 1, "max": 2, "now": 1}
    # while app-1 was still registered as healthy, about half the requests hit a dead
    # instance: 20/s * 0.5 * (t_bad - 100) errors, within Poisson noise
    failed = r.workload("users")["errors"]["unavailable"]
    assert failed == pytest.approx(10.0 * (t_bad - 100.0), rel=0.25)
    assert r["series"]["components"]["lb"]["healthy_targets"][:1] == [2]
    assert min(r["series"]["components"]["lb"]["healthy_targets"]) == 1


def test_alb_defaults_detect_a_dead_target_in_30_to_65_s() -> None:
    spec = UNHEALTHY_SPEC.replace("health_check: {{interval: 10s, timeout: 2s, unhealthy_threshold: {ut}}}", "")
    r = sim_of(spec.format()).run()
    [t_bad] = health(r, "app-1", "unhealthy")
    # defaults: interval 30 s, timeout 5 s, unhealthy threshold 2 [aws-facts §1]
    assert t_bad == pytest.approx(first_check_after("lb", "app-1", 100.0, 30.0) + 30.0 + 5.0, abs=1e-3)


NEW_TARGET_SPEC = """
name: newtarget
components:
  lb:
    type: alb
    targets: app
    health_check: {interval: 10s, timeout: 2s, healthy_threshold: 5}
  app: {type: ec2, count: 2, boot_time: 20s, zones: [a, b], handler: [{cpu: 5ms}]}
workloads:
  users: {entry: lb, rate: 50/s}
faults:
  - {at: 100s, replace: app}
simulate: {duration: 240s, seed: 1}
"""


def test_new_target_needs_one_passing_check_before_traffic() -> None:
    sim = sim_of(NEW_TARGET_SPEC)
    lb = sim.components["lb"]
    seen: list[tuple[float, str, int]] = []

    def probe(now: float) -> None:
        for t in lb.targets.values():  # type: ignore[attr-defined]
            if t.iid == "app-3":
                seen.append((now, t.state, t.served))

    every(sim, 0.1, probe)
    r = sim.run()
    [t_reg] = [e["t"] for e in r["timeline"] if e.get("target") == "app-3" and "registered" in e["detail"]]
    [t_ok] = health(r, "app-3", "healthy")
    assert t_reg == pytest.approx(120.0, abs=0.01)  # stopped at 100 s, boots in 20 s
    # one passing check, not healthy_threshold (5) of them [aws-facts §1]
    assert 0 < t_ok - t_reg <= 10.0
    # the check runs the handler (path / is the application [aws-facts §1]): it answers 5 ms later
    assert t_ok - first_check_after("lb", "app-3", t_reg, 10.0) == pytest.approx(0.005, abs=1e-3)
    before = [s for s in seen if s[0] < t_ok]
    assert before and all(state == "initial" and served == 0 for _, state, served in before)
    assert seen[-1][2] > 0
    assert r.workload("users")["failed"] == 0  # the rolling replacement loses nothing


@pytest.mark.parametrize("ht", [3, 5])
def test_back_to_healthy_after_healthy_threshold_successes(ht: int) -> None:
    r = sim_of(f"""
    name: recover
    zones: [a, b]
    components:
      lb:
        type: alb
        targets: app
        health_check: {{interval: 10s, timeout: 2s, healthy_threshold: {ht}}}
      app: {{type: ec2, count: 2, zones: [a, b], handler: [{{cpu: 1ms}}]}}
    faults:
      - {{at: 100s, az_outage: a, duration: 60s}}
    simulate: {{duration: 300s, seed: 1}}
    """).run()
    [t_bad] = health(r, "app-1", "unhealthy")
    [t_ok] = health(r, "app-1", "healthy")
    assert 112.0 < t_bad <= 122.0
    expected = first_check_after("lb", "app-1", 160.0, 10.0) + (ht - 1) * 10.0 + 0.001  # + 1 ms handler
    assert t_ok == pytest.approx(expected, abs=1e-3)
    assert 160.0 + (ht - 1) * 10.0 < t_ok <= 160.0 + ht * 10.0


def test_fail_open_routes_to_all_targets_when_none_is_healthy() -> None:
    # Two overloaded single-worker instances with no accept queue fail their checks
    # (connection refused) and both go unhealthy; the ALB keeps sending to both.
    sim = sim_of("""
    name: failopen
    components:
      lb:
        type: alb
        targets: app
        zones: [a, b]
        health_check: {interval: 5s, timeout: 2s}
      app: {type: ec2, count: 2, workers: 1, backlog: 0, handler: [{cpu: 100ms}]}
    workloads:
      users: {entry: lb, rate: 200/s}
    simulate: {duration: 200s, seed: 1}
    """)
    lb = sim.components["lb"]
    marks: list[tuple[float, int, dict[str, int]]] = []
    every(sim, 1.0, lambda now: marks.append((now, lb.healthy_count, lb.served_by())))  # type: ignore[attr-defined]
    r = sim.run()
    assert r.component("lb")["healthy_targets"]["min"] == 0
    none_healthy = [m for m in marks if m[1] == 0]
    assert len(none_healthy) >= 50  # most of the run has no healthy target
    # the ALB never answered "no target": every request went on to an instance
    assert r.component("lb")["no_target_errors"] == 0
    start, end = none_healthy[0], none_healthy[-1]
    for iid in ("app-1", "app-2"):
        share = (end[2][iid] - start[2][iid]) / (200.0 * (end[0] - start[0]))
        assert share == pytest.approx(0.5, abs=0.05)
    # and the instances still served what they could: ~1 in 11 (M/M/1/1 at load 10)
    ok = r.workload("users")["succeeded"] / r.workload("users")["requests"]
    assert ok == pytest.approx(1 / 11, abs=0.03)


# ---------------------------------------------------------------- routing
def test_round_robin_spreads_evenly() -> None:
    sim = sim_of("""
    name: rr
    components:
      lb: {type: alb, targets: app}
      app: {type: ec2, count: 4, zones: [a, b], handler: [{cpu: exp(5ms)}]}
    workloads:
      users: {entry: lb, rate: 200/s}
    simulate: {duration: 200s, seed: 1}
    """)
    r = sim.run()
    served = sim.components["lb"].served_by()  # type: ignore[attr-defined]
    total = sum(served.values())
    assert total == r.workload("users")["requests"]
    for iid in ("app-1", "app-2", "app-3", "app-4"):
        assert served[iid] / total == pytest.approx(0.25, abs=0.02)


LOR_SPEC = """
name: lor
components:
  lb: {{type: alb, targets: [fast, slow], algorithm: {algo}, zones: [a, b]}}
  fast: {{type: ec2, workers: 4, handler: [{{cpu: exp(10ms)}}]}}
  slow: {{type: ec2, workers: 4, handler: [{{cpu: exp(100ms)}}]}}
workloads:
  users: {{entry: lb, rate: 60/s}}
simulate: {{duration: 300s, seed: 1}}
"""


def test_least_outstanding_requests_beats_round_robin_with_a_slow_target() -> None:
    out = {}
    for algo in ("round_robin", "least_outstanding_requests"):
        sim = sim_of(LOR_SPEC.format(algo=algo))
        r = sim.run()
        served = sim.components["lb"].served_by()  # type: ignore[attr-defined]
        out[algo] = (served["slow-1"] / sum(served.values()), r.workload("users")["latency_ms"]["p99"])
    rr_share, rr_p99 = out["round_robin"]
    lor_share, lor_p99 = out["least_outstanding_requests"]
    assert rr_share == pytest.approx(0.5, abs=0.01)
    assert lor_share < 0.35
    assert lor_p99 < 0.8 * rr_p99


# ---------------------------------------------------------------- stickiness
STICKY_SPEC = """
name: sticky
zones: [a, b]
components:
  lb:
    type: alb
    targets: app
    stickiness: {{type: {kind}}}
    health_check: {{interval: 10s, timeout: 2s, healthy_threshold: 2}}
  app: {{type: ec2, count: 2, zones: [a, b], handler: [{{cpu: 1ms}}]}}
faults: {faults}
simulate: {{duration: 900s, seed: 1}}
"""


def _send(sim: Simulation, client: Client, at: float, log: list[tuple[float, str, str | None]]) -> None:
    lb = sim.components["lb"]

    def go(_: object) -> None:
        def done(req: Request, err: str | None) -> None:
            log.append((at, client.cookies["lb"][0].iid, err))
        lb.handle(Request(sim.engine.now, client, None), "", done)

    sim.engine.at(at, go)


def test_sticky_session_moves_when_its_target_deregisters() -> None:
    sim = sim_of(STICKY_SPEC.format(kind="lb_cookie", faults="[]"))
    client = Client("198.18.0.7")
    log: list[tuple[float, str, str | None]] = []
    for t in (10.0, 20.0, 30.0):
        _send(sim, client, t, log)
    app = sim.components["app"]
    drained: list[float] = []
    sim.engine.at(40.0, lambda _: app.withdraw(  # type: ignore[attr-defined]
        next(i for i in app.instances if i.iid == log[0][1]), lambda: drained.append(sim.engine.now)))  # type: ignore[attr-defined]
    for t in (50.0, 60.0):
        _send(sim, client, t, log)
    sim.run()
    first = log[0][1]
    assert [x[1] for x in log[:3]] == [first] * 3  # sticky
    assert drained == [40.0]  # nothing in flight: deregistration completes at once [aws-facts §1]
    assert log[3][1] != first and log[4][1] == log[3][1]  # moved once, then sticks to the new one
    assert all(err is None for *_, err in log)


def test_app_cookie_stays_on_the_new_target_after_the_old_one_recovers() -> None:
    faults = "[{at: 100s, az_outage: b, duration: 100s}]"
    sim = sim_of(STICKY_SPEC.format(kind="app_cookie", faults=faults))
    lb = sim.components["lb"]
    client = Client("198.18.0.9")
    log: list[tuple[float, str, str | None]] = []
    for t in (10.0, 150.0, 300.0, 600.0):
        _send(sim, client, t, log)
    r = sim.run()
    assert log[0][1] == "app-2"  # the first round-robin pick, in zone b
    assert health(r, "app-2", "unhealthy") and health(r, "app-2", "healthy")
    assert health(r, "app-2", "healthy")[0] < 300.0  # app-2 is healthy again before the later requests
    assert [x[1] for x in log[1:]] == ["app-1"] * 3
    assert all(err is None for *_, err in log)
    assert lb.target_state(sim.components["app"].instances[1]) == "healthy"  # type: ignore[attr-defined]


def test_nlb_source_ip_stickiness_keeps_a_client_on_one_target() -> None:
    sim = sim_of("""
    name: srcip
    components:
      lb: {type: nlb, targets: app, stickiness: true, cross_zone: true}
      app: {type: ec2, count: 4, zones: [a, b], handler: [{cpu: 1ms}]}
    workloads:
      users: {entry: lb, rate: 100/s, clients: 3}
    simulate: {duration: 60s, seed: 1}
    """)
    sim.run()
    served = sim.components["lb"].served_by()  # type: ignore[attr-defined]
    assert sum(1 for v in served.values() if v > 0) <= 3  # 3 client IPs -> at most 3 targets
    assert sum(served.values()) == pytest.approx(6000, rel=0.05)


# ---------------------------------------------------------------- cross-zone
CROSS_SPEC = """
name: cross
zones: [a, b]
components:
  lb: {{type: {kind}}}
  app: {{type: ec2, count: 4, zones: [a, b], handler: [{{cpu: 2ms}}]}}
workloads:
  users: {{entry: lb, rate: 100/s, clients: 5000}}
faults:
  - {{at: 60s, terminate: app, zone: a, count: 2}}
simulate: {{duration: 330s, seed: 1}}
"""


def test_nlb_without_cross_zone_fails_the_zone_whose_targets_are_gone() -> None:
    errs = {}
    for kind in ("nlb, targets: app", "alb, targets: app"):
        r = sim_of(CROSS_SPEC.format(kind=kind)).run()
        s = r["series"]["workloads"]["users"]
        # minutes 3-4 (180-300 s): after the health checks noticed (by 60 + 30 + 30 + 10 s)
        errs[kind[:3]] = sum(s["errors"][3:5]) / sum(s["requests"][3:5])
        assert sum(s["errors"][:1]) == 0
    # NLB: clients hashed onto the zone-a node (about half) get nothing [aws-facts §1]
    assert errs["nlb"] == pytest.approx(0.5, abs=0.05)
    # ALB: cross-zone always on, zone b serves everyone
    assert errs["alb"] == 0.0


# ---------------------------------------------------------------- deregistration
DRAIN_SPEC = """
name: drain
components:
  lb: {{type: alb, targets: app, deregistration_delay: {delay}, zones: [a, b]}}
  app: {{type: ec2, count: 2, handler: [{{cpu: 50s}}]}}
simulate: {{duration: 200s, seed: 1}}
"""


@pytest.mark.parametrize(("delay", "in_flight", "expected"), [
    ("300s", False, 10.0),   # nothing in flight: at once
    ("300s", True, 55.0),    # waits for the in-flight request (sent at 5 s, 50 s of CPU)
    ("20s", True, 30.0),     # the delay runs out first
])
def test_deregistration_waits_for_in_flight_or_the_delay(delay: str, in_flight: bool, expected: float) -> None:
    sim = sim_of(DRAIN_SPEC.format(delay=delay))
    lb = sim.components["lb"]
    app = sim.components["app"]
    results: list[str | None] = []
    if in_flight:
        sim.engine.at(5.0, lambda _: lb.handle(Request(5.0, None, None), "", lambda r, e: results.append(e)))
    drained: list[float] = []

    def withdraw(_: object) -> None:
        busy = next(i for i in app.instances if i.active) if in_flight else app.instances[0]  # type: ignore[attr-defined]
        app.withdraw(busy, lambda: drained.append(sim.engine.now))  # type: ignore[attr-defined]
        assert lb.target_state(busy) in ("draining", "unused")  # type: ignore[attr-defined]

    sim.engine.at(10.0, withdraw)
    sim.run()
    assert drained == [pytest.approx(expected, abs=0.01)]
    assert results == ([None] if in_flight else [])  # the in-flight request itself completes


# ---------------------------------------------------------------- source IP
@pytest.mark.python_only
@pytest.mark.parametrize(("kind", "sees_client"), [("alb", False), ("nlb", True), ("clb", False)])
def test_source_ip_seen_by_targets(kind: str, sees_client: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    orig = Instance.handle

    def spy(self: Instance, req: Request, op: str, done: Any, arg: Any = None) -> None:
        seen.append(req.src_ip)
        orig(self, req, op, done, arg)

    monkeypatch.setattr(Instance, "handle", spy)
    r = sim_of(f"""
    name: srcip
    components:
      lb: {{type: {kind}, targets: app, cross_zone: true}}
      app: {{type: ec2, count: 2, zones: [a, b], handler: [{{cpu: 1ms}}]}}
    workloads:
      users: {{entry: lb, rate: 4/s, clients: 50, sessions: {{requests: 5, think: 1s, state: none}}}}
    simulate: {{duration: 30s, seed: 1}}
    """).run()
    assert len(seen) == r.workload("users")["requests"] > 400
    clients = [ip for ip in seen if ip.startswith("198.18.")]
    lb_ips = [ip for ip in seen if ip.startswith("10.0.")]
    if sees_client:  # NLB preserves the client IP [aws-facts §1]
        assert len(clients) == len(seen) and len(set(clients)) > 30
    else:  # ALB/CLB proxy: the target sees the LB node's private IP [aws-facts §1]
        assert len(lb_ips) == len(seen) and len(set(lb_ips)) == 2  # one node per zone


def test_no_registered_target_is_unavailable_and_lb_latency_is_added() -> None:
    r = sim_of("""
    name: lat
    components:
      lb: {type: alb, targets: app, latency: 2ms, zones: [a, b]}
      app: {type: ec2, handler: [{cpu: 10ms}]}
    workloads:
      users: {entry: lb, rate: 10/s}
    simulate: {duration: 60s, seed: 1}
    """).run()
    assert r.workload("users")["latency_ms"]["min"] == pytest.approx(12.0, rel=0.02)
    sim = sim_of("""
    name: empty
    components:
      lb: {type: alb, targets: app, zones: [a, b]}
      app: {type: ec2, handler: [{cpu: 10ms}]}
    workloads:
      users: {entry: lb, rate: 10/s}
    simulate: {duration: 60s, seed: 1}
    """)
    app = sim.components["app"]
    sim.engine.at(5.0, lambda _: app.withdraw(app.instances[0], lambda: None))  # type: ignore[attr-defined]
    r = sim.run()
    w = r.workload("users")
    assert w["errors"]["unavailable"] == w["failed"] == r.component("lb")["no_target_errors"]
    assert w["failed"] == pytest.approx(550, rel=0.15)


# ---------------------------------------------------------------- zones
def test_an_alb_in_one_zone_is_a_spec_error_at_its_line() -> None:
    # ALB subnets must span at least two AZs (ELB API reference, CreateLoadBalancer `Subnets`)
    text = textwrap.dedent("""\
        name: one-az
        zones: [a, b]
        components:
          lb:
            type: alb
            targets: app
          app: {type: ec2, count: 2, handler: [{cpu: 1ms}]}
        """)
    with pytest.raises(cloudtwin.SpecError) as info:
        cloudtwin.parse_spec(text, file="one.yaml")
    [i] = info.value.issues
    assert (i.path, i.file, i.line) == ("components.lb", "one.yaml", 4)
    assert "at least two Availability Zones" in i.message and "['a']" in i.message
    with pytest.raises(cloudtwin.SpecError) as info:
        cloudtwin.parse_spec(text.replace("targets: app", "targets: app\n    zones: [b]"), file="one.yaml")
    [i] = info.value.issues
    assert (i.path, i.line) == ("components.lb.zones", 7)
    # two zones on the ALB (targets still in one), or targets in two zones: accepted; an NLB may have one
    cloudtwin.parse_spec(text.replace("targets: app", "targets: app\n    zones: [a, b]"))
    cloudtwin.parse_spec(text.replace("count: 2,", "count: 2, zones: [a, b],"))
    cloudtwin.parse_spec(text.replace("type: alb", "type: nlb"))


# ---------------------------------------------------------------- health checks through the application
APP_FAILS_SPEC = """
name: appfails
components:
  lb:
    type: alb
    targets: [good, bad]
    health_check: {{interval: 10s, unhealthy_threshold: 2{extra}}}
  good: {{type: ec2, zones: [a], handler: [{{cpu: 1ms}}]}}
  bad: {{type: ec2, zones: [b], handler: [{{cpu: 1ms}}]{bad}}}
workloads:
  users: {{entry: lb, rate: 20/s}}
faults:
  - {{at: 60s, {fault}: bad, duration: 600s{add}}}
simulate: {{duration: 200s, seed: 1}}
"""


def app_fails(fault: str = "errors", add: str = "", extra: str = "", bad: str = "") -> Simulation:
    return sim_of(APP_FAILS_SPEC.format(fault=fault, add=add, extra=extra, bad=bad))


def test_an_erroring_application_leaves_rotation_after_two_failed_checks() -> None:
    # interval 10 s, unhealthy threshold 2, the default ALB matcher 200 [aws-facts §1]: the app
    # answers 500 from t = 60 s, so the first check after 60 s fails and the second, 10 s later,
    # marks it unhealthy: by t = 80 s at the latest
    sim = app_fails()
    r = sim.run()
    [t_bad] = health(r, "bad-1", "unhealthy")
    assert t_bad == pytest.approx(first_check_after("lb", "bad-1", 60.0, 10.0) + 10.0, abs=1e-3)
    assert 70.0 < t_bad <= 80.0
    w = r.workload("users")
    # half the requests fail (500) until it leaves: 20/s x (t_bad - 60 s) / 2, Poisson arrivals
    expected = 10.0 * (t_bad - 60.0)
    assert abs(w["errors"]["server_error"] - expected) <= 4 * math.sqrt(expected)
    assert w["failed"] == w["errors"]["server_error"]
    # health checks are not user requests: the fleet counts only what the LB forwarded to it
    served = sim.components["lb"].served_by()  # type: ignore[attr-defined]
    assert r.component("bad")["requests"] == served["bad-1"]
    assert r.component("good")["requests"] == served["good-1"]
    hc = r.component("lb")["health_checks"]
    assert hc["sent"] == pytest.approx(2 * 200 / 10, abs=2)  # 2 targets every 10 s
    assert hc["failed"] == pytest.approx((200 - t_bad) / 10 + 2, abs=1.5)


def test_an_application_slower_than_the_timeout_fails_its_checks() -> None:
    # +3 s on every request to `bad` from t = 60 s; the check times out after 2 s: each failure is
    # known 2 s after it was sent, so the target is unhealthy at (first check after 60 s) + 10 + 2
    r = app_fails(fault="latency", add=", add: 3s", extra=", timeout: 2s").run()
    [t_bad] = health(r, "bad-1", "unhealthy")
    assert t_bad == pytest.approx(first_check_after("lb", "bad-1", 60.0, 10.0) + 12.0, abs=1e-3)
    # +1 s: faster than the timeout, so it stays healthy (only slower)
    r = app_fails(fault="latency", add=", add: 1s", extra=", timeout: 2s").run()
    assert health(r, "bad-1", "unhealthy") == []


def test_a_shallow_health_handler_keeps_a_broken_application_in_rotation() -> None:
    # health_handler: [] answers without running the handler; the injected errors run before any
    # handler, so they still fail it; a handler whose downstream call fails does not
    r = sim_of("""
    name: shallow
    components:
      lb: {type: alb, targets: [good, bad], health_check: {interval: 10s}}
      good: {type: ec2, zones: [a], handler: [{cpu: 1ms}]}
      bad: {type: ec2, zones: [b], handler: [{cpu: 1ms}, {call: db}], health_handler: []}
      db: {type: ec2, zones: [b], handler: [{cpu: 1ms}]}
    workloads:
      users: {entry: lb, rate: 20/s}
    faults:
      - {at: 60s, terminate: db}
    simulate: {duration: 200s, seed: 1}
    """).run()
    assert health(r, "bad-1", "unhealthy") == []
    assert r.workload("users")["errors"]["unavailable"] > 500  # it keeps taking (and failing) half
    deep = sim_of("""
    name: deep
    components:
      lb: {type: alb, targets: [good, bad], health_check: {interval: 10s}}
      good: {type: ec2, zones: [a], handler: [{cpu: 1ms}]}
      bad: {type: ec2, zones: [b], handler: [{cpu: 1ms}, {call: db}]}
      db: {type: ec2, zones: [b], handler: [{cpu: 1ms}]}
    workloads:
      users: {entry: lb, rate: 20/s}
    faults:
      - {at: 60s, terminate: db}
    simulate: {duration: 200s, seed: 1}
    """).run()
    [t_bad] = health(deep, "bad-1", "unhealthy")
    assert 70.0 < t_bad <= 80.0
    assert deep.workload("users")["errors"]["unavailable"] < 250


def test_an_nlb_tcp_check_does_not_run_the_application() -> None:
    # NLB default protocol TCP [aws-facts §1]: the connection is accepted, so the check passes
    spec = APP_FAILS_SPEC.replace("type: alb", "type: nlb\n    cross_zone: true")
    r = sim_of(spec.format(fault="errors", add="", extra="", bad="")).run()
    assert health(r, "bad-1", "unhealthy") == []
    r = sim_of(spec.format(fault="errors", add="", extra=", protocol: http", bad="")).run()
    [t_bad] = health(r, "bad-1", "unhealthy")
    assert 70.0 < t_bad <= 80.0


def test_a_tcp_health_check_on_an_alb_is_a_spec_error() -> None:
    with pytest.raises(cloudtwin.SpecError) as info:
        app_fails(extra=", protocol: tcp")
    assert [i.path for i in info.value.issues] == ["components.lb.health_check.protocol"]


# ---------------------------------------------------------------- slow start and weighted target groups
SLOW_SPEC = """
name: slow
components:
  lb: {{type: alb, targets: app, zones: [a, b], slow_start: {slow}, health_check: {{interval: 10s}}}}
  app: {{type: ec2, zones: [a], handler: [{{cpu: 1ms}}]}}
workloads:
  users: {{entry: lb, rate: 200/s, arrivals: constant}}
simulate: {{duration: 400s, seed: 1}}
"""


def new_target_shares(slow: str) -> tuple[float, list[float]]:
    """A second instance registers at 50 s; (when it became healthy, its share of the requests
    in the two halves of the 120 s after that and in the 60 s after those)."""
    sim = sim_of(SLOW_SPEC.format(slow=slow))
    app: Any = sim.components["app"]
    lb: Any = sim.components["lb"]

    def add(_: object) -> None:
        inst = app.new_instance("a")
        inst.running()
        app.announce(inst)

    sim.engine.at(50.0, add)
    counts: list[tuple[float, int, int]] = []
    every(sim, 1.0, lambda now: counts.append((now, *[t.served for t in lb.targets.values()], 0)[:3]))
    r = sim.run()
    [t_ok] = health(r, "app-2", "healthy")
    served = {round(t): (a, b) for t, a, b in counts if isinstance(b, int)}

    def share(lo: float, hi: float) -> float:
        a0, b0 = served[math.ceil(lo)]
        a1, b1 = served[math.ceil(hi)]
        return (b1 - b0) / ((a1 - a0) + (b1 - b0))

    return t_ok, [share(t_ok, t_ok + 60), share(t_ok + 60, t_ok + 120), share(t_ok + 120, t_ok + 180)]


def test_slow_start_ramps_a_new_targets_share_up_linearly() -> None:
    # slow start 120 s: the share rises linearly from 0 to the fair 1/2 [aws-facts §1 Slow start (ALB)],
    # so the new target's mean share is 1/2 x 1/4 = 12.5 % over the first half and 1/2 x 3/4 = 37.5 %
    # over the second; 3 sigma of a binomial over 12,000 requests is about 1 %
    t_ok, (first, second, after) = new_target_shares("120s")
    assert 50.0 < t_ok <= 60.0
    n = 200 * 60
    for got, p in ((first, 0.125), (second, 0.375), (after, 0.5)):
        assert abs(got - p) <= 3 * math.sqrt(p * (1 - p) / n) + 0.01, (got, p)  # + the 1 s sampling
    # off (the default): the fair share at once
    _, shares = new_target_shares("0s")
    assert all(s == pytest.approx(0.5, abs=0.01) for s in shares)


def test_weighted_target_groups_split_blue_green_90_10() -> None:
    # weights 90/10 over 10,000 requests: green's share is 10 % +- 3 sigma, sigma = sqrt(.1 x .9 / 10,000)
    r = sim_of("""
    name: bluegreen
    components:
      lb: {type: alb, targets: [blue, green], weights: {blue: 90, green: 10}}
      blue: {type: ec2, count: 2, zones: [a, b], handler: [{cpu: 1ms}]}
      green: {type: ec2, count: 2, zones: [a, b], handler: [{cpu: 1ms}]}
    workloads:
      users: {entry: lb, rate: 100/s, arrivals: constant}
    simulate: {duration: 100s, seed: 1}
    """).run()
    blue, green = r.component("blue")["requests"], r.component("green")["requests"]
    n = blue + green
    assert n == pytest.approx(10_000, abs=2)
    assert abs(green / n - 0.10) <= 3 * math.sqrt(0.1 * 0.9 / n)
    assert r.workload("users")["failed"] == 0


@pytest.mark.parametrize(("extra", "path"), [
    ("slow_start: 10s", "components.lb.slow_start"),
    ("slow_start: 60s, algorithm: least_outstanding_requests", "components.lb.slow_start"),
    ("weights: {app: 1, other: 1}", "components.lb.weights"),
    ("weights: {app: 0}", "components.lb.weights"),
    ("weights: {app: 1}, stickiness: {type: app_cookie}", "components.lb.stickiness"),
])
def test_slow_start_and_weights_refuse_what_aws_refuses(extra: str, path: str) -> None:
    with pytest.raises(cloudtwin.SpecError) as info:
        sim_of(f"""
        name: bad
        components:
          lb: {{type: alb, targets: app, zones: [a, b], {extra}}}
          app: {{type: ec2, handler: [{{cpu: 1ms}}]}}
        """)
    assert path in [i.path for i in info.value.issues]
