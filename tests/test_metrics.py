"""Tests for cloudtwin.metrics.Histogram: accuracy, mergeability, persistence."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudtwin.metrics import Histogram

QS = [0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0]


def _filled(xs: np.ndarray) -> Histogram:
    h = Histogram()
    for x in xs.tolist():
        h.record(x)
    return h


def _exact(sorted_xs: np.ndarray, q: float) -> float:
    """Sample value at rank ceil(q*n) (1-based), the definition the histogram targets."""
    n = len(sorted_xs)
    rank = min(n, max(1, math.ceil(q * n)))
    return float(sorted_xs[rank - 1])


@pytest.mark.parametrize(
    "dist",
    ["lognormal", "exponential", "uniform_wide"],
)
def test_quantiles_within_one_percent(dist: str) -> None:
    rng = np.random.default_rng(20240601)
    n = 200_000
    if dist == "lognormal":
        xs = rng.lognormal(mean=math.log(0.01), sigma=1.0, size=n)
    elif dist == "exponential":
        xs = rng.exponential(scale=0.05, size=n)
    else:  # spans 1 microsecond .. 100 seconds
        xs = 10.0 ** rng.uniform(-6, 2, size=n)
    h = _filled(xs)
    s = np.sort(xs)
    for q in QS:
        got = h.quantile(q)
        want = _exact(s, q)
        assert abs(got - want) <= 0.01 * want, (q, got, want)
        # Same target as numpy's inverted-CDF definition.
        assert want == pytest.approx(float(np.quantile(xs, q, method="inverted_cdf")), rel=1e-12)
    # Dense sweep: worst relative error over 1001 quantiles stays below sqrt(1.02) - 1.
    worst = max(abs(h.quantile(q) - _exact(s, q)) / _exact(s, q) for q in np.linspace(0, 1, 1001))
    assert worst <= math.sqrt(1.02) - 1 + 1e-9


def test_exact_moments_and_extremes() -> None:
    rng = np.random.default_rng(7)
    xs = rng.exponential(0.02, size=50_000)
    h = _filled(xs)
    assert h.count == 50_000
    assert len(h) == 50_000
    assert h.sum == pytest.approx(float(xs.sum()), rel=1e-12)
    assert h.mean() == pytest.approx(float(xs.mean()), rel=1e-12)
    assert h.min == float(xs.min())
    assert h.max == float(xs.max())
    assert h.quantile(0.0) == h.min
    assert h.quantile(1.0) == h.max
    # Sparse: far fewer buckets than samples.
    assert len(h.to_state()["buckets"]) < 1500


def test_quantile_clamped_to_min_max() -> None:
    h = Histogram()
    for _ in range(10):
        h.record(0.0123)
    for q in (0.0, 0.3, 0.5, 0.99, 1.0):
        assert h.quantile(q) == 0.0123


def test_tiny_zero_and_negative_share_lowest_bucket() -> None:
    h = Histogram()
    for x in (0.0, 1e-12, -1.0, 1e-9):
        h.record(x)
    h.record(0.5)
    assert h.count == 5
    assert h.min == -1.0
    assert h.max == 0.5
    assert h.sum == pytest.approx(-0.5 + 1e-12 + 1e-9)
    assert len(h.to_state()["buckets"]) == 2
    assert h.quantile(0.8) < 1e-8  # rank 4 of 5 is in the lowest bucket
    assert h.quantile(0.81) == pytest.approx(0.5, rel=0.01)


def test_empty_histogram() -> None:
    h = Histogram()
    assert h.summary_ms() == {}
    assert h.quantile(0.5) == 0.0
    assert h.mean() == 0.0
    assert h.count == 0
    state = h.to_state()
    assert state["min"] is None and state["max"] is None
    h2 = Histogram.from_state(json.loads(json.dumps(state)))
    assert h2.count == 0 and h2.summary_ms() == {}


def test_quantile_rejects_out_of_range() -> None:
    h = Histogram()
    h.record(1.0)
    with pytest.raises(ValueError):
        h.quantile(1.5)
    with pytest.raises(ValueError):
        h.quantile(-0.1)


def test_merge_equals_single_stream() -> None:
    rng = np.random.default_rng(3)
    a_xs = rng.lognormal(math.log(0.005), 0.7, size=80_000)
    b_xs = rng.exponential(0.2, size=60_000)
    a, b = _filled(a_xs), _filled(b_xs)
    both = _filled(np.concatenate([a_xs, b_xs]))
    a.merge(b)
    assert a.count == both.count == 140_000
    assert a.sum == pytest.approx(both.sum, rel=1e-12)
    assert a.min == both.min and a.max == both.max
    for q in QS:
        assert a.quantile(q) == both.quantile(q)
    assert a.to_state()["buckets"] == both.to_state()["buckets"]
    assert a.summary_ms() == both.summary_ms()


def test_merge_with_empty_is_identity() -> None:
    h = Histogram()
    for x in (0.001, 0.002, 0.004):
        h.record(x)
    before = h.to_state()
    h.merge(Histogram())
    assert h.to_state() == before
    e = Histogram()
    e.merge(h)
    assert e.to_state() == before


def test_state_round_trip_through_json() -> None:
    rng = np.random.default_rng(11)
    h = _filled(rng.lognormal(-3, 1.5, size=20_000))
    state = json.loads(json.dumps(h.to_state()))
    h2 = Histogram.from_state(state)
    assert h2.count == h.count
    assert h2.sum == h.sum
    assert (h2.min, h2.max) == (h.min, h.max)
    assert h2.summary_ms() == h.summary_ms()
    for q in QS:
        assert h2.quantile(q) == h.quantile(q)
    # States from different processes merge like in-process histograms.
    h3 = Histogram.from_state(state)
    h3.merge(h2)
    assert h3.count == 2 * h.count
    assert h3.quantile(0.99) == h.quantile(0.99)


def test_from_state_rejects_foreign_layout() -> None:
    h = Histogram()
    h.record(0.1)
    state = h.to_state()
    with pytest.raises(ValueError):
        Histogram.from_state({**state, "gamma": 1.05})
    with pytest.raises(ValueError):
        Histogram.from_state({**state, "count": 5})


def test_summary_ms_keys_and_units() -> None:
    h = Histogram()
    for ms in range(1, 1001):  # 1 ms .. 1000 ms
        h.record(ms / 1000.0)
    s = h.summary_ms()
    assert list(s) == ["mean", "min", "p50", "p90", "p99", "p999", "max"]
    assert s["mean"] == pytest.approx(500.5, rel=1e-9)
    assert s["min"] == 1.0 and s["max"] == 1000.0
    assert s["p50"] == pytest.approx(500.0, rel=0.01)
    assert s["p90"] == pytest.approx(900.0, rel=0.01)
    assert s["p99"] == pytest.approx(990.0, rel=0.01)
    assert s["p999"] == pytest.approx(999.0, rel=0.01)
    assert all(v == round(v, 3) for v in s.values())


def test_reset() -> None:
    h = Histogram()
    h.record(0.3)
    h.reset()
    assert h.count == 0 and h.summary_ms() == {}
    h.record(0.2)
    assert h.quantile(0.5) == 0.2


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=1e-7, max_value=1e4), min_size=1, max_size=300),
    st.floats(min_value=0.0, max_value=1.0),
)
def test_quantile_error_bound_property(xs: list[float], q: float) -> None:
    h = Histogram()
    for x in xs:
        h.record(x)
    want = _exact(np.sort(np.array(xs)), q)
    assert abs(h.quantile(q) - want) <= 0.01 * want
    assert h.min <= h.quantile(q) <= h.max


def _state(h: Histogram) -> tuple[Any, ...]:
    """Everything a fold sets, the sum bit for bit (its hex), not approximately."""
    return sorted(h._counts.items()), h._count, h._min, h._max, h._sum.hex()


def _both_paths(xs: list[float]) -> tuple[bool, tuple[Any, ...], tuple[Any, ...]]:
    """One batch folded by the plain-Python path (did it take the batch?) and by numpy's, each
    into a fresh histogram: (taken, its state, numpy's state)."""
    small, big = Histogram(), Histogram()
    for h in (small, big):
        h.buffer.extend(xs)
    taken = small._fold_small(small.buffer, len(xs))
    big._fold_numpy(big.buffer)
    return taken, _state(small), _state(big)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(min_value=1.5e-9, max_value=1e6), min_size=1, max_size=64))
