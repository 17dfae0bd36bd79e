"""The fluid engine (``run --engine fluid``): its queueing math against known values, its
refusals, and its results against the exact engine on the same specs (tolerances from
issue 18: availability and p50 within 5 %, p99 within 10 %)."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from cloudtwin.blueprints import blueprint_path
from cloudtwin.cli import app
from cloudtwin.fluid import run_fluid
from cloudtwin.fluid.queueing import Wait, WaitMix, allen_cunneen, backlog_step, erlang_c, gim_decay, mmc_wait
from cloudtwin.fluid.support import FluidRefused, check
from cloudtwin.simulation import Simulation
from cloudtwin.spec import from_dict
from cloudtwin.theory import mmc_response_quantile


# ---- pure math -----------------------------------------------------------------------------
def test_erlang_c_single_server_is_rho() -> None:
    for rho in (0.1, 0.5, 0.9):
        assert erlang_c(1, rho) == pytest.approx(rho, rel=1e-12)


def test_erlang_c_known_value() -> None:
    # M/M/2 at a = 1.7: C = 2 rho^2 / (1 + rho) with rho = 0.85
    assert erlang_c(2, 1.7) == pytest.approx(2 * 0.85**2 / 1.85, rel=1e-12)


def test_mm1_response_p99_is_ln100_over_mu_minus_lambda() -> None:
    lam, s = 80.0, 0.01  # mu = 100
    mix = WaitMix(np.random.default_rng(1).exponential(s, 200_000))
    mix.add(mmc_wait(lam, s, 1), 1.0)
    p99 = mix.quantiles((0.99,))[0]
    assert p99 == pytest.approx(math.log(100) / (100 - lam), rel=0.02)  # 0.2303 s


def test_mmc_mixture_quantiles_match_the_closed_form() -> None:
    lam, s, c = 360.0, 0.01, 4
    mix = WaitMix(np.random.default_rng(2).exponential(s, 200_000))
    mix.add(mmc_wait(lam, s, c), 1.0)
    p50, p99 = mix.quantiles((0.5, 0.99))
    assert p50 == pytest.approx(mmc_response_quantile(lam, s, c, 0.5), rel=0.02)
    assert p99 == pytest.approx(mmc_response_quantile(lam, s, c, 0.99), rel=0.02)


def test_allen_cunneen_is_mmc_for_poisson_and_exponential() -> None:
    mm, ac = mmc_wait(300.0, 0.01, 4), allen_cunneen(300.0, 0.01, 4, 1.0, 1.0)
    assert ac.p == pytest.approx(mm.p) and ac.mean == pytest.approx(mm.mean)


def test_allen_cunneen_mean_scales_with_variability() -> None:
    mm = mmc_wait(300.0, 0.01, 4)
    assert allen_cunneen(300.0, 0.01, 4, 1.0, 3.0).mean == pytest.approx(mm.mean * 2.0)
    assert allen_cunneen(300.0, 0.01, 4, 0.0, 0.0).mean == 0.0  # D/D/c below saturation


def test_gim_decay_is_mm_for_poisson_and_faster_for_erlang_arrivals() -> None:
    rate, sigma = gim_decay(85.0, 0.02, 2, 1)
    assert sigma == pytest.approx(0.85, rel=1e-6) and rate == pytest.approx(100 - 85, rel=1e-6)
    assert gim_decay(85.0, 0.02, 2, 4)[0] > rate  # regular arrivals: the wait decays faster


def test_fluid_backlog_grows_at_lambda_minus_c_mu_and_littles_law_holds() -> None:
    lam, s, c, T = 500.0, 0.01, 4, 10.0  # 100 requests/s more than the 400/s it serves
    q, area = 0.0, 0.0
    for _ in range(int(T)):
        nq = backlog_step(q, lam, s, c, 1.0)
        area += (q + nq) / 2.0
        q = nq
    assert q == pytest.approx((lam - c / s) * T)
    # Little's law for the queue: time-average backlog = throughput x mean wait of those served
    # (FIFO fluid: the request at backlog level x waits x / (c/s))
    mean_wait = (q / 2.0) / (c / s)
    assert area / T == pytest.approx((c / s) * mean_wait, rel=1e-9)
    assert backlog_step(5.0, 100.0, 0.01, 4, 1.0) == 0.0  # drains, never below zero


def test_wait_tail_and_shift() -> None:
    w = Wait(0.5, 10.0, shift=0.2)
    assert w.tail(0.1) == 1.0 and w.tail(0.2) == pytest.approx(0.5)
    assert w.mean == pytest.approx(0.25)


# ---- refusals --------------------------------------------------------------------------------
def _swa(faults: bool = True) -> dict[str, Any]:
    path = blueprint_path("simple-web-app")
    assert path is not None
    d = yaml.safe_load(path.read_text())
    if not faults:
        d.pop("faults")
    return d  # type: ignore[no-any-return]


def test_unsupported_component_is_refused_naming_it() -> None:
    d = _swa()
    d["components"]["wh"] = {"type": "redshift"}
    with pytest.raises(FluidRefused,
                       match=r"components\.wh \(redshift\) is not modelled yet; use --engine exact"):
        check(from_dict(d))


def test_unsupported_key_and_fault_are_refused() -> None:
    d = _swa()
    d["components"]["lb"]["stickiness"] = True
    with pytest.raises(FluidRefused, match=r"components\.lb \(alb\) key `stickiness`"):
        check(from_dict(d))
    d = _swa()
    d["faults"] = [{"at": "1m", "replace": "web"}]
    with pytest.raises(FluidRefused, match=r"faults\[0\]"):
        check(from_dict(d))


def test_cli_engine_fluid_exit_2_on_refusal(tmp_path: Any) -> None:
    d = _swa()
    d["workloads"]["users"]["retries"] = 2
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(d))
    r = CliRunner().invoke(app, ["run", str(spec), "--engine", "fluid", "-q"])
    assert r.exit_code == 2
    assert "workloads.users key `retries` is not modelled yet; use --engine exact" in r.output


def test_cli_engine_fluid_results_say_so(tmp_path: Any) -> None:
    out = tmp_path / "r.json"
    r = CliRunner().invoke(app, ["run", "simple-web-app", "--engine", "fluid", "-q", "--json", str(out)])
    assert r.exit_code == 0, r.output
    import json

    data = json.loads(out.read_text())
    assert data["engine"] == "fluid" and data["validity"]
    w = data["workloads"]["users"]
    assert w["requests"] == w["succeeded"] + w["failed"] + w["in_flight"]
    assert w["requests"] == 200 * 40 * 60  # the offered flow, to the request


def test_fluid_is_deterministic() -> None:
    a = run_fluid(from_dict(_swa())).deterministic_json()
    b = run_fluid(from_dict(_swa())).deterministic_json()
    assert a == b


def test_validity_note_for_few_servers_and_high_variability() -> None:
    d = copy.deepcopy(LOGN)
    d["components"]["app"]["workers"] = 2
    d["components"]["app"]["handler"] = [{"cpu": "lognormal(median=5ms, p99=200ms)"}]
    d["workloads"]["users"]["rate"] = "100/s"
    notes = run_fluid(from_dict(d))["validity"]
    assert any("Allen–Cunneen's wait and its exponential tail are rough" in n for n in notes)


def test_overload_backlog_times_out_as_error_flow() -> None:
    d = copy.deepcopy(HIGH)
    d["workloads"]["users"]["rate"] = "500/s"  # 400/s of capacity
    d["workloads"]["users"]["timeout"] = "2s"
    d["simulate"]["duration"] = "2m"
    w = run_fluid(from_dict(d))["workloads"]["users"]
    # backlog grows 100/s: waits pass 2 s once it holds 800 requests, after 8 s
    assert w["errors"]["timeout"] > 0.5 * 100 * (120 - 8) * 0.8
    assert w["requests"] == w["succeeded"] + w["failed"] + w["in_flight"]


# ---- fluid vs exact ---------------------------------------------------------------------------
HIGH: dict[str, Any] = {
    "name": "alb-asg-high", "zones": ["a", "b"],
    "components": {
        "lb": {"type": "alb", "targets": "web"},
        "web": {"type": "asg", "instance_type": "m5.large", "capacity": {"min": 4, "desired": 4, "max": 4},
                "handler": [{"cpu": "exp(20ms)"}]}},
    "workloads": {"users": {"entry": "lb", "rate": "340/s"}},  # rho = 340 x 0.02 / 8 = 0.85
    "simulate": {"duration": "10m", "seed": 1}}
LOGN: dict[str, Any] = {
    "name": "ec2-lognormal", "zones": ["a"],
    "components": {"app": {"type": "ec2", "count": 2, "workers": 4,
                           "handler": [{"cpu": "lognormal(median=10ms, p99=80ms)"}, {"sleep": "5ms"}]}},
    "workloads": {"users": {"entry": "app", "rate": "400/s"}},  # rho = 400 x 14.9 ms / 8 = 0.75
    "simulate": {"duration": "10m", "seed": 1}}

SPIKE: dict[str, Any] = copy.deepcopy(HIGH)
SPIKE["name"] = "alb-asg-spike"
SPIKE["components"]["web"]["capacity"] = {"min": 4, "desired": 4, "max": 20}
SPIKE["components"]["web"]["scaling"] = {"target_cpu": 50}
SPIKE["workloads"]["users"]["rate"] = "160/s"  # rho 0.4, then 0.8 during a 15-minute x2 spike
SPIKE["workloads"]["users"]["profile"] = {"type": "spike", "at": "5m", "duration": "15m", "factor": 2.0}
SPIKE["simulate"]["duration"] = "30m"


def _compare(d: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    ex = Simulation(from_dict(d)).run().data["workloads"]["users"]
    fl = run_fluid(from_dict(d)).data["workloads"]["users"]
    return ex, fl


def _rel(a: float, b: float) -> float:
    return abs(b - a) / a


def _assert_within(ex: dict[str, Any], fl: dict[str, Any], *, p50: bool = True) -> None:
    assert _rel(ex["availability"], fl["availability"]) <= 0.05
    if p50:
        assert _rel(ex["latency_ms"]["p50"], fl["latency_ms"]["p50"]) <= 0.05, (ex["latency_ms"], fl["latency_ms"])
    assert _rel(ex["latency_ms"]["p99"], fl["latency_ms"]["p99"]) <= 0.10, (ex["latency_ms"], fl["latency_ms"])


@pytest.mark.slow
def test_simple_web_app_steady_matches_exact() -> None:
    ex, fl = _compare(_swa(faults=False))
    _assert_within(ex, fl)


@pytest.mark.slow
def test_simple_web_app_az_outage_matches_exact() -> None:
    ex, fl = _compare(_swa(faults=True))
    _assert_within(ex, fl)
    # the transient itself: the requests sent to zone a before the group saw it fail
    assert ex["errors"]["unavailable"] > 0 and fl["errors"]["unavailable"] > 0
    assert _rel(ex["errors"]["unavailable"], fl["errors"]["unavailable"]) < 0.5  # exact draws the phase


def _blueprint(name: str) -> dict[str, Any]:
    path = blueprint_path(name)
    assert path is not None
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


@pytest.mark.slow
def test_single_az_outage_availability_matches_exact() -> None:
    ex, fl = _compare(_blueprint("simple-web-app-single-az"))
    # every instance lost for 15 of 40 minutes plus detection, boot and first checks
    assert ex["availability"] < 0.6 and _rel(ex["availability"], fl["availability"]) <= 0.05
    assert _rel(ex["latency_ms"]["p50"], fl["latency_ms"]["p50"]) <= 0.05


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="after the zone returns the first healthy instance takes all traffic "
                                       "(fail open, then one healthy target) and builds a backlog; the fluid "
                                       "backlog is pooled over the fleet, so waits after it are low (p99 943 "
                                       "vs 2,718 ms)")
def test_single_az_outage_p99_matches_exact() -> None:
    ex, fl = _compare(_blueprint("simple-web-app-single-az"))
    assert _rel(ex["latency_ms"]["p99"], fl["latency_ms"]["p99"]) <= 0.10


@pytest.mark.slow
def test_alb_asg_at_rho_085_matches_exact() -> None:
    ex, fl = _compare(HIGH)
    _assert_within(ex, fl)


@pytest.mark.slow
def test_load_spike_with_target_tracking_matches_exact() -> None:
    ex_all = Simulation(from_dict(SPIKE)).run().data
    fl_all = run_fluid(from_dict(SPIKE)).data
    _assert_within(ex_all["workloads"]["users"], fl_all["workloads"]["users"])
    # both scale out once, from 4 to ceil(4 x 80 / 50) = 7, three minutes into the spike
    scaling = [[e["detail"] for e in d["timeline"] if e["kind"] == "scaling"] for d in (ex_all, fl_all)]
    assert scaling[0] == scaling[1] == ["web 4 -> 7 (target tracking cpu 80% > 50%)"]


@pytest.mark.slow
def test_ec2_lognormal_service_p99_matches_exact() -> None:
    ex, fl = _compare(LOGN)
    _assert_within(ex, fl, p50=False)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="Allen–Cunneen (2 moments) overestimates the lognormal wait at rho 0.75: "
                                       "fluid p50 +5.7 % of exact (tolerance 5 %); see docs/performance.md")
def test_ec2_lognormal_service_p50_matches_exact() -> None:
    ex, fl = _compare(LOGN)
    assert _rel(ex["latency_ms"]["p50"], fl["latency_ms"]["p50"]) <= 0.05


# ---- calls, downstream stations, caches, sessions, faults (fluid/calls.py, stations.py, ...) ------
def _wac(faults: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    d = _blueprint("web-app-cache")  # sessions in ElastiCache, a cold cache-aside cache, RDS Multi-AZ
    if faults is not None:
        d["faults"] = faults
    return d


def _compare_all(d: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return Simulation(from_dict(copy.deepcopy(d))).run().data, run_fluid(from_dict(d)).data


def _one(data: dict[str, Any]) -> dict[str, Any]:
    return next(iter(data["workloads"].values()))  # type: ignore[no-any-return]


WAC_CASES = {
    "as written (instance terminated at 10 min)": None,
    "steady": [],
    "db failover at 5 min, on the cold cache's first TTL wave": [{"at": "5m", "db_failover": "db"}],
    "50 ms injected on the db for 5 min": [{"at": "5m", "latency": "db", "add": "50ms", "duration": "5m"}],
    "10 % errors on the cache for 5 min": [{"at": "5m", "errors": "cache", "rate": 0.1, "duration": "5m"}],
    "zone a down 5-10 min (the DB and the cache fail over to b)": [{"at": "5m", "az_outage": "a", "duration": "5m"}],
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(WAC_CASES))
def test_web_app_cache_matches_exact(case: str) -> None:
    ex, fl = _compare_all(_wac(WAC_CASES[case]))
    _assert_within(_one(ex), _one(fl))
    # the cache's hit ratio (cold start, waves every TTL) and the sessions
    assert abs(ex["components"]["cache"]["hit_ratio"] - fl["components"]["cache"]["hit_ratio"]) < 0.01
    assert _rel(ex["sessions"]["started"], fl["sessions"]["started"]) < 0.02
    if "failover" in case:  # misses fail while the primary is down, and their keys stay unset
        exu, flu = _one(ex)["errors"]["unavailable"], _one(fl)["errors"]["unavailable"]
        assert exu > 5000 and _rel(exu, flu) < 0.1  # exact draws the failover time (92 s), fluid its mean (90 s)


@pytest.mark.slow
def test_web_app_cache_warm_matches_exact() -> None:
    d = _wac()
    d["components"]["cache"]["warm"] = True  # steady state from the start: no waves
    ex, fl = _compare_all(d)
    _assert_within(_one(ex), _one(fl))
    assert abs(ex["components"]["cache"]["hit_ratio"] - fl["components"]["cache"]["hit_ratio"]) < 0.005
    assert fl["components"]["cache"]["hit_ratio_series"][0] > 0.75  # warm from the first minute


@pytest.mark.slow
def test_single_az_db_and_cache_through_a_zone_outage_match_exact() -> None:
    d = _wac([{"at": "5m", "az_outage": "a", "duration": "5m"}])
    d["components"]["db"]["multi_az"] = False  # down with its zone
    d["components"]["cache"]["replicas"] = 0  # down with its zone, back empty
    d["workloads"] = {"shoppers": {"entry": "dns", "rate": "100/s"}}  # no sessions (they would need the replica)
    ex, fl = _compare_all(d)
    _assert_within(_one(ex), _one(fl))
    assert 0.7 < _one(ex)["availability"] < 0.8  # a quarter of the run with no cache and no DB


DB_TWICE: dict[str, Any] = {
    "name": "alb-asg-rds", "zones": ["a", "b"],
    "components": {
        "lb": {"type": "alb", "targets": "web"},
        "web": {"type": "asg", "instance_type": "m5.large", "capacity": {"min": 4, "desired": 4, "max": 4},
                "handler": [{"cpu": "exp(5ms)"}, {"call": "db.query"}, {"call": "db.write"}]},
        "db": {"type": "rds", "instance_class": "db.m5.large", "multi_az": True, "query": "exp(4ms)",
               "write": "exp(6ms)"}},
    "workloads": {"users": {"entry": "lb", "rate": "100/s"}},  # the db's 2 vCPUs at rho 0.5
    "simulate": {"duration": "10m", "seed": 1}}
DB_TWICE_HIGH = copy.deepcopy(DB_TWICE)
DB_TWICE_HIGH["workloads"]["users"]["rate"] = "150/s"  # rho 0.75
THROTTLED: dict[str, Any] = {
    "name": "alb-asg-dynamodb-s3", "zones": ["a", "b"],
    "components": {
        "lb": {"type": "alb", "targets": "web"},
        "web": {"type": "asg", "instance_type": "m5.large", "capacity": {"min": 4, "desired": 4, "max": 4},
                "health_handler": [],
                "handler": [{"cpu": "exp(10ms)"}, {"call": "table.get"}, {"call": "bucket.get"}]},
        "table": {"type": "dynamodb", "capacity": "provisioned", "rcu": 100, "wcu": 10},
        "bucket": {"type": "s3"}},
    "workloads": {"users": {"entry": "lb", "rate": "300/s"}},  # 150 RCU/s of gets for 100 provisioned
    "simulate": {"duration": "10m", "seed": 1}}


EC2_TIMEOUT: dict[str, Any] = {
    "name": "ec2-dynamodb-s3", "zones": ["a"],
    "components": {
        "app": {"type": "ec2", "count": 2, "handler": [{"cpu": "exp(5ms)"}, {"call": "t.put"}, {"call": "b.put"}]},
        "t": {"type": "dynamodb"}, "b": {"type": "s3", "prefixes": 2}},
    "workloads": {"users": {"entry": "app", "rate": "200/s", "timeout": "100ms"}},  # rho 0.25; S3 p99 100 ms
    "faults": [{"at": "2m", "terminate": "app"}],  # a bare instance: never replaced, half the requests fail
    "simulate": {"duration": "5m", "seed": 1}}


@pytest.mark.slow
def test_client_timeout_over_calls_and_terminate_match_exact() -> None:
    ex, fl = _compare(EC2_TIMEOUT)
    _assert_within(ex, fl)
    assert fl["latency_ms"]["p99"] < 100.0  # the successes are the responses within the timeout
    assert _rel(ex["errors"]["timeout"], fl["errors"]["timeout"]) < 0.1


@pytest.mark.slow
def test_rds_called_twice_per_request_matches_exact() -> None:
    ex, fl = _compare(DB_TWICE)
    _assert_within(ex, fl)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="at rho 0.75 one request's query and write meet the same DB queue; the "
                                       "fluid engine takes their waits as fully dependent, which overstates the "
                                       "tail: p99 103.3 vs 93.8 ms (+10.1 %); independent waits understate it "
                                       "(-15 %)")
def test_rds_called_twice_at_rho_075_p99_matches_exact() -> None:
    ex, fl = _compare(DB_TWICE_HIGH)
    _assert_within(ex, fl)


@pytest.mark.slow
def test_dynamodb_throttling_and_s3_match_exact() -> None:
    ex_all, fl_all = _compare_all(THROTTLED)
    ex, fl = _one(ex_all), _one(fl_all)
    _assert_within(ex, fl)
    assert ex["availability"] < 0.7  # a third of the gets throttled
    assert _rel(ex["errors"]["throttled"], fl["errors"]["throttled"]) < 0.02


@pytest.mark.slow
def test_microservices_sync_matches_exact() -> None:
    # a chain of three fleets behind ALBs, 2 % errors on orders, payments down 10-20 min, retries
    ex_all, fl_all = _compare_all(_blueprint("microservices-sync"))
    ex, fl = _one(ex_all), _one(fl_all)
    _assert_within(ex, fl)
    assert _rel(ex["errors"]["server_error"], fl["errors"]["server_error"]) < 0.02
    # orders retries payments twice: three tries each while it is down
    p_ex, p_fl = ex_all["components"]["payments-lb"]["requests"], fl_all["components"]["payments-lb"]["requests"]
    assert _rel(p_ex, p_fl) < 0.02


def _flaky_payments(rate: float) -> dict[str, Any]:
    d = _blueprint("microservices-sync")
    d["faults"] = [{"at": "0s", "errors": "payments-lb", "rate": rate, "duration": "30m"}]
    d["simulate"]["duration"] = "10m"
    return d


@pytest.mark.slow
def test_retries_against_a_flaky_dependency_match_exact() -> None:
    # 30 % of payments' answers fail: orders' two retries make 1.39 tries a call, 2.7 % fail all three
    ex_all, fl_all = _compare_all(_flaky_payments(0.3))
    _assert_within(_one(ex_all), _one(fl_all))
    p_ex, p_fl = ex_all["components"]["payments-lb"]["requests"], fl_all["components"]["payments-lb"]["requests"]
    assert p_fl == pytest.approx(25 * 600 * (1 + 0.3 + 0.09), rel=1e-3) and _rel(p_ex, p_fl) < 0.02


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="a retry's backoff is uniform (full jitter, bounded by backoff x 2^i); the "
                                       "fluid engine takes each retry's delay as an exponential wait of that mean, "
                                       "whose tail is too long when most successes follow retries: at 60 % errors "
                                       "p99 827 vs 666 ms (+24 %)")
def test_retries_against_a_very_flaky_dependency_p99_matches_exact() -> None:
    ex, fl = (_one(x) for x in _compare_all(_flaky_payments(0.6)))
    _assert_within(ex, fl)


def test_microservices_async_is_refused_for_its_messages() -> None:
    with pytest.raises(FluidRefused, match=r"components\.web \(asg\) handler\[1\] key `message` of a call"):
        check(from_dict(_blueprint("microservices-async")))
