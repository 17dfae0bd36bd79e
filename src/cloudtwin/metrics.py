"""Streaming metrics: a mergeable, log-bucketed latency histogram.

What is modelled
----------------
:class:`Histogram` keeps a *sparse* count per logarithmic bucket instead of
per-request records, so memory is bounded by the dynamic range of the data
(about 35 buckets per factor of two for ``gamma = 1.02``), not by the number of
requests. Bucket ``i`` holds values in ``[gamma**k, gamma**(k+1))`` with
``k = i - _OFFSET``; a quantile is reported as the bucket's geometric midpoint
``gamma**(k + 0.5)``, so its relative error against the exact sample quantile
(the value at rank ``ceil(q * n)``) is at most ``sqrt(gamma) - 1 ~= 0.995 %``.
Results are clamped to the exact ``[min, max]``, which can only reduce the
error. ``count``, ``sum``, ``min`` and ``max`` are exact.

Histograms are mergeable: merging adds bucket counts, so the merged quantiles
equal those of one histogram fed both streams, and
:meth:`Histogram.to_state` / :meth:`Histogram.from_state` give a plain,
JSON-able form for merging across processes.

What is left out
----------------
* Values ``<= 1e-9`` (including zero and negatives) share one lowest bucket;
  their exact value still counts in ``sum``/``min``/``max``.
* NaN and infinities are not supported (``record`` raises on them).
* No time decay or sliding windows: use one histogram per window and
  :meth:`Histogram.reset` or :meth:`Histogram.merge`.
* ``sum`` is a plain float accumulator, so a merged ``sum`` may differ from a
  single-stream ``sum`` in the last few bits (floating-point addition order).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, MutableSequence
from typing import Any, Final

import numpy as np

__all__ = ["BATCH", "GAMMA", "Histogram"]

GAMMA: Final = 1.02
"""Bucket growth factor: each bucket's upper bound is 2 % above its lower bound."""

_TINY = 1e-9
_INV_LOG_GAMMA = 1.0 / math.log(GAMMA)
# Shift indices so that log(x) / log(gamma) + _OFFSET > 0 for every x > _TINY;
# then int() (truncation) is floor() and bucket widths are uniform in log space.
_OFFSET = 2048
_LOW_INDEX = int(math.log(_TINY) * _INV_LOG_GAMMA + _OFFSET)
_log = math.log
_STATE_VERSION = 1
_BATCH = 4096  # observations buffered before they are bucketed
BATCH: Final = _BATCH
_SMALL = 64  # batches up to this size are folded without numpy (at most 128: _pairwise_sum)