def test_small_batches_fold_bit_for_bit_as_numpy(xs: list[float]) -> None:
    """A batch of up to 64 values folded without numpy gives numpy's sum, buckets and extremes
    to the bit (the per-minute histograms take this path)."""
    taken, small, big = _both_paths(xs)
    assert taken
    assert small == big


def test_small_batches_match_numpy_over_many_random_batches() -> None:
    """20,000 batches of latency-like values, every size from 1 to 64: the same state."""
    rng = np.random.default_rng(7)
    for _ in range(20_000):
        n = int(rng.integers(1, 65))
        xs = np.maximum(rng.exponential(1.0, n) * 10.0 ** rng.integers(-5, 3, n), 2e-9).tolist()
        taken, small, big = _both_paths(xs)
        assert taken
        assert small == big


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 0.0, -1.0, 1e-9, 1e308])
def test_small_batches_leave_special_values_to_numpy(bad: float) -> None:
    """NaN, infinities, zero, values at or below the lowest bucket and a sum that overflows go
    the numpy way: the same result, or the same error."""
    xs = [0.25, bad, 1e308] if bad == 1e308 else [0.25, bad, 3.0]
    h = Histogram()
    h.buffer.extend(xs)
    assert not h._fold_small(h.buffer, len(xs))
    assert [x.hex() for x in h.buffer] == [x.hex() for x in xs]  # untouched
    ref = Histogram()
    ref.buffer.extend(xs)
    if math.isnan(bad) or math.isinf(bad):
        with pytest.raises(ValueError, match="finite"):
            h.flush()
        with pytest.raises(ValueError, match="finite"):
            ref._fold_numpy(ref.buffer)
        return
    with np.errstate(over="ignore"):  # 1e308 + 1e308
        h.flush()
        ref._fold_numpy(ref.buffer)
    assert _state(h) == _state(ref)


