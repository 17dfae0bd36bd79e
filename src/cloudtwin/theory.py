"""Exact queueing formulas to check a simulation against: M/M/c (Erlang B and C) and M/M/∞.

A single ``ec2`` with ``workers: c``, a handler of one ``cpu: exp(S)`` step and
Poisson arrivals at rate ``lam`` *is* an M/M/c queue (with an unlimited
``backlog``), so its mean latency, utilisation and in-system count can be
compared with these numbers::

    from cloudtwin.theory import mmc_mean_response
    mmc_mean_response(360.0, 0.010, 4)   # 0.0289 s: M/M/4 at rho = 0.9

Notation: ``lam`` arrival rate (1/s), ``s`` mean service time (s), ``c``
servers, ``a = lam * s`` offered load in Erlangs, ``rho = a / c`` utilisation.
Queue formulas need a stable queue (``a < c``) and raise ``ValueError``
otherwise, as :mod:`math` does for arguments outside a function's domain.

Modelled: steady-state means, the wait probability, the waiting-time tail and
the response-time distribution of M/M/c with FIFO service, and M/M/∞.
Left out: finite buffers other than M/M/c/c (Erlang B), general service-time
distributions (M/G/c has no closed form), transient behaviour, and the
sampling error of a finite simulation (tests account for it themselves).
"""

from __future__ import annotations

import math

__all__ = [
    "erlang_b",
    "erlang_c",
    "mmc_mean_in_system",
    "mmc_mean_queue_length",
    "mmc_mean_response",
    "mmc_mean_wait",
    "mmc_response_quantile",
    "mmc_response_tail",
    "mmc_utilization",
    "mmc_wait_tail",
    "mminf_in_system_pmf",
    "mminf_mean_in_system",
    "mminf_mean_response",
]


def _check_servers(c: int) -> None:
    if isinstance(c, bool) or not isinstance(c, int) or c < 1:
        raise ValueError(f"c must be a positive integer, got {c!r}")


def _check_rates(lam: float, s: float) -> None:
    if not (lam >= 0.0 and math.isfinite(lam)) or not (s > 0.0 and math.isfinite(s)):
        raise ValueError(f"need finite lam >= 0 and s > 0, got lam={lam!r}, s={s!r}")


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c (no queue) at offered load ``a`` Erlangs.

    Uses the recurrence ``B(0) = 1, B(k) = a*B(k-1) / (k + a*B(k-1))``: no
    factorials, so it neither overflows nor loses precision for large ``c``.
    """
    _check_servers(c)
    if not (a >= 0.0 and math.isfinite(a)):
        raise ValueError(f"offered load a must be finite and >= 0, got {a!r}")
    b = 1.0
    for k in range(1, c + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c at offered load ``a`` (needs ``a < c``).

    ``C = B / (1 - rho * (1 - B))`` with ``B`` the Erlang B value, stable for large ``c``.
    """
    _check_servers(c)
    if not (a >= 0.0 and math.isfinite(a)):
        raise ValueError(f"offered load a must be finite and >= 0, got {a!r}")
    if a == 0.0:
        return 0.0
    if not a < c:
        raise ValueError(f"unstable queue: offered load a={a!r} must be < c={c!r}")
    b = erlang_b(c, a)
    rho = a / c
    return b / (1.0 - rho * (1.0 - b))


def mmc_utilization(lam: float, s: float, c: int) -> float:
    """Fraction of server time busy: ``rho = lam * s / c`` (what CloudWatch's CPUUtilization averages)."""
    _check_rates(lam, s)
    _check_servers(c)
    return lam * s / c


def mmc_mean_wait(lam: float, s: float, c: int) -> float:
    """Mean time in the queue before service starts, seconds: ``Wq = C * s / (c - a)``."""
    _check_rates(lam, s)
    a = lam * s
    return erlang_c(c, a) * s / (c - a)


def mmc_mean_response(lam: float, s: float, c: int) -> float:
    """Mean response time (wait + service), seconds: ``W = Wq + s``."""
    return mmc_mean_wait(lam, s, c) + s


def mmc_mean_queue_length(lam: float, s: float, c: int) -> float:
    """Time-average number waiting (not in service): ``Lq = lam * Wq``."""
    return lam * mmc_mean_wait(lam, s, c)


def mmc_mean_in_system(lam: float, s: float, c: int) -> float:
    """Time-average number in the system (waiting or in service): ``L = lam * W`` (Little's law)."""
    return lam * mmc_mean_response(lam, s, c)


def mmc_wait_tail(lam: float, s: float, c: int, t: float) -> float:
    """``P(Wq > t)``: the wait is 0 with probability ``1 - C``, else exponential with rate ``c/s - lam``."""
    _check_rates(lam, s)
    if t < 0.0:
        return 1.0
    a = lam * s
    return erlang_c(c, a) * math.exp(-(c / s - lam) * t)


def mmc_response_tail(lam: float, s: float, c: int, t: float) -> float:
    """``P(W > t)`` for the response time ``W = Wq + S`` of M/M/c (FIFO).

    ``S ~ Exp(mu)`` with ``mu = 1/s`` is independent of the wait, which is 0 with
    probability ``1 - C`` and otherwise ``Exp(theta)`` with ``theta = c*mu - lam``.
    The convolution gives ``P(S + E > t) = (theta e^{-mu t} - mu e^{-theta t}) / (theta - mu)``
    (``(1 + mu t) e^{-mu t}`` when ``theta == mu``).
    """
    _check_rates(lam, s)
    if t <= 0.0:
        return 1.0
    mu = 1.0 / s
    a = lam * s
    cw = erlang_c(c, a)
    theta = c * mu - lam
    no_wait = math.exp(-mu * t)
    if math.isclose(theta, mu, rel_tol=1e-12):
        waited = (1.0 + mu * t) * math.exp(-mu * t)
    else:
        waited = (theta * math.exp(-mu * t) - mu * math.exp(-theta * t)) / (theta - mu)
    return (1.0 - cw) * no_wait + cw * waited


def mmc_response_quantile(lam: float, s: float, c: int, q: float) -> float:
    """The ``q``-quantile of the M/M/c response time, seconds (bisection on :func:`mmc_response_tail`)."""
    if not 0.0 <= q < 1.0:
        raise ValueError(f"quantile must be in [0, 1), got {q!r}")
    if q == 0.0:
        return 0.0
    lo, hi = 0.0, s
    while 1.0 - mmc_response_tail(lam, s, c, hi) < q:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if 1.0 - mmc_response_tail(lam, s, c, mid) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    return (lo + hi) / 2.0


def mminf_mean_response(s: float) -> float:
    """M/M/∞: nobody waits, so the mean response time is the mean service time ``s``."""
    _check_rates(0.0, s)
    return s


def mminf_mean_in_system(lam: float, s: float) -> float:
    """M/M/∞: the number in system is Poisson with mean ``a = lam * s``."""
    _check_rates(lam, s)
    return lam * s


def mminf_in_system_pmf(n: int, lam: float, s: float) -> float:
    """M/M/∞: ``P(N = n) = e^{-a} a^n / n!`` with ``a = lam * s`` (computed in log space)."""
    _check_rates(lam, s)
    if n < 0:
        return 0.0
    a = lam * s
    if a == 0.0:
        return 1.0 if n == 0 else 0.0
    return math.exp(-a + n * math.log(a) - math.lgamma(n + 1))
