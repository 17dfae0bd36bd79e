"""The fluid engine's calls, downstream stations, caches, sessions and faults
(src/cloudtwin/fluid/{calls,stations,cache_flow,sessions,faults}.py): each approximation
against a known value, the refusals, and conservation. Fluid against exact on the same
specs: tests/test_fluid.py."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from cloudtwin.blueprints import blueprint_path
from cloudtwin.cli import app
from cloudtwin.engine.sampling import zipf_cdf
from cloudtwin.fluid import run_fluid
from cloudtwin.fluid.cache_flow import CacheFlow, ttl_hit_ratio
from cloudtwin.fluid.calls import PathMix, comonotone
from cloudtwin.fluid.faults import terminate
from cloudtwin.fluid.fleet import FluidFleet
from cloudtwin.fluid.queueing import Wait, WaitMix, mmc_wait
from cloudtwin.fluid.sessions import arrived_by
from cloudtwin.fluid.stations import make
from cloudtwin.fluid.sumwait import SumMix, sum_of, sum_within
from cloudtwin.fluid.support import FluidRefused, check
from cloudtwin.spec import from_dict
from cloudtwin.spec.units import parse_distribution


# ---- cache flows ---------------------------------------------------------------------------
def test_ttl_hit_ratio_known_values() -> None:
    # one key looked up once a second, held 1 s after each miss: lam T / (1 + lam T) = 1/2
    assert ttl_hit_ratio(np.array([1.0]), 1.0, 1.0) == pytest.approx(0.5)
    # two equal keys at 4/s in all, TTL 2 s: each 2/s, x = 4, hit 4/5
    assert ttl_hit_ratio(np.array([0.5, 0.5]), 4.0, 2.0) == pytest.approx(0.8)


def test_cold_first_second_of_one_key() -> None:
    # an absent key looked up as Poisson(10) in 1 s: one miss if any lookup, the rest hit
    flow = CacheFlow(np.array([1.0]), 300.0)
    hit = flow.step(10.0, 1.0)
    assert hit == pytest.approx(1.0 - (1.0 - math.exp(-10.0)) / 10.0, rel=1e-9)


def _zipf(s: float, n: int) -> np.ndarray:
    return np.diff(zipf_cdf(s, n), prepend=0.0)


def test_warm_start_is_the_steady_state_and_cold_converges_to_it() -> None:
    pmf = _zipf(1.1, 100_000)
    want = ttl_hit_ratio(pmf, 100.0, 300.0)
    warm = CacheFlow(pmf, 300.0, warm_rate=100.0)
    assert warm.step(100.0, 1.0) == pytest.approx(want, rel=0.01)
    cold = CacheFlow(pmf, 300.0)
    hits = [cold.step(100.0, 1.0) for _ in range(3600 * 3)]
    assert hits[0] < 0.5 * want  # cold: the first second mostly misses
    assert np.mean(hits[-1800:]) == pytest.approx(want, rel=0.02)  # the waves have damped


def test_cold_cache_misses_come_in_waves_every_ttl() -> None:
    flow = CacheFlow(_zipf(1.1, 100_000), 300.0)
    hits = [flow.step(100.0, 1.0) for _ in range(700)]
    # the hot keys set in the first seconds all expire at 300 s and miss together
    assert hits[300] < hits[299] - 0.1 and hits[600] < hits[599] - 0.05


def test_a_miss_that_is_never_set_keeps_missing() -> None:
    flow = CacheFlow(np.array([0.5, 0.5]), 60.0)
    assert flow.step(100.0, 1.0, set_share=0.0) == 0.0
    assert flow.step(100.0, 1.0, set_share=0.0) == 0.0
    # half the misses set: an absent key is set after Exp(lam p s), (1 - e^{-x s}) / s misses
    x = 50.0
    flow = CacheFlow(np.array([0.5, 0.5]), 60.0)
    assert flow.step(100.0, 1.0, set_share=0.5) == pytest.approx(1.0 - (1.0 - math.exp(-x / 2)) / 0.5 / x)


# ---- waits and mixtures ---------------------------------------------------------------------
def test_sum_of_waits_is_exact() -> None:
    # one wait: P(W <= d) = 1 - p e^{-r d}
    one = sum_of([Wait(0.3, 10.0, 0.01)])
    d = np.array([0.0, 0.05, 0.2])
    assert sum_within(d, one) == pytest.approx(1 - 0.3 * np.exp(-10.0 * d))
    assert one.shift == pytest.approx(0.01) and one.mean == pytest.approx(0.01 + 0.03)
    # two sure exponential waits, rates 1 and 2: hypoexponential, P(S > d) = 2 e^{-d} - e^{-2d}
    two = sum_of([Wait(1.0, 1.0), Wait(1.0, 2.0)])
    assert sum_within(d, two) == pytest.approx(1 - (2 * np.exp(-d) - np.exp(-2 * d)))
    # with atoms: the subsets' mixture; its mean is the sum of the means
    mixed = sum_of([Wait(0.3, 10.0), Wait(0.2, 50.0, 0.002)])
    assert mixed.p == pytest.approx(1 - 0.7 * 0.8) and mixed.mean == pytest.approx(0.03 + 0.004 + 0.002)
    grid = np.linspace(0.0, 2.0, 20001)
    tail = 1.0 - sum_within(grid - mixed.shift, mixed)
    assert float(np.trapezoid(tail, grid)) == pytest.approx(mixed.mean, rel=1e-3)  # E[S] = integral of P(S > t)


def test_calls_to_one_station_are_comonotone() -> None:
    w = comonotone([Wait(0.4, 100.0), Wait(0.5, 50.0, 0.001)])
    assert w.p == 0.5 and w.shift == pytest.approx(0.001)
    assert w.mean == pytest.approx(0.001 + 0.004 + 0.01)  # the means add; one wait, not two draws


def test_pathmix_of_one_path_is_its_waitmix() -> None:
    pts = np.random.default_rng(3).exponential(0.01, 20_000)
    one, many = WaitMix(pts), PathMix([SumMix(pts)])
    w = mmc_wait(150.0, 0.01, 2)
    one.add(w, 1.0)
    many.add_path(0, sum_of([w]), 1.0)
    for a, b in zip(one.quantiles((0.5, 0.99)), many.quantiles((0.5, 0.99)), strict=True):
        assert b == pytest.approx(a, rel=0.01)


def test_pathmix_mixes_paths_by_weight() -> None:
    fast, slow = SumMix(np.full(100, 0.001)), SumMix(np.full(100, 0.1))
    mix = PathMix([fast, slow])
    mix.add_path(0, sum_of([Wait(0.0, 1.0)]), 3.0)
    mix.add_path(1, sum_of([Wait(0.0, 1.0)]), 1.0)
    p50, p90 = mix.quantiles((0.5, 0.9))
    assert p50 == pytest.approx(0.001, rel=0.02) and p90 == pytest.approx(0.1, rel=0.02)
    assert mix.mean() == pytest.approx(0.75 * 0.001 + 0.25 * 0.1)


# ---- stations --------------------------------------------------------------------------------
def _arch(components: dict[str, Any]) -> Any:
    d = {"name": "t", "zones": ["a", "b"], "components": {
        "web": {"type": "asg", "instance_type": "m5.large", "capacity": {"min": 2, "desired": 2, "max": 2},
                "handler": [{"cpu": "exp(10ms)"}]}, **components},
         "workloads": {"u": {"entry": "web", "rate": "10/s"}}, "simulate": {"duration": "1m"}}
    return from_dict(d)


def test_rds_is_mmc_on_its_vcpus_for_exponential_queries() -> None:
    arch = _arch({"db": {"type": "rds", "instance_class": "db.m5.large", "query": "exp(10ms)"}})
    db = make("db", arch.components["db"], arch, 1)
    db.offer("query", 150.0)  # 2 vCPUs, rho 0.75
    db.resolve(0.0, 1.0)
    w, errs = db.outcome("query")
    mm = mmc_wait(150.0, 0.01, 2)
    assert errs == {} and w.p == pytest.approx(mm.p, rel=1e-3) and w.mean == pytest.approx(mm.mean, rel=1e-3)


def test_rds_refuses_connections_past_max_connections_when_saturated() -> None:
    arch = _arch({"db": {"type": "rds", "query": "exp(10ms)", "max_connections": 52}})
    db = make("db", arch.components["db"], arch, 1)
    share = 0.0
    for i in range(5):
        db.offer("query", 300.0)  # 200/s of capacity: the backlog grows 100/s up to 50 queued
        db.resolve(float(i), 1.0)
        share = db.outcome("query")[1].get("server_error", 0.0)
    assert share == pytest.approx(100.0 / 300.0)
    assert db.errors == pytest.approx(300.0 * 5 - 200.0 * 5 - 50.0)  # conservation: all but served and queued


def test_rds_failover_is_unavailable_for_the_mean_failover_time() -> None:
    arch = _arch({"db": {"type": "rds", "multi_az": True, "failover_time": "uniform(60s, 120s)"}})
    db = make("db", arch.components["db"], arch, 1)
    note = db.failover(10.0)
    assert "standby in b" in note
    assert db.fail_share("query", 10.0) == 1.0 and db.fail_share("query", 99.0) == 1.0
    assert db.fail_share("query", 101.0) == 0.0  # back after 90 s [aws-facts §11: 60-120 s]


def test_dynamodb_provisioned_throttles_what_does_not_fit() -> None:
    arch = _arch({"t": {"type": "dynamodb", "capacity": "provisioned", "rcu": 100, "wcu": 10}})
    tb = make("t", arch.components["t"], arch, 1)
    for i in range(5):
        tb.offer("get", 400.0)  # 1 KB eventually consistent: 0.5 RCU each, 200 RCU/s for 100
        tb.resolve(float(i), 1.0)
    assert tb.outcome("get")[1]["throttled"] == pytest.approx(0.5)


def test_dynamodb_hot_key_is_held_to_one_partition() -> None:
    arch = _arch({"t": {"type": "dynamodb", "key": "7", "item_size": "8KB", "consistent": True}})
    tb = make("t", arch.components["t"], arch, 1)
    tb.offer("get", 4000.0)  # 2 RCU each: 8,000 RCU/s on one partition of 3,000 [aws-facts §11]
    tb.resolve(0.0, 1.0)
    assert tb.outcome("get")[1]["throttled"] == pytest.approx(1.0 - 3000.0 / 8000.0)


def test_s3_prefix_rate_limit() -> None:
    arch = _arch({"b": {"type": "s3"}})
    b = make("b", arch.components["b"], arch, 1)
    b.offer("get", 11_000.0)  # 5,500 GET/s per prefix [aws-facts §12]
    b.resolve(0.0, 1.0)
    assert b.outcome("get")[1]["throttled"] == pytest.approx(0.5)


def test_injected_latency_and_errors_on_a_station() -> None:
    arch = _arch({"c": {"type": "elasticache"}})
    c = make("c", arch.components["c"], arch, 1)
    c.delays.append((0.0, 10.0, 0.05))
    c.failing.append((0.0, 10.0, 0.1))
    c.offer("get", 100.0)
    c.resolve(5.0, 1.0)
    w, errs = c.outcome("get")
    assert w.shift == pytest.approx(0.05) and errs == {"server_error": pytest.approx(0.1)}
    c.offer("get", 100.0)
    c.resolve(10.0, 1.0)
    assert c.outcome("get") == (Wait(0.0, 1.0), {})


# ---- sessions ---------------------------------------------------------------------------------
def test_session_requests_sent_by_t() -> None:
    think = parse_distribution("exp(5s)")
    assert arrived_by(think, 20, 0.0) == pytest.approx(1.0)
    assert arrived_by(think, 2, 5.0) == pytest.approx(2.0 - math.exp(-1.0))  # 1 + P(one think <= t)
    assert arrived_by(think, 20, 10_000.0) == pytest.approx(20.0)
    assert arrived_by(parse_distribution("2s"), 5, 4.5) == 3.0  # at 0, 2 and 4 s


# ---- faults -------------------------------------------------------------------------------------
def test_terminate_kills_then_the_group_replaces() -> None:
    arch = _arch({})
    f = FluidFleet("web", arch.components["web"], None, ["a", "b"], 1)
    assert f.routed(1.0) == (2, 0)
    note = terminate(f, 10.0, 1, None)
    assert note == "terminated 1 instance(s) of web"
    assert f.routed(10.0) == (1, 1)  # dead, still sent requests until the group's health check
    [(detect, what, n)] = f.actions
    assert (what, n) == ("replace", (1, "terminated")) and detect == pytest.approx(10.0 + 5.0)  # half the 10-s period
    f.act(detect)
    assert f.routed(detect) == (1, 0) and f.running(detect) == 1
    assert f.running(detect + f.boot + 1.0) == 2  # the replacement is in service after its boot


# ---- refusals ---------------------------------------------------------------------------------
def _wac() -> dict[str, Any]:
    path = blueprint_path("web-app-cache")
    assert path is not None
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize(("change", "match"), [
    (lambda d: (d["components"].update(t={"type": "dynamodb"}),
                d["components"]["web"]["handler"].append({"call": "t.put", "batch": 10})),
     r"handler\[2\] key `batch` of a call"),
    (lambda d: d["workloads"]["shoppers"].update(profile={"type": "spike", "at": "5m", "duration": "1m",
                                                          "factor": 2.0}), r"a profile on a session workload"),
    (lambda d: d["components"]["web"]["handler"][1]["on_miss"][1].pop("ttl"), r"a set without `ttl`"),
    (lambda d: d["components"]["web"]["handler"][1]["on_miss"].append({"cpu": "1ms"}), r"cpu step inside on_miss"),
    (lambda d: d["components"]["cache"].update(memory="10MB"), r"100000 keys do not fit the cache's 9765 items"),
    (lambda d: d["workloads"]["shoppers"]["sessions"].update(state="instance"), r"state instance"),
    (lambda d: d["faults"].append({"at": "1m", "replace": "web"}), r"faults\[1\] `replace` is not modelled"),
    (lambda d: d["faults"].append({"at": "1m", "latency": "web", "duration": "1m"}), r"latency on web \(asg\)"),
    (lambda d: d["components"]["db"].update(deployment="multi_az_cluster", multi_az=False), r"multi_az_cluster"),
])
def test_refusals_name_what_is_not_modelled(change: Any, match: str) -> None:
    d = _wac()
    if "multi_az_cluster" in match:
        d["zones"] = ["a", "b", "c"]
    change(d)
    with pytest.raises(FluidRefused, match=match):
        check(from_dict(d))


def test_call_to_an_unmodelled_type_is_refused() -> None:
    d = _wac()
    d["components"]["stream"] = {"type": "kinesis"}
    d["components"]["web"]["handler"].append({"call": "stream.put"})
    with pytest.raises(FluidRefused, match=r"call to stream \(kinesis\) is not modelled yet"):
        check(from_dict(d))


# ---- whole runs ---------------------------------------------------------------------------------
def test_web_app_cache_runs_fluid_conserving_requests_and_sessions(tmp_path: Any) -> None:
    out = tmp_path / "r.json"
    r = CliRunner().invoke(app, ["run", "web-app-cache", "--engine", "fluid", "-q", "--json", str(out)])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    w = data["workloads"]["shoppers"]
    assert w["requests"] == w["succeeded"] + w["failed"] + w["in_flight"]
    s = data["sessions"]
    assert s["started"] == s["completed"] + s["lost"] + s["active"] and s["started"] == 5 * 1200
    cache, db = data["components"]["cache"], data["components"]["db"]
    assert 0.7 < cache["hit_ratio"] < 0.85
    assert db["requests"] == pytest.approx(cache["misses"], rel=0.01)  # every miss reads the database
    assert any("cache hit ratios are a mean field" in n for n in data["validity"])


def test_web_app_cache_fluid_is_deterministic() -> None:
    d = _wac()
    d["simulate"]["duration"] = "6m"
    a = run_fluid(from_dict(copy.deepcopy(d))).deterministic_json()
    assert a == run_fluid(from_dict(d)).deterministic_json()


# ---- calls to other fleets (fluid/chain.py) ------------------------------------------------------
def test_retries_multiply_the_load_and_fail_only_when_every_try_fails() -> None:
    from cloudtwin.fluid.calls import Call

    arch = _arch({"c": {"type": "elasticache"}})
    c = Call(make("c", arch.components["c"], arch, 1), "get", retries=2)
    fails, tries = c.final({"server_error": 0.4, "timeout": 0.1})
    assert tries == pytest.approx(1 + 0.5 + 0.25)
    assert fails == {"server_error": pytest.approx(0.4 / 0.5 * 0.125), "timeout": pytest.approx(0.1 / 0.5 * 0.125)}
    assert c.final({"unavailable": 1.0}) == ({"unavailable": 1.0}, 3.0)  # an outage: three tries, all fail


def _chain() -> dict[str, Any]:
    path = blueprint_path("microservices-sync")
    assert path is not None
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


def test_faults_on_a_balancer_workloads_enter_are_refused() -> None:
    d = _chain()
    d["faults"].append({"at": "1m", "errors": "web-lb", "rate": 0.5, "duration": "1m"})
    with pytest.raises(FluidRefused, match=r"errors on web-lb, a balancer workloads enter"):
        check(from_dict(d))


def test_chain_conserves_requests_and_triples_the_load_on_payments_while_it_is_down() -> None:
    d = _chain()
    data = run_fluid(from_dict(d)).data
    w = data["workloads"]["users"]
    assert w["requests"] == w["succeeded"] + w["failed"] + w["in_flight"] == 25 * 1800
    comps = data["components"]
    # orders' own bug fails 2 % before orders; of the rest, payments is tried 3 times for 10 of 30 minutes
    to_orders = 25 * 1800 * 0.98
    assert comps["payments-lb"]["requests"] == pytest.approx(to_orders * (20 / 30 + 3 * 10 / 30), rel=0.01)
    assert comps["payments"]["requests"] == pytest.approx(to_orders * 20 / 30, rel=0.01)
    assert w["availability"] == pytest.approx(0.98 * 2 / 3, rel=0.01)  # the product of the tiers'


def test_db_failover_is_on_the_timeline_with_its_recovery() -> None:
    d = _wac()
    d["faults"] = [{"at": "2m", "db_failover": "db"}]
    d["simulate"]["duration"] = "5m"
    tl = [(e["t"], e["kind"], e["detail"]) for e in run_fluid(from_dict(d))["timeline"]
          if e["kind"] in ("fault", "recovery")]
    assert tl[0][:2] == (120.0, "fault") and "failing over to the standby in b" in tl[0][2]
    assert tl[1] == (210.0, "recovery", "db: primary available in b")  # the mean of uniform(60s, 120s)


def test_a_rate_that_rounds_up_to_saturation_is_a_backlog_not_a_crash() -> None:
    # 4 m5.large (8 vCPUs) at 10 ms: 800/s of capacity; 799.99/s per fleet rounds to 800.0 in the wait's cache key
    d = {"name": "edge", "zones": ["a"], "components": {
        "app": {"type": "ec2", "count": 1, "workers": 8, "handler": [{"cpu": "10ms"}, {"call": "db.query"}]},
        "db": {"type": "rds", "query": "exp(1ms)"}},
        "workloads": {"u": {"entry": "app", "rate": "799.99/s"}}, "simulate": {"duration": "10s"}}
    w = run_fluid(from_dict(d))["workloads"]["u"]
    assert w["requests"] == w["succeeded"] + w["failed"] + w["in_flight"]
