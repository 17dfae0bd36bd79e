"""Sums of independent waits, for a request that queues at its fleet and at each callee.

Each wait ``W_i`` is 0 with probability ``1 - p_i`` and else exponential with rate ``r_i``
(:class:`~cloudtwin.fluid.queueing.Wait`). Their sum is a mixture over the subsets ``S`` of
waits that are non-zero, with weight ``prod_{i in S} p_i prod_{i not in S} (1 - p_i)``, of
hypoexponential laws: ``P(sum_{i in S} E_i > d) = sum_{i in S} c_i exp(-r_i d)`` with
``c_i = prod_{j in S, j != i} r_j / (r_j - r_i)`` (distinct rates; rates closer than
:data:`SPREAD` are pulled apart to it, which moves the law by well under a percent).
No pure math approximation here beyond that: the sum is exact given the waits.
:class:`SumMix` is :class:`~cloudtwin.fluid.queueing.WaitMix` with such sums as its parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from cloudtwin.fluid.queueing import NO_WAIT, Wait, WaitMix

SPREAD = 0.01  # relative gap kept between two rates of one sum
MAX_WAITS = 3  # waits kept apart; smaller ones are folded into these by their means


@dataclass(frozen=True)
class SumWait:
    """``shift`` plus the sum of the waits ``(p_i, r_i)``."""

    parts: tuple[tuple[float, float], ...]
    shift: float = 0.0

    @property
    def mean(self) -> float:
        return self.shift + sum(p / r for p, r in self.parts)

    @property
    def p(self) -> float:
        """The probability of any wait beyond the shift."""
        return 1.0 - float(np.prod([1.0 - p for p, _ in self.parts])) if self.parts else 0.0


def sum_of(given: list[Wait | SumWait]) -> SumWait:
    """The sum of ``waits`` (the ones that never wait are dropped; past :data:`MAX_WAITS` the
    smallest are added to the largest's mean, which keeps the total mean). A :class:`SumWait`
    among them is its parts."""
    waits: list[Wait] = []
    for g in given:
        if isinstance(g, SumWait):
            waits.append(Wait(0.0, 1.0, g.shift))
            waits.extend(Wait(p, r) for p, r in g.parts)
        else:
            waits.append(g)
    shift = sum(w.shift for w in waits)
    live = sorted(((round(w.p, 3), float(f"{w.rate:.3g}")) for w in waits if w.p >= 0.0005),
                  key=lambda x: -x[0] / x[1])
    if len(live) > MAX_WAITS:
        extra = sum(p / r for p, r in live[MAX_WAITS:])
        p0, r0 = live[0]
        live = [(p0, p0 / (p0 / r0 + extra)), *live[1:MAX_WAITS]]
    rates: list[float] = []
    parts = []
    for p, r in sorted(live, key=lambda x: x[1]):
        while any(abs(r - q) < SPREAD * q for q in rates):
            r *= 1.0 + SPREAD
        rates.append(r)
        parts.append((p, float(f"{r:.3g}")))
    return SumWait(tuple(parts), float(f"{shift:.3g}"))


def sum_within(d: np.ndarray, w: SumWait) -> np.ndarray:
    """``P(sum <= d)`` elementwise (``d``: time past the shift)."""
    ok = d >= 0.0
    dd = np.where(ok, d, 0.0)
    out = np.zeros(np.shape(d))
    n = len(w.parts)
    for k in range(n + 1):
        for subset in combinations(range(n), k):
            weight = 1.0
            for i, (p, _) in enumerate(w.parts):
                weight *= p if i in subset else 1.0 - p
            if weight <= 0.0:
                continue
            if not subset:
                out += weight * ok
                continue
            tail = np.zeros(np.shape(d))
            for i in subset:
                ri = w.parts[i][1]
                c = 1.0
                for j in subset:
                    if j != i:
                        rj = w.parts[j][1]
                        c *= rj / (rj - ri)
                tail += c * np.exp(-ri * dd)
            out += weight * np.where(ok, 1.0 - tail, 0.0)
    return np.clip(out, 0.0, 1.0)


def sum_exceeds(points: np.ndarray, w: SumWait, t: float) -> float:
    """``P(X + shift + sum > t)`` over the equiprobable ``points`` of ``X``."""
    return float(1.0 - sum_within(t - w.shift - points, w).mean())


class SumMix(WaitMix):
    """A :class:`WaitMix` whose parts are :class:`SumWait` (a plain :class:`Wait` is a sum of one)."""

    def __init__(self, points: np.ndarray, sub: int = 600, cap: float | None = None) -> None:
        super().__init__(points, sub)
        self.sums: dict[SumWait, float] = {}
        self.cap = cap  # a client timeout: the successes are the responses within it

    def empty(self) -> SumMix:
        new = SumMix.__new__(SumMix)
        new.points, new.parts, new.weight, new.sums, new.cap = self.points, {}, 0.0, {}, self.cap
        return new

    def add(self, w: Wait | SumWait, weight: float) -> None:
        if weight <= 0.0:
            return
        s = w if isinstance(w, SumWait) else sum_of([w])
        self.sums[s] = self.sums.get(s, 0.0) + weight
        self.weight += weight

    def summary(self) -> Wait:
        """One wait with the mixture's probability of waiting and mean (per-minute percentiles)."""
        if self.weight <= 0.0:
            return NO_WAIT
        p = sum(s.p * v for s, v in self.sums.items()) / self.weight
        shift = sum(s.shift * v for s, v in self.sums.items()) / self.weight
        extra = sum((s.mean - s.shift) * v for s, v in self.sums.items()) / self.weight
        return Wait(p, p / extra, shift) if p > 0 and extra > 0 else Wait(0.0, 1.0, shift)

    def cdf(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        if self.weight <= 0.0:
            return np.ones(t.shape)
        out = np.zeros(t.shape)
        x = self.points[None, :]
        cap = self.cap
        for s, wt in self.sums.items():
            f = sum_within(t[:, None] - s.shift - x, s).mean(axis=1)
            if cap is not None:  # the weight counts successes only: those within the timeout
                within = float(sum_within(cap - s.shift - self.points, s).mean())
                f = np.minimum(f / within, 1.0) if within > 0 else np.ones(t.shape)
            out += wt * f
        return out / self.weight

    def top(self) -> float:
        top = float(self.points[-1]) + max(s.shift + sum(14.0 / r for _, r in s.parts) for s in self.sums)
        return min(top, self.cap) if self.cap is not None else top

    def quantiles(self, qs: tuple[float, ...]) -> list[float]:
        if self.weight <= 0.0:
            return [0.0 for _ in qs]
        self.parts = {(s.p, 1.0 / max(self.top() - float(self.points[-1]) - s.shift, 1e-9) * 14.0, s.shift): v
                      for s, v in self.sums.items()}  # for WaitMix.quantiles' upper end only
        return super().quantiles(qs)

    def mean(self) -> float:
        if self.weight <= 0.0:
            return 0.0
        if self.cap is not None:  # of the truncated law: the integral of 1 - F up to the timeout
            grid = np.linspace(0.0, self.cap, 400)
            return float(np.trapezoid(1.0 - self.cdf(grid), grid))
        return float(self.points.mean()) + sum(s.mean * v for s, v in self.sums.items()) / self.weight