class Histogram:
    """Log-bucketed histogram of non-negative values (latencies in seconds).

    ``record`` only appends to a small buffer; every ``_BATCH`` values (and before
    any read) the buffer is folded into the buckets with numpy, which keeps the
    per-observation cost near that of a list append.

    The buffer is an ``array("d")``: each value is stored as a C double when it is appended,
    while it is still in the CPU's cache, and its float object is freed at once. A list kept
    4,096 float objects alive, scattered over the heap by the time of the flush, whose read
    then missed the cache for most of them (in simple-web-app 330 us of a flush's first
    ``np.fromiter``, 110 us when repeated at once). The doubles are the same, in the same
    order, so every sum, bucket and result is too. :meth:`plain_buffer` switches one
    histogram to a list for a consumer that needs one.
    """

    __slots__ = ("_counts", "_count", "_sum", "_min", "_max", "_buf")

    def __init__(self) -> None:
        self._counts: dict[int, int] = {}
        self._count: int = 0
        self._sum: float = 0.0
        self._min: float = math.inf
        self._max: float = -math.inf
        self._buf: MutableSequence[float] = array("d")

    # ------------------------------------------------------------------ write
    def record(self, x: float) -> None:
        """Add one observation ``x`` (seconds). Hot path: an append and a length check."""
        buf = self._buf
        buf.append(x)
        if len(buf) >= _BATCH:
            self._flush()

    @property
    def buffer(self) -> MutableSequence[float]:
        """The raw buffer, for hot paths that inline :meth:`record` as
        ``b.append(x); if len(b) >= BATCH: h.flush()`` (only ``append`` and ``len``)."""
        return self._buf

    def plain_buffer(self) -> list[float]:
        """Make the buffer a plain list (its values moved over) and return it, for a consumer
        that appends to a ``list`` only (the compiled one-station fast path)."""
        buf = self._buf
        if not isinstance(buf, list):
            buf = self._buf = list(buf)
        return buf

    def flush(self) -> None:
        """Fold buffered observations into the buckets (reads do this themselves)."""
        self._flush()

    def _flush(self) -> None:
        buf = self._buf
        n = len(buf)
        if not n:
            return
        if n <= _SMALL and self._fold_small(buf, n):
            return
        self._fold_numpy(buf)

    def _fold_small(self, buf: MutableSequence[float], n: int) -> bool:
        """Fold a batch of at most :data:`_SMALL` values in plain Python, or leave it alone and
        return False (a value that is not finite, a sum that overflows, or one at or below
        ``_TINY``: :meth:`_fold_numpy` decides those).

        numpy costs about 20 us a batch whatever its size, and a histogram closed every
        simulated minute (a workload's ``minute_hist``) often holds a handful of values. The
        result is bit for bit :meth:`_fold_numpy`'s: the sum is numpy's pairwise sum
        (:func:`_pairwise_sum`), the bucket of ``x`` is ``int(log(x) / log(gamma) + offset)``
        with the same C ``log`` (``tests/test_metrics.py`` checks both paths on random batches)."""
        s = _pairwise_sum(buf, n)
        if not s < math.inf:  # NaN, an infinity, or an overflow
            return False
        lo = min(buf)
        if lo <= _TINY:
            return False
        hi = max(buf)
        c = self._counts
        for x in buf:
            i = int(_log(x) * _INV_LOG_GAMMA + _OFFSET)
            c[i] = c.get(i, 0) + 1
        del buf[:]
        self._count += n
        self._sum += s
        if lo < self._min:
            self._min = lo
        if hi > self._max:
            self._max = hi
        return True

    def _fold_numpy(self, buf: MutableSequence[float]) -> None:
        """Fold the buffer into the buckets with numpy (any batch)."""
        # the same doubles as np.asarray(buf, dtype=np.float64), in half the time (no dtype
        # discovery pass over the list: 61 vs 131 us for 4,096 floats, timeit)
        if buf.__class__ is list:  # see plain_buffer
            arr = np.fromiter(buf, dtype=np.float64, count=len(buf))
        else:
            arr = np.array(buf, dtype=np.float64)  # a copy of the doubles (the buffer is reused)
        del buf[:]
        lo, hi = float(arr.min()), float(arr.max())
        if not (math.isfinite(lo) and math.isfinite(hi)):  # a NaN makes both NaN
            raise ValueError("histogram values must be finite")
        self._count += int(arr.size)
        self._sum += float(arr.sum())
        if lo < self._min:
            self._min = lo
        if hi > self._max:
            self._max = hi
        if lo > _TINY:
            idx = (np.log(arr) * _INV_LOG_GAMMA + _OFFSET).astype(np.int64)
        else:
            tiny = arr <= _TINY
            idx = (np.log(np.where(tiny, 1.0, arr)) * _INV_LOG_GAMMA + _OFFSET).astype(np.int64)
            idx[tiny] = _LOW_INDEX
        # counts per bucket over the few hundred buckets the batch spans (no sort), in key order
        base = int(idx.min())
        counts = np.bincount(idx - base)
        keys = np.flatnonzero(counts)
        c = self._counts
        for i, n in zip((keys + base).tolist(), counts[keys].tolist(), strict=True):
            c[i] = c.get(i, 0) + n

    @property
    def count(self) -> int:
        self._flush()
        return self._count

    @property
    def sum(self) -> float:
        self._flush()
        return self._sum

    @property
    def min(self) -> float:
        self._flush()
        return self._min

    @property
    def max(self) -> float:
        self._flush()
        return self._max

    def merge(self, other: Histogram) -> None:
        """Add every observation of ``other`` into this histogram."""
        other._flush()
        self._flush()
        c = self._counts
        for i, n in other._counts.items():
            c[i] = c.get(i, 0) + n
        self._count += other._count
        self._sum += other._sum
        if other._min < self._min:
            self._min = other._min
        if other._max > self._max:
            self._max = other._max

    def roll_into(self, total: Histogram, qs: tuple[float, ...]) -> list[float]:
        """Close a window: return this histogram's quantiles ``qs`` (zeros when it is empty),
        merge it into ``total`` and reset it. The same as
        ``out = self.quantiles(qs) if self.count else [0.0] * len(qs); total.merge(self);
        self.reset()``, bit for bit, in one pass when the whole window is still in a small
        buffer (a workload's minute of a handful of requests): its values are bucketed once,
        straight into ``total``, and the quantiles are read from the sorted bucket indices.
        ``tests/test_metrics.py`` checks it against the three calls."""
        buf = self._buf
        n = len(buf)
        if not self._counts and n <= _SMALL and _inner(qs):
            if total._buf:
                total._flush()  # merge does, first: the same order of additions to its sum
            if not n:
                return [0.0] * len(qs)
            s = _pairwise_sum(buf, n)
            lo = min(buf)
            if s < math.inf and lo > _TINY:  # else _fold_numpy decides (or raises), as below
                hi = max(buf)
                idx = [int(_log(x) * _INV_LOG_GAMMA + _OFFSET) for x in buf]
                c = total._counts
                for i in idx:  # in the buffer's order: total's buckets gain keys as merge adds them
                    c[i] = c.get(i, 0) + 1
                total._count += n
                total._sum += s  # merge adds this histogram's sum, 0.0 + s, which is s (s > 0)
                if lo < total._min:
                    total._min = lo
                if hi > total._max:
                    total._max = hi
                del buf[:]
                idx.sort()
                # the value at rank ceil(q * n) is the bucket of the rank-th smallest index
                return [min(hi, max(lo, _midpoint(idx[min(n, max(1, math.ceil(q * n))) - 1]))) for q in qs]
        out = self.quantiles(qs) if self.count else [0.0] * len(qs)
        total.merge(self)
        self.reset()
        return out

    def reset(self) -> None:
        """Forget all observations."""
        self._counts = {}
        self._count = 0
        self._sum = 0.0
        self._min = math.inf
        self._max = -math.inf
        del self._buf[:]

    # ------------------------------------------------------------------- read
    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"Histogram(count={self.count}, buckets={len(self._counts)})"

    def mean(self) -> float:
        """Exact arithmetic mean; 0.0 when empty."""
        return self.sum / self.count if self.count else 0.0

    def quantile(self, q: float) -> float:
        """Approximate ``q``-quantile (``q`` in [0, 1]); 0.0 when empty."""
        return self.quantiles((q,))[0]

    def quantiles(self, qs: Iterable[float]) -> list[float]:
        """Several quantiles with a single pass over the sorted buckets.

        The target is the sample value at rank ``ceil(q * n)`` (the
        "inverted CDF" definition); ``q = 0`` and ``q = 1`` return the exact
        ``min`` and ``max``.
        """
        qlist = list(qs)
        for q in qlist:
            if not 0.0 <= q <= 1.0:
                raise ValueError(f"quantile must be in [0, 1], got {q!r}")
        n = self.count  # flushes the buffer
        if n == 0:
            return [0.0] * len(qlist)
        lo, hi = self.min, self.max
        ranks = [min(n, max(1, math.ceil(q * n))) for q in qlist]
        order = sorted(range(len(qlist)), key=ranks.__getitem__)
        out = [0.0] * len(qlist)
        items = sorted(self._counts.items())
        j = 0
        cum = 0
        idx, cnt = items[0]
        for pos in order:
            q = qlist[pos]
            if q == 0.0:
                out[pos] = lo
                continue
            if q == 1.0:
                out[pos] = hi
                continue
            rank = ranks[pos]
            while cum + cnt < rank:
                cum += cnt
                j += 1
                idx, cnt = items[j]
            out[pos] = min(hi, max(lo, _midpoint(idx)))
        return out

    def summary_ms(self) -> dict[str, float]:
        """``mean, min, p50, p90, p99, p999, max`` in milliseconds; ``{}`` if empty."""
        if self.count == 0:
            return {}
        p50, p90, p99, p999 = self.quantiles((0.5, 0.9, 0.99, 0.999))
        values = (self.mean(), self.min, p50, p90, p99, p999, self.max)
        keys = ("mean", "min", "p50", "p90", "p99", "p999", "max")
        return {k: round(v * 1000.0, 3) for k, v in zip(keys, values, strict=True)}

    def coarse_ms(self, per_decade: int = 10) -> dict[str, list[float]]:
        """The distribution in milliseconds on a coarser log scale, for a chart:
        ``{"le_ms": [upper edge of each bucket], "counts": [...]}`` from the first non-empty
        bucket to the last, edges at ``10 ** (k / per_decade)`` ms. A fine bucket counts in
        the coarse bucket of its geometric midpoint. ``{}`` when empty."""
        if self.count == 0:
            return {}
        coarse: dict[int, int] = {}
        for idx, n in self._counts.items():
            ms = max(_midpoint(idx) * 1000.0, 1e-6)
            k = math.ceil(math.log10(ms) * per_decade - 1e-9)
            coarse[k] = coarse.get(k, 0) + n
        lo, hi = min(coarse), max(coarse)
        ks = range(lo, hi + 1)
        return {"le_ms": [float(f"{10 ** (k / per_decade):.4g}") for k in ks],
                "counts": [coarse.get(k, 0) for k in ks]}

    # ------------------------------------------------------------ persistence
    def to_state(self) -> dict[str, Any]:
        """Plain, JSON-able snapshot (see :meth:`from_state`)."""
        empty = self.count == 0
        return {
            "version": _STATE_VERSION,
            "gamma": GAMMA,
            "offset": _OFFSET,
            "count": self.count,
            "sum": self.sum,
            "min": None if empty else self.min,
            "max": None if empty else self.max,
            "buckets": [[i, n] for i, n in sorted(self._counts.items())],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Histogram:
        """Rebuild a histogram from :meth:`to_state` output."""
        if state.get("gamma") != GAMMA or state.get("offset") != _OFFSET:
            raise ValueError("histogram state uses a different bucket layout")
        h = cls()
        h._counts = {int(i): int(n) for i, n in state.get("buckets", [])}
        h._count = int(state.get("count", 0))
        if h._count != sum(h._counts.values()):
            raise ValueError("histogram state is inconsistent: count != sum of buckets")
        h._sum = float(state.get("sum", 0.0))
        if h._count:
            h._min = float(state["min"])
            h._max = float(state["max"])
        return h


def _pairwise_sum(a: MutableSequence[float], n: int) -> float:
    """The sum of ``a[:n]`` (``n <= 128``) added in the order numpy's ``add.reduce`` adds a
    contiguous float64 array: one by one from 0.0 under 8 values, else in 8 running sums
    combined as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``, then the remainder one
    by one (numpy's ``pairwise_sum``; it splits the array in two only above 128 values)."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    r0, r1, r2, r3, r4, r5, r6, r7 = a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
    i = 8
    end = n - n % 8
    while i < end:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[i]
        i += 1
    return res


def _inner(qs: tuple[float, ...]) -> bool:
    """Is every ``q`` strictly between 0 and 1? (0 and 1 are the exact min and max, and a value
    outside, or NaN, is an error: :meth:`Histogram.quantiles` takes those.)"""
    for q in qs:  # noqa: SIM110 (all() would make a generator per call)
        if not 0.0 < q < 1.0:
            return False
    return True


def _midpoint(index: int) -> float:
    """Geometric midpoint of bucket ``index``."""
    return math.exp((index - _OFFSET + 0.5) / _INV_LOG_GAMMA)
