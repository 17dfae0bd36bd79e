"""The shared token bucket (engine/resources.py), checked against its definition.

A bucket of ``rate`` tokens/s holding ``burst`` tokens may pass at most
``burst + rate * t`` tokens over any window of length ``t``; it must pass
everything that stays under that envelope; and its forms (try_take, fits and
commit, take_at, level) must agree with each other.
"""

from __future__ import annotations

import math
from itertools import pairwise

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cloudtwin.engine import Engine
from cloudtwin.engine.resources import LevelBucket, RateLimiter, Workers

rates = st.floats(min_value=0.1, max_value=1e4, allow_nan=False)
bursts = st.integers(min_value=1, max_value=50)
gaps = st.lists(st.floats(min_value=0.0, max_value=2.0, allow_nan=False), min_size=1, max_size=200)


def arrivals(steps: list[float]) -> list[float]:
    t, out = 0.0, []
    for g in steps:
        t += g
        out.append(t)
    return out


@given(rates, bursts, gaps)
def test_gcra_never_passes_more_than_the_envelope(rate: float, burst: int, steps: list[float]) -> None:
    b = RateLimiter.for_burst(rate, burst)
    passed = [t for t in arrivals(steps) if b.try_take(t)]
    # any window [passed[i], passed[j]] holds at most burst + rate * width tokens
    for i in range(len(passed)):
        for j in range(i, min(len(passed), i + burst + 60)):
            width = passed[j] - passed[i]
            assert j - i + 1 <= burst + rate * width + 1e-6


@given(rates, bursts, gaps)
def test_gcra_and_level_bucket_agree_on_unit_takes(rate: float, burst: int, steps: list[float]) -> None:
    """The two representations of one bucket refuse the same requests (up to float ties)."""
    g, lv = RateLimiter.for_burst(rate, burst), LevelBucket(rate, burst)
    for t in arrivals(steps):
        level = lv.level(t)
        if abs(level - round(level)) < 1e-6:
            return  # on an exact token boundary the two float forms may round either way
        assert g.try_take(t) == lv.try_take(t)


@given(rates, bursts, gaps)
def test_level_reports_what_try_take_can_take(rate: float, burst: int, steps: list[float]) -> None:
    b = RateLimiter.for_burst(rate, burst)
    for t in arrivals(steps):
        level = b.level(t)
        assert 0.0 <= level <= burst + RateLimiter.SLACK * rate + 1e-9
        assert b.try_take(t) == (level >= 1.0)


@given(rates, st.floats(min_value=0.0, max_value=5.0), gaps,
       st.lists(st.floats(min_value=0.01, max_value=10.0), min_size=200, max_size=200))
def test_fits_then_commit_is_a_whole_take(rate: float, tol: float, steps: list[float], costs: list[float]) -> None:
    a, b = RateLimiter(rate, tol), RateLimiter(rate, tol)
    for t, cost in zip(arrivals(steps), costs, strict=False):
        new = a.fits(t, cost)
        if new is None:
            assert a.tat == b.tat  # a refused take leaves the bucket alone
            continue
        assert new - t <= tol
        a.commit(new)
        b.tat = max(b.tat, t) + cost / rate
        assert a.tat == b.tat


@given(rates, st.floats(min_value=0.0, max_value=5.0), gaps)
def test_take_at_serves_in_order_within_the_envelope(rate: float, tol: float, steps: list[float]) -> None:
    b = RateLimiter(rate, tol)
    ts = arrivals(steps)
    starts = [b.take_at(t) for t in ts]
    assert all(s >= t for s, t in zip(starts, ts, strict=True))  # never before it was asked for
    assert all(s2 >= s1 for s1, s2 in pairwise(starts))  # first come, first served
    for i in range(len(starts)):  # any window passes at most rate * (width + tol) + 1
        for j in range(i, min(len(starts), i + 200)):
            assert j - i + 1 <= rate * (starts[j] - starts[i] + tol) + 1 + 1e-6


def test_exact_burst_then_rate() -> None:
    b = RateLimiter.for_burst(10.0, 5)
    assert [b.try_take(0.0) for _ in range(6)] == [True] * 5 + [False]
    assert not b.try_take(0.05)
    assert b.try_take(0.1)  # one token back after 1/rate
    assert not b.try_take(0.1)
    assert b.level(100.0) == pytest.approx(5.0)
    assert RateLimiter(10.0, 0.0).level(0.0) == 1.0  # no burst: one token at a time


