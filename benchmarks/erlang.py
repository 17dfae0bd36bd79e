"""Exact M/M/c (Erlang C) formulas used to validate the simulators.

Dependency-free on purpose: the lead will copy this into the package.

Notation: ``lam`` arrival rate (1/s), ``s`` mean service time (s), ``c`` servers,
``a = lam * s`` offered load in Erlangs, ``rho = a / c`` utilisation (must be < 1).
"""

from __future__ import annotations

import math

__all__ = ["erlang_b", "erlang_c", "mmc_mean_wait", "mmc_mean_response"]


def _check_servers(c: int) -> None:
    if isinstance(c, bool) or not isinstance(c, int) or c < 1:
        raise ValueError(f"c must be a positive integer, got {c!r}")


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c, via the stable recurrence
    ``B(0) = 1, B(k) = a*B(k-1) / (k + a*B(k-1))`` (no factorials, no overflow)."""
    _check_servers(c)
    if not (a >= 0.0 and math.isfinite(a)):
        raise ValueError(f"offered load a must be finite and >= 0, got {a!r}")
    b = 1.0
    for k in range(1, c + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival has to wait in M/M/c with offered load ``a``.

    Uses ``C = B / (1 - rho * (1 - B))`` with ``B`` the Erlang B value, which is
    numerically stable for large ``c``. Requires ``a < c`` (stable queue).
    """
    _check_servers(c)
    if a == 0.0:
        return 0.0
    if not a < c:
        raise ValueError(f"unstable queue: offered load a={a!r} must be < c={c!r}")
    b = erlang_b(c, a)
    rho = a / c
    return b / (1.0 - rho * (1.0 - b))


def mmc_mean_wait(lam: float, s: float, c: int) -> float:
    """Mean time in queue (before service starts), seconds: ``Wq = C * s / (c - a)``."""
    if lam < 0.0 or s <= 0.0:
        raise ValueError("need lam >= 0 and s > 0")
    a = lam * s
    return erlang_c(c, a) * s / (c - a)


def mmc_mean_response(lam: float, s: float, c: int) -> float:
    """Mean response time (wait + service), seconds: ``W = Wq + s``."""
    return mmc_mean_wait(lam, s, c) + s


if __name__ == "__main__":  # quick sanity print for c=4, rho=0.9, s=10 ms
    _lam, _s, _c = 360.0, 0.010, 4
    print(
        f"C={erlang_c(_c, _lam * _s):.6f} Wq={mmc_mean_wait(_lam, _s, _c) * 1e3:.4f}ms "
        f"W={mmc_mean_response(_lam, _s, _c) * 1e3:.4f}ms"
    )
