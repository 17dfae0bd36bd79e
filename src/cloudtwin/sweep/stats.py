"""Means over seeds with 95 % confidence intervals, and whether two configurations differ
by more than noise (Welch's t-test at the 5 % level).

Seeds give independent replications of one configuration, so a metric's mean over ``n``
seeds has the interval ``mean ± t(0.975, n-1) · s / sqrt(n)`` (Student). Two configurations
differ beyond noise when Welch's statistic exceeds ``t(0.975, ν)`` with the
Welch–Satterthwaite degrees of freedom ``ν``. The t quantiles are the standard table (exact to
three decimals), interpolated in 1/ν between rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Estimate", "estimate", "t975", "within_noise"]

# t(0.975, df) for df = 1..30, then 40, 60, 120 and infinity
_T = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
      11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093,
      20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048,
      29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}
_Z = 1.960


def t975(df: float) -> float:
    """The 97.5 % quantile of Student's t with ``df`` (> 0, may be fractional) degrees of freedom."""
    if df <= 0 or math.isnan(df):
        raise ValueError("degrees of freedom must be > 0")
    if df >= 1e6:
        return _Z
    keys = sorted(_T)
    df = max(df, 1.0)  # Welch's ν is at least min(n_a, n_b) - 1 >= 1; below 1 only by rounding
    lo = max(k for k in keys if k <= df)
    if lo == df:
        return _T[lo]
    hi = min((k for k in keys if k > df), default=None)
    t_hi, inv_hi = (_Z, 0.0) if hi is None else (_T[hi], 1 / hi)
    w = (1 / lo - 1 / df) / (1 / lo - inv_hi)  # linear in 1/df, as tables are read
    return _T[lo] + w * (t_hi - _T[lo])


@dataclass(frozen=True)
class Estimate:
    n: int
    mean: float
    sd: float  # sample standard deviation (0 for one value)

    @property
    def half_width(self) -> float | None:
        """Half the 95 % interval; None with a single seed."""
        return None if self.n < 2 else t975(self.n - 1) * self.sd / math.sqrt(self.n)


def estimate(values: Sequence[float]) -> Estimate | None:
    xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not xs:
        return None
    n = len(xs)
    mean = math.fsum(xs) / n
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else 0.0
    return Estimate(n, mean, sd)


def within_noise(a: Estimate, b: Estimate) -> bool | None:
    """True when ``a`` and ``b`` do not differ at the 5 % level; None without two seeds each."""
    if a.n < 2 or b.n < 2:
        return None
    va, vb = a.sd ** 2 / a.n, b.sd ** 2 / b.n
    if va + vb == 0:
        return a.mean == b.mean
    t = abs(a.mean - b.mean) / math.sqrt(va + vb)
    nu = (va + vb) ** 2 / ((va ** 2 / (a.n - 1) if va else 0.0) + (vb ** 2 / (b.n - 1) if vb else 0.0))
    return t <= t975(nu)
