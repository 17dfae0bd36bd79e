"""Peak request rates into every component, for the data rules (a static estimate).

Each workload offers ``rate x its profile's peak factor x requests per session`` at its
entry; the rate is spread over DNS records and load balancer targets as in
:attr:`Context.loads`, passes an API Gateway (capped at its effective throttle rate) to its
integration and a CloudFront distribution to its origins (by behavior share, every request
counted as a cache miss: an upper bound), and every call step of a fleet or function sends
the full rate to its target. Left out, as in ``Context.loads``: load arriving through
queues, topics, streams and notifications, retries, and caches' hit ratios.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cloudtwin.review.context import HANDLERS, LBS, _routed
from cloudtwin.spec.apigateway import account_throttle
from cloudtwin.spec.loader import Path

if TYPE_CHECKING:
    from cloudtwin.review.context import Context

MAX_DEPTH = 20


@dataclass
class Access:
    """One way a table is read or written at the peak (CT-PERF-005)."""

    kind: str  # read / write
    rate: float  # requests/s at the peak
    units: float  # capacity units per request
    top: float  # share of requests on the most frequent key (0: not skewed)
    key: str  # the key draw as written
    path: Path  # where it is set in the spec
    who: str  # the caller


def peak_rates(ctx: Context) -> dict[str, float]:
    """Requests/s reaching each component at the workloads' peak (components reached only)."""
    out: dict[str, float] = {}
    walk(ctx, lambda name, r, _how: out.__setitem__(name, out.get(name, 0.0) + r))
    return out


def walk(ctx: Context, visit: Callable[[str, float, Any], None]) -> None:
    """Call ``visit(component, rate, how)`` for every hop of every workload's peak traffic; ``how`` is the
    workload, the API Gateway integration or the call step that sent it (None for DNS and load balancers)."""

    def send(name: str, r: float, how: Any, depth: int) -> None:
        c: Any = ctx.comp(name)
        if c is None or r <= 0 or depth > MAX_DEPTH:
            return
        visit(name, r, how)
        if c.type == "route53":
            for t, share in _routed(c):
                send(t, r * share, None, depth + 1)
        elif c.type in LBS:
            ts = c.target_names
            for t in ts:
                send(t, r / len(ts), None, depth + 1)
        elif c.type == "apigateway":
            caps = [account_throttle(ctx.arch, c).rate, *(t.rate for t in (c.method_throttle or c.throttle,) if t)]
            send(c.integration.target, min(r, *caps), c.integration, depth + 1)
        elif c.type == "cloudfront":
            for b in c.behaviors:
                send(b.origin, r * b.share, None, depth + 1)
        elif c.type in HANDLERS:
            for call in ctx.calls_from(name):
                send(call.target, r, call, depth + 1)

    for w in ctx.arch.workloads.values():
        per_user = w.sessions.requests if w.sessions else 1
        send(w.entry, w.rate * w.profile.peak_factor * per_user, w, 0)


def top_share(dist: Any) -> float:
    """The share of draws that take the most frequent key: 1 for a constant, 1/H(n, s) for zipf(s, n),
    1/(count of keys) for a uniform draw of integer keys."""
    kind, p = dist.kind, dist.params
    if kind == "const":
        return 1.0
    if kind == "zipf":
        s, n = p[0], int(p[1])
        return 1.0 / harmonic(n, s)
    if kind == "uniform":
        return 1.0 / max(1.0, float(math.floor(p[1]) - math.ceil(p[0]) + 1))
    return 0.0  # continuous draws: no key repeats


def harmonic(n: int, s: float) -> float:
    """sum_{k=1..n} k^-s, exactly up to 10,000 terms, then the Euler-Maclaurin tail."""
    m = min(n, 10_000)
    total = math.fsum(k ** -s for k in range(1, m + 1))
    if n > m:
        a, b = float(m), float(n)
        integral = math.log(b / a) if s == 1 else (b ** (1 - s) - a ** (1 - s)) / (1 - s)
        total += integral + (b ** -s - a ** -s) / 2
    return total
