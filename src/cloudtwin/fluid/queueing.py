"""Queueing approximations for the fluid engine: pure math, no AWS words.

A station is ``c`` identical servers fed at rate ``lam`` with mean service time
``s`` (offered load ``a = lam * s``, utilisation ``rho = a / c``).

* **M/M/c** (Erlang C): an arrival waits with probability ``C(c, a)``; given
  that it waits, the wait is exponential with rate ``c/s - lam``, so
  ``P(W > t) = C * exp(-(c*mu - lam) * t)``. Exact for Poisson arrivals and
  exponential service.
* **G/G/c** (Allen–Cunneen): the mean wait is the M/M/c mean wait times
  ``(ca2 + cs2) / 2`` (``ca2``, ``cs2``: squared coefficients of variation of
  inter-arrival and service times). For quantiles the wait is 0 or exponential
  (with the E_k/M/c decay rate for round-robin arrivals, see :func:`allen_cunneen`):
  an *approximation* of the tail (exact only for M/M/c), rough when ``c`` is
  small and the variability high.
* **Overload** (``a >= c``): no steady state. The fluid limit: the backlog
  grows at ``lam - c/s`` per second and a newcomer waits ``backlog * s / c``.

The response time is ``X + W`` with ``X`` the request's own delays (service
and anything else, independent of the wait) and ``W`` the wait, a mixture of
"no wait" and a shifted exponential. :class:`WaitMix` accumulates such waits
over time (weights: requests) and gives quantiles of ``X + W`` numerically,
from equiprobable points of ``X`` and bisection on the mixture CDF.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from cloudtwin.theory import erlang_c

__all__ = ["Wait", "WaitMix", "allen_cunneen", "backlog_step", "erlang_c", "exceeds", "mmc_wait"]


@dataclass(frozen=True)
class Wait:
    """The wait before service: ``shift`` seconds for everyone, then with probability ``p``
    an exponential extra wait of rate ``rate`` (1/s); ``rate`` is ignored when ``p == 0``."""

    p: float
    rate: float
    shift: float = 0.0

    def tail(self, t: float) -> float:
        """``P(W > t)``."""
        if t < self.shift:
            return 1.0
        if self.p <= 0.0:
            return 0.0
        return self.p * math.exp(-self.rate * (t - self.shift))

    @property
    def mean(self) -> float:
        return self.shift + (self.p / self.rate if self.p > 0.0 else 0.0)


NO_WAIT = Wait(0.0, 1.0)


def mmc_wait(lam: float, s: float, c: int) -> Wait:
    """The M/M/c wait (needs ``lam * s < c``): Erlang C, then exponential with rate ``c/s - lam``."""
    a = lam * s
    if a <= 0.0:
        return NO_WAIT
    return Wait(erlang_c(c, a), c / s - lam)


@lru_cache(maxsize=65536)
def allen_cunneen(lam: float, s: float, c: int, ca2: float, cs2: float) -> Wait:
    """The G/G/c wait: an approximation, exact for M/M/c (``ca2 = cs2 = 1``).

    * Poisson arrivals (``ca2 >= 1``): the Allen–Cunneen mean ``Wq(M/M/c) * (ca2 + cs2) / 2``,
      with the M/M/c decay rate ``c/s - lam`` and the wait probability scaled to that mean.
    * Round robin over ``k`` targets (``ca2 = 1/k``: every k-th of a Poisson stream, Erlang-k
      inter-arrival times): the decay rate of E_k/M/c (:func:`gim_decay`), and the wait probability
      Erlang C times ``sigma / rho`` (exact for c = 1, where GI/M/1 waits with probability sigma)
      times ``(1 + cs2) / 2`` for the service's variability (a heuristic, checked against the exact
      engine in docs/performance.md section 9).
    * ``ca2 + cs2 == 0`` (D/D/c below saturation): nobody waits.
    """
    mm = mmc_wait(lam, s, c)
    if mm.p <= 0.0:
        return NO_WAIT
    factor = (ca2 + cs2) / 2.0
    if factor <= 0.0:
        return NO_WAIT  # D/D/c below saturation: nobody waits
    if ca2 >= 1.0 or ca2 <= 0.0:
        mean_wait = mm.p / mm.rate * factor
        p = min(mm.p * factor, 1.0)
        return Wait(p, p / mean_wait)
    k = max(1, round(1.0 / ca2))
    rate, sigma = gim_decay(lam, s, c, k)
    rho = lam * s / c
    p = min(mm.p * sigma / rho * (1.0 + cs2) / 2.0, 1.0)
    return Wait(p, rate)


def gim_decay(lam: float, s: float, c: int, k: int) -> tuple[float, float]:
    """The decay rate ``c*mu*(1 - sigma)`` of the wait of E_k/M/c (Erlang-k inter-arrival times of
    rate ``lam``): ``sigma`` is the root in (0, 1) of ``sigma = A*(c*mu*(1 - sigma))`` with
    ``A*(x) = (k*lam / (k*lam + x))**k`` the inter-arrival LST (fixed-point iteration from 0)."""
    cmu = c / s
    sigma = 0.0
    for _ in range(500):
        nxt = (k * lam / (k * lam + cmu * (1.0 - sigma))) ** k
        if abs(nxt - sigma) < 1e-12:
            sigma = nxt
            break
        sigma = nxt
    return cmu * (1.0 - sigma), sigma


def backlog_step(q: float, lam: float, s: float, c: float, dt: float) -> float:
    """The fluid backlog after ``dt`` seconds: it grows at ``lam - c/s`` (or drains), never below 0."""
    return max(q + (lam - c / s) * dt, 0.0)


SUB = 600  # points used for quantiles (every k-th of the sorted draws: still equiprobable)


class WaitMix:
    """Response times ``X + W`` over many periods, each with its own wait ``W`` and a weight.

    ``points``: equiprobable draws of ``X`` (the delays that do not depend on the queue).
    Waits with nearly the same parameters (``p`` to 0.001, rate and shift to 3 significant
    digits) are merged, so the memory does not grow with the number of periods. Quantiles
    come from the mixture CDF on a log-spaced grid of 400 times, interpolated.
    """

    GRID = 300

    def __init__(self, points: np.ndarray, sub: int = SUB) -> None:
        pts = np.sort(np.asarray(points, dtype=float))
        step = max(1, len(pts) // sub)
        self.points = pts[step // 2 :: step]
        self.parts: dict[tuple[float, float, float], float] = {}
        self.weight = 0.0

    def empty(self) -> WaitMix:
        """A new, empty mixture over the same points (no re-sorting)."""
        new = WaitMix.__new__(WaitMix)
        new.points, new.parts, new.weight = self.points, {}, 0.0
        return new

    def add(self, w: Wait, weight: float) -> None:
        if weight <= 0.0:
            return
        key = (round(w.p, 3), _r3(w.rate), _r3(w.shift)) if w.p >= 0.0005 else (0.0, 1.0, _r3(w.shift))
        self.parts[key] = self.parts.get(key, 0.0) + weight
        self.weight += weight

    def summary(self) -> Wait:
        """One wait with the mixture's mean wait probability, conditional wait and shift
        (for per-minute percentiles, where one part is precise enough)."""
        if self.weight <= 0.0:
            return NO_WAIT
        p = sum(k[0] * v for k, v in self.parts.items()) / self.weight
        shift = sum(k[2] * v for k, v in self.parts.items()) / self.weight
        if p <= 0.0:
            return Wait(0.0, 1.0, shift)
        cond = sum(k[0] / k[1] * v for k, v in self.parts.items()) / (p * self.weight)
        return Wait(p, 1.0 / cond, shift)

    def cdf(self, t: np.ndarray) -> np.ndarray:
        """``P(X + W <= t)`` over the whole mixture, for each time in ``t``."""
        t = np.asarray(t, dtype=float)
        out = np.zeros(t.shape)
        if self.weight <= 0.0:
            return out + 1.0
        x = self.points[None, :]
        for (p, rate, shift), wt in self.parts.items():
            out += wt * _within(t[:, None] - shift - x, p, rate).mean(axis=1)
        return out / self.weight

    def quantiles(self, qs: tuple[float, ...]) -> list[float]:
        """The ``qs``-quantiles of ``X + W`` in seconds."""
        if self.weight <= 0.0:
            return [0.0 for _ in qs]
        top = float(self.points[-1]) + max(shift + (14.0 / rate if p > 0 else 0.0) for p, rate, shift in self.parts)
        lo = max(float(self.points[0]) * 0.5, top * 1e-6, 1e-7)
        grid = np.concatenate(([0.0], np.geomspace(lo, top * 1.01, self.GRID)))
        f = np.maximum.accumulate(self.cdf(grid))
        return invert_cdf(grid, f, qs)

    def mean(self) -> float:
        if self.weight <= 0.0:
            return 0.0
        return float(self.points.mean()) + sum(Wait(*k).mean * v for k, v in self.parts.items()) / self.weight


def exceeds(points: np.ndarray, w: Wait, t: float) -> float:
    """``P(X + W > t)`` for one wait ``w``: the share of requests a client timeout of ``t`` cuts."""
    return float(1.0 - _within(t - w.shift - points, w.p, w.rate).mean())


def _within(d: np.ndarray, p: float, rate: float) -> np.ndarray:
    """``P(W' <= d)`` elementwise for the unshifted wait ``W'`` (0, or Exp(rate) with probability ``p``)."""
    ok = d >= 0.0
    if p <= 0.0:
        return ok.astype(float)
    return np.where(ok, 1.0 - p * np.exp(-rate * np.where(ok, d, 0.0)), 0.0)


def _r3(x: float) -> float:
    return float(f"{x:.3g}")


def invert_cdf(grid: np.ndarray, f: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """The ``qs``-quantiles of a CDF ``f`` (non-decreasing) tabulated on ``grid``, linear between points."""
    out = []
    for q in qs:
        i = int(np.searchsorted(f, q))
        if i == 0:
            out.append(float(grid[0]))
        elif i >= len(grid):
            out.append(float(grid[-1]))
        else:
            f0, f1 = f[i - 1], f[i]
            frac = (q - f0) / (f1 - f0) if f1 > f0 else 1.0
            out.append(float(grid[i - 1] + frac * (grid[i] - grid[i - 1])))
    return out