def test_take_at_queues_behind_the_budget() -> None:
    b = RateLimiter(2.0, 1.0)  # 2/s, one second's worth passes at once
    starts = [b.take_at(0.0) for _ in range(5)]
    assert starts == [0.0, 0.0, 0.0, 0.5, 1.0]


def test_level_bucket_refills_to_burst() -> None:
    lv = LevelBucket(100.0, 3)
    assert all(lv.try_take(0.0) for _ in range(3))
    assert not lv.try_take(0.0)
    assert lv.level(0.005) == pytest.approx(0.5)
    assert lv.level(1e6) == 3.0


@pytest.mark.parametrize("rate,tol", [(0.0, 1.0), (-1.0, 1.0), (math.nan, 1.0), (1.0, -1.0), (1.0, math.nan)])
def test_bad_parameters_are_refused(rate: float, tol: float) -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate, tol)


@settings(max_examples=50)
@given(rates, bursts, st.floats(min_value=1.0, max_value=100.0))
def test_long_run_rate_is_the_rate(rate: float, burst: int, horizon: float) -> None:
    """Offered far above the rate, a bucket passes burst + rate * horizon tokens (± one)."""
    b = RateLimiter.for_burst(rate, burst)
    step = 1.0 / (rate * 4)
    n = int(horizon / step)
    passed = sum(b.try_take(0.0) for _ in range(burst))  # the burst, all at once
    passed += sum(b.try_take(i * step) for i in range(1, n + 1))
    expect = burst + rate * (n * step)
    assert abs(passed - expect) <= 1.0 + 1e-6 * expect


def test_workers_serve_fifo_and_refuse_past_the_backlog() -> None:
    eng = Engine()
    w = Workers(eng, slots=2, backlog=1)
    finished: list[tuple[str, float]] = []

    def done(job: str) -> None:
        finished.append((job, eng.now))
        w.release()

    accepted = [w.start(done, j, 1.0) for j in "abcd"]
    assert accepted == [True, True, True, False]  # two served, one queued, one refused
    assert w.full()
    eng.run()
    assert finished == [("a", 1.0), ("b", 1.0), ("c", 2.0)]
    assert w.busy == 0 and not w.queue
    assert w.busy_seconds() == pytest.approx(3.0)  # three jobs of one second each


@settings(max_examples=30)
@given(st.integers(min_value=1, max_value=5), st.integers(min_value=0, max_value=20),
       st.lists(st.tuples(st.floats(min_value=0.0, max_value=3.0), st.floats(min_value=0.01, max_value=2.0)),
                min_size=1, max_size=60))
def test_workers_conserve_jobs_and_busy_time(slots: int, backlog: int, jobs: list[tuple[float, float]]) -> None:
    """Every job is served or refused; busy time is the sum of the served jobs' times; never
    more than ``slots`` at once."""
    eng = Engine()
    w = Workers(eng, slots, backlog)
    served: list[float] = []
    refused = 0
    peak = 0

    def done(seconds: float) -> None:
        served.append(seconds)
        w.release()

    def arrive(job: tuple[float, float]) -> None:
        nonlocal refused, peak
        if not w.start(done, job[1], job[1]):
            refused += 1
        peak = max(peak, w.busy)

    for job in jobs:
        eng.at(job[0], arrive, job)
    eng.run()
    assert len(served) + refused == len(jobs)
    assert peak <= slots
    assert w.busy_seconds() == pytest.approx(sum(served))


@given(st.floats(0.1, 1000.0), st.floats(0.0, 5.0), st.lists(st.floats(0.0, 100.0), max_size=30))
@example(5.0, 0.2, [32.0])  # tat - tolerance rounds to exactly now, yet tat - now > tolerance
def test_ready_at_is_the_first_time_a_take_succeeds(rate: float, tolerance: float, times: list[float]) -> None:
    """ready_at(now) is when try_take first succeeds: not before (it fails just before), and at it."""
    b = RateLimiter(rate, tolerance)
    now = 0.0
    for t in sorted(times):
        now = t
        b.try_take(now)
    r = b.ready_at(now)
    assert r >= now
    if r > now + 1e-9:
        probe = RateLimiter(rate, tolerance, b.tat)
        assert not probe.try_take(r - 1e-6 * max(1.0, r))
    assert RateLimiter(rate, tolerance, b.tat).try_take(r)
