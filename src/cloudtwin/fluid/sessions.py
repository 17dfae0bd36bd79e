"""Session workloads in the fluid engine (``sessions:``, :mod:`cloudtwin.workloads`).

Users start at ``rate``; each sends ``requests`` requests one after another, the next a
``think`` time after the previous reply. Request ``j`` (from 0) of a user who started at
``s`` is sent at ``s + S_j``, ``S_j`` the sum of ``j`` think times and replies. With users starting as a
Poisson stream from time 0, the request rate at ``t`` is ``rate * sum_{j < R} P(S_j <= t)``
(it ramps up over the first sessions and settles at ``rate * R``) and sessions complete at
``rate * P(S_{R-1} <= t)``. With ``think: exp(m)`` ``S_j`` is Erlang (``P(S_j <= t)`` is a
Poisson tail); with a constant think time it is a step. The replies' own times are left
out of ``S_j`` (an assumption: milliseconds against seconds of think).

``state: elasticache`` keeps the session in the cache: every request first makes a
``session`` call to ``store`` (:mod:`cloudtwin.fluid.calls` adds it to each path); it fails
when the store's shard is down. Sessions are never lost here (the cache holds them; a
node lost without a replica would lose them, which is refused). ``state: none`` keeps
nothing.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def arrived_by(think: Any, requests: int, t: float) -> float:
    """``sum_{j < requests} P(S_j <= t)``: the requests a user started at 0 has sent by ``t``."""
    if t < 0.0:
        return 0.0
    m = float(think.mean)
    if think.kind == "const" or m <= 0.0:
        return float(min(requests, math.floor(t / m) + 1)) if m > 0 else float(requests)
    # exp: P(S_j <= t) = P(N >= j), N ~ Poisson(t/m); sum over j < R of P(N >= j) = E[min(N, R-1)] + 1
    x = t / m
    j = np.arange(requests)
    logp = -x + j * math.log(x) - np.array([math.lgamma(k + 1) for k in j]) if x > 0 else None
    if logp is None:
        return 1.0
    pmf = np.exp(logp)  # P(N = j) for j < R
    e_min = float((j * pmf).sum() + (requests - 1) * max(0.0, 1.0 - pmf.sum()))
    return e_min + 1.0


class SessionFlow:
    """One session workload: its request-rate factor and its session counts."""

    def __init__(self, spec: Any) -> None:
        self.ss = spec.sessions
        self.rate = float(spec.rate)
        self.started = self.completed = 0.0

    def factor(self, t: float) -> float:
        """Requests per second per unit of ``rate`` at ``t``."""
        return arrived_by(self.ss.think, self.ss.requests, t)

    def step(self, t: float, dt: float) -> None:
        self.started += self.rate * dt
        last = self.ss.requests - 1  # a session completes with its last request
        self.completed += self.rate * dt * _cdf_sum(self.ss.think, last, t + dt / 2.0)

    def counts(self) -> dict[str, int]:
        started, completed = round(self.started), round(self.completed)
        return {"started": started, "completed": completed, "lost": 0, "active": started - completed}


def _cdf_sum(think: Any, j: int, t: float) -> float:
    """``P(S_j <= t)``."""
    return arrived_by(think, j + 1, t) - arrived_by(think, j, t) if j > 0 else 1.0
