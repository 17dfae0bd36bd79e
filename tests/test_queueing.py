"""The engine against queueing theory: M/M/c (Erlang C), M/M/∞ and Little's law.

One ``ec2`` with ``workers: c``, a handler of one ``cpu: exp(S)`` step and
Poisson arrivals at ``rate`` is an M/M/c queue (the default backlog of 1024 is
never reached at these loads), so its results must match
:mod:`cloudtwin.theory`. Every run is 1,000,000 completed requests.

Why some checks average several seeds
-------------------------------------
The issue asks for the mean latency "within 2 % at 1M requests". Near
saturation a single run cannot promise that: the queue length is strongly
autocorrelated, so the sample mean of 1M sojourn times is noisy. Measured on
1M-request runs of this engine (seeds 1..20; 1..8 below saturation). A bare
heapq loop and SimPy miss 2 % on some seeds at rho = 0.9 as well: the spread
belongs to the M/M/c sample mean, not to the engine.

==========  ===========================  =======================
(c, rho)    sd of (mean / Erlang C - 1)  worst of the seeds
==========  ===========================  =======================
(1, 0.5)    0.26 %                       +0.50 % (8 seeds)
(16, 0.8)   0.23 %                       +0.40 % (8 seeds)
(4, 0.9)    1.61 %                       -3.22 %
(8, 0.95)   2.81 %                       -6.30 %
==========  ===========================  =======================

So below saturation one seed is checked to 1 % (about 4 sd), and at
rho >= 0.9 the mean over ``k`` seeds of 1M requests each is checked to 2 %,
with ``k`` chosen so that 2 % is about 2.5 standard errors or more (5 seeds at
0.9, 12 at 0.95). Each of those runs must still be within 10 % (> 3.5 sd).
Tighter checks use statistics that are far less noisy: utilisation (sd
0.11 %) to 0.5 %, and Little's law, an identity on every sample path, to 0.1 %.
"""

from __future__ import annotations

import math
from functools import cache

import pytest

import cloudtwin
from cloudtwin import Results, Simulation
from cloudtwin.theory import (
    erlang_b,
    erlang_c,
    mmc_mean_in_system,
    mmc_mean_response,
    mmc_mean_wait,
    mmc_response_quantile,
    mmc_response_tail,
    mmc_utilization,
    mmc_wait_tail,
    mminf_in_system_pmf,
)

N = 1_000_000
S = 0.010  # mean service time, seconds
HEAVY_SEEDS = {(4, 0.9): 5, (8, 0.95): 12}


def mmc_spec(c: int, lam: float, *, service_ms: float = S * 1000) -> cloudtwin.Architecture:
    return cloudtwin.parse_spec(
        f"""
name: mm{c}
components:
  app:
    type: ec2
    workers: {c}
    handler:
      - cpu: exp({service_ms}ms)
workloads:
  users:
    entry: app
    rate: {lam}/s
"""
    )


@cache
def run(c: int, rho: float, seed: int) -> tuple[Results, Simulation]:
    """One 1M-request run of M/M/c at utilisation ``rho`` (cached: several tests read each run)."""
    sim = Simulation(mmc_spec(c, rho * c / S), seed=seed, requests=N)
    return sim.run(), sim


def mean_latency_s(r: Results) -> float:
    return float(r.workload("users")["latency_ms"]["mean"]) / 1000.0