def _roll_by_hand(h: Histogram, total: Histogram, qs: tuple[float, ...]) -> list[float]:
    """What :meth:`Histogram.roll_into` stands for: three calls."""
    out = h.quantiles(qs) if h.count else [0.0] * len(qs)
    total.merge(h)
    h.reset()
    return out


_window = st.lists(
    st.one_of(st.floats(min_value=1.5e-9, max_value=1e6), st.sampled_from([0.0, 1e-9, 0.25, 0.25])),
    max_size=80,  # past _SMALL: the three-call way
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_window, st.booleans(), _window), min_size=1, max_size=6),
       st.sampled_from([(0.5, 0.9, 0.99), (0.0, 0.5, 1.0), (0.999,), ()]))
def test_roll_into_is_quantiles_merge_reset_to_the_bit(windows: list[tuple[list[float], bool, list[float]]],
                                                      qs: tuple[float, ...]) -> None:
    """Window after window (some folded part-way, as a full buffer would be; the total with
    values of its own in its buffer), rolling into a total gives the quantiles, the total's
    state (its buckets in the same key order, the sum to the bit) and an empty window, as
    quantiles + merge + reset do."""
    fast, fast_total, ref, ref_total = Histogram(), Histogram(), Histogram(), Histogram()
    for xs, fold_early, own in windows:
        for h, total in ((fast, fast_total), (ref, ref_total)):
            h.buffer.extend(xs[: len(xs) // 2])
            if fold_early:
                h.flush()
            h.buffer.extend(xs[len(xs) // 2:])
            total.buffer.extend(own)
        got = fast.roll_into(fast_total, qs)
        want = _roll_by_hand(ref, ref_total, qs)
        assert [x.hex() for x in got] == [x.hex() for x in want]
        assert list(fast_total._counts.items()) == list(ref_total._counts.items())
        assert _state(fast_total) == _state(ref_total)
        assert _state(fast) == _state(ref) == ([], 0, math.inf, -math.inf, (0.0).hex())
        assert len(fast.buffer) == 0
        assert len(fast_total.buffer) == len(ref_total.buffer) == 0  # folded first, as merge does


@pytest.mark.parametrize("qs", [(0.5, math.nan), (math.nan, 0.5), (0.5, 1.5), (-0.1,)])
def test_roll_into_rejects_what_quantiles_rejects(qs: tuple[float, ...]) -> None:
    """A quantile outside [0, 1], or NaN, wherever it sits in ``qs``: quantiles' error."""
    h, total = Histogram(), Histogram()
    h.buffer.extend([0.01, 0.02])
    with pytest.raises(ValueError, match="quantile must be in"):
        h.roll_into(total, qs)


def test_roll_into_small_window_is_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """A minute of a few values is bucketed straight into the total: no quantiles, merge or
    reset call (the point of the method), and the same numbers as those calls give."""
    xs = [0.012, 0.034, 0.0095, 0.2, 0.034]
    ref, ref_total = Histogram(), Histogram()
    ref.buffer.extend(xs)
    want = _roll_by_hand(ref, ref_total, (0.5, 0.9, 0.99))
    for name in ("quantiles", "merge", "reset", "_fold_small", "_fold_numpy"):
        monkeypatch.setattr(Histogram, name, None)
    h, total = Histogram(), Histogram()
    h.buffer.extend(xs)
    got = h.roll_into(total, (0.5, 0.9, 0.99))
    assert [x.hex() for x in got] == [x.hex() for x in want]
    assert total._count == 5 and total._sum.hex() == ref_total._sum.hex()
    assert sorted(total._counts.items()) == sorted(ref_total._counts.items())