# ---- the formulas themselves -----------------------------------------------------------
def test_theory_matches_textbook_values_and_closed_forms() -> None:
    assert erlang_b(10, 5.0) == pytest.approx(0.018385, abs=1e-6)  # the classic table value
    assert erlang_c(4, 3.6) == pytest.approx(0.787753, abs=1e-6)
    assert erlang_b(1000, 900.0) == pytest.approx(0.0, abs=1e-3) and erlang_c(1000, 999.0) < 1.0
    # M/M/1: C = rho, W = s / (1 - rho), W ~ Exp(mu - lam)
    lam, s = 50.0, 0.01
    assert erlang_c(1, 0.5) == pytest.approx(0.5)
    assert mmc_mean_response(lam, s, 1) == pytest.approx(s / 0.5)
    assert mmc_response_tail(lam, s, 1, 0.05) == pytest.approx(math.exp(-50.0 * 0.05))
    assert mmc_response_quantile(lam, s, 1, 0.99) == pytest.approx(math.log(100) / 50.0, rel=1e-9)
    # c = 4, rho = 0.9: the tail integrates to the mean, and Little's law links L and W
    lam, c = 360.0, 4
    step = 1e-4
    integral = sum(mmc_response_tail(lam, s, c, (k + 0.5) * step) for k in range(20_000)) * step
    assert integral == pytest.approx(mmc_mean_response(lam, s, c), rel=1e-4)
    assert mmc_wait_tail(lam, s, c, 0.0) == pytest.approx(erlang_c(c, lam * s))
    assert mmc_mean_in_system(lam, s, c) == pytest.approx(lam * (mmc_mean_wait(lam, s, c) + s))
    assert sum(mminf_in_system_pmf(n, 2000.0, s) for n in range(200)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unstable"):
        erlang_c(4, 4.0)
    with pytest.raises(ValueError):
        erlang_b(0, 1.0)


# ---- M/M/c mean response time vs Erlang C ------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(("c", "rho"), [(1, 0.5), (16, 0.8)])
def test_mmc_mean_latency_matches_erlang_c_below_saturation(c: int, rho: float) -> None:
    r, _ = run(c, rho, 1)
    w = r.workload("users")
    assert w["succeeded"] == N and w["failed"] == 0
    expected = mmc_mean_response(rho * c / S, S, c)
    assert mean_latency_s(r) == pytest.approx(expected, rel=0.01)


@pytest.mark.slow
@pytest.mark.parametrize(("c", "rho"), list(HEAVY_SEEDS))
def test_mmc_mean_latency_matches_erlang_c_near_saturation(c: int, rho: float) -> None:
    expected = mmc_mean_response(rho * c / S, S, c)
    devs = []
    for seed in range(1, HEAVY_SEEDS[(c, rho)] + 1):
        r, _ = run(c, rho, seed)
        devs.append(mean_latency_s(r) / expected - 1.0)
    assert max(abs(d) for d in devs) < 0.10, devs
    assert abs(sum(devs) / len(devs)) < 0.02, devs
    # Queueing dominates here: a simulator that ignored the wait would be 3.0x / 3.1x too fast.
    assert expected > 2.5 * S


@pytest.mark.parametrize(("c", "rho"), [(1, 0.5), (16, 0.8)])
def test_mmc_latency_percentiles_match_theory_below_saturation(c: int, rho: float) -> None:
    """p50/p90/p99 against the exact M/M/c response-time distribution: 1 % is the
    histogram's bucket error, the other 1 % sampling noise (measured: <= 1.1 %)."""
    r, _ = run(c, rho, 1)
    lat = r.workload("users")["latency_ms"]
    lam = rho * c / S
    for key, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        assert lat[key] / 1000 == pytest.approx(mmc_response_quantile(lam, S, c, q), rel=0.02), key


@pytest.mark.slow
@pytest.mark.parametrize(("c", "rho"), [(1, 0.5), (16, 0.8), (4, 0.9), (8, 0.95)])
def test_utilization_equals_rho(c: int, rho: float) -> None:
    r, sim = run(c, rho, 1)
    assert mmc_utilization(rho * c / S, S, c) == pytest.approx(rho)
    # The CloudWatch-like 1-minute average in the results, and the exact busy-time integral.
    assert r.component("app")["utilization"] == pytest.approx(rho, rel=0.005)
    inst = sim.components["app"].instances[0]  # type: ignore[attr-defined]
    assert inst.busy_seconds() / (c * r["simulated_s"]) == pytest.approx(rho, rel=0.005)


# ---- Little's law ------------------------------------------------------------------------
@pytest.mark.parametrize(("c", "rho"), [(1, 0.5), (4, 0.9), (8, 0.95)])
def test_littles_law(c: int, rho: float) -> None:
    """L = lambda * W on the sample path: the time-average number in the instance
    (integrated from its own arrivals and departures) against the arrival rate seen
    and the mean latency the workload measured. Edge effects (requests in flight at
    the end, the 3-decimal rounding of ms) are ~1e-4 at 1M requests."""
    r, _ = run(c, rho, 1)
    w = r.workload("users")
    lam_seen = w["requests"] / r["simulated_s"]
    in_system = r.component("app")["in_system_mean"]
    assert in_system == pytest.approx(lam_seen * mean_latency_s(r), rel=0.001)
    # ... and it is the M/M/c value, not 0 or the number busy.
    assert in_system > rho * c * 1.5


# ---- M/M/∞ -------------------------------------------------------------------------------
@pytest.mark.slow
def test_mm_infinity_has_no_wait() -> None:
    """200 workers at an offered load of 20 Erlangs: P(all busy) is ~1e-100, so no
    request ever waits. Then the response time is the service time itself."""
    lam = 2000.0
    sim = Simulation(mmc_spec(200, lam), seed=7, requests=N)
    r = sim.run()
    lat = r.workload("users")["latency_ms"]
    app = sim.components["app"]
    inst = app.instances[0]  # type: ignore[attr-defined]
    # Zero wait, exactly: at every instant the requests in the instance equal the busy
    # workers, so the two integrals agree to rounding (any queueing would add to the first).
    assert inst.in_system_seconds() == pytest.approx(inst.busy_seconds(), rel=1e-9)
    assert len(inst.queue) == 0
    # Mean response = mean service (sd of the mean of 1M exponentials: 0.1 %).
    assert lat["mean"] / 1000 == pytest.approx(S, rel=0.01)
    # The shape is the exponential's: p50 / mean = ln 2 (histogram error <= 1 %).
    assert lat["p50"] / lat["mean"] == pytest.approx(math.log(2), rel=0.015)
    assert lat["p99"] / lat["mean"] == pytest.approx(math.log(100), rel=0.015)
    # The number in system is Poisson with mean a = lam * S = 20.
    assert r.component("app")["in_system_mean"] == pytest.approx(lam * S, rel=0.01)
