"""API Gateway -> Lambda in the fluid engine: token buckets, Lambda concurrency as a loss system.

Each step (``dt`` seconds) a workload whose entry is an ``apigateway`` (integration: a
``lambda``, op ``invoke``) or a ``lambda`` (a synchronous invoke) offers ``rate x dt`` requests:

* **API Gateway throttles** [aws-facts §10 Account throttle]: the account bucket (shared by
  the spec's APIs) and the method/stage bucket as fluid token buckets (:func:`bucket_step`):
  the bucket refills at ``rate`` up to ``burst``; what finds no token is ``throttled`` (429).
  Its random fluctuation is left out (a Poisson stream just below the rate loses a little
  in the exact engine and nothing here).
* **Invoke request rate** [aws-facts §5 Invoke request rate]: 10 requests/s per unit of the
  account's concurrency, and per reserved unit for a function with reserved concurrency;
  the excess is ``throttled``.
* **Concurrency** [aws-facts §5 Account concurrency]: one environment runs one invocation,
  and an invocation that finds the function at its limit (``reserved_concurrency``, else the
  account's unreserved pool) is throttled at once: an M/G/c/c loss system with ``c`` the limit
  and offered load ``a = lam x D`` (Little: the mean concurrency, with ``D`` the mean duration).
  The throttled share is Erlang B(c, a), which does not depend on the duration's distribution
  (insensitivity), exact for Poisson arrivals in the steady state (:func:`loss_share`). A step
  is treated as steady: valid while the mean duration is well below the step (1 s).
* **Environments and cold starts**: the exact engine keeps every environment it created
  (most recently used first) and creates one only when all are busy, so the number of
  environments is the highest concurrency seen so far. Here it is the quantile of the
  concurrency (Poisson(a), M/G/inf: the busy count seen by an arrival) at ``1 - 1/n`` after
  ``n`` invocations (the expected maximum over ``n`` looks: an assumption, as the looks are
  correlated), capped by the limit. Growth takes new environments from a bucket of 1,000
  per 10 s refilled continuously [aws-facts §5 Scaling rate]; each new environment is one
  cold start, and that invocation waits a draw of ``init_duration`` first. Environments are
  reclaimed (all at once) after ``idle_timeout`` without invocations, as in the exact engine.
* A ``cpu`` step takes ``cpu x 1769 / memory`` below 1,769 MB [aws-facts §5 Memory]; an
  invocation longer than ``timeout`` fails ``timeout`` (the share of the duration's draws
  above it); ``error_rate`` fails ``server_error``; the API's integration timeout cuts what
  takes longer than it (``timeout``, 504). A request's latency is one draw of the API's
  ``latency`` plus the init (cold) plus the duration.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from cloudtwin.engine import make_sampler
from cloudtwin.fluid.fleet import POINTS, _seed
from cloudtwin.services.lambda_ import NEW_ENVS_BURST, NEW_ENVS_RATE, VCPU_MB
from cloudtwin.spec.account import INVOKE_RATE_PER_CONCURRENCY
from cloudtwin.spec.steps import CallStep, CpuStep
from cloudtwin.theory import erlang_b

ENTRIES = ("apigateway", "lambda")
QS = (0.5, 0.9, 0.99, 0.999)
SUB = 0.01  # s: the sub-step while concurrency ramps up (cold starts)


def bucket_step(tokens: float, rate: float, burst: float, n: float, dt: float) -> tuple[float, float]:
    """A token bucket as a fluid over ``dt`` s: ``n`` requests arrive evenly; returns
    (admitted, tokens left). Steady admission is ``min(arrival rate, rate)``."""
    avail = tokens + rate * dt
    admitted = min(n, avail)
    return admitted, min(float(burst), avail - admitted)


def loss_share(c: int, a: float) -> float:
    """The share of invocations throttled at concurrency limit ``c`` with offered load ``a``
    (Erlang B: M/G/c/c, insensitive to the duration's distribution)."""
    if a <= 0.0:
        return 0.0
    if c <= 0:
        return 1.0
    return float(erlang_b(c, a))


def expected_peak(a: float, n: float, cap: int) -> int:
    """The highest concurrency seen over ``n`` invocations at mean concurrency ``a`` (assumption:
    the Poisson(a) quantile at ``1 - 1/n``), at most ``cap``."""
    if a <= 0.0 or n < 1.0:
        return 0
    return min(cap, poisson_quantile(float(f"{a:.4g}"), float(f"{1.0 / (n + 1.0):.2g}")))


@lru_cache(maxsize=4096)
def poisson_quantile(a: float, eps: float) -> int:
    """The smallest ``k`` with ``P(X > k) <= eps`` for ``X ~ Poisson(a)``."""
    m = math.floor(a)
    width = int(12.0 * math.sqrt(a) + 40.0)
    ks = np.arange(max(0, m - width), m + width + 1)
    logp = -a + ks * math.log(a) - np.array([math.lgamma(k + 1.0) for k in ks])
    p = np.exp(logp - logp.max())
    tail = 1.0 - np.cumsum(p) / p.sum()
    return int(ks[min(int(np.searchsorted(-tail, -eps)), len(ks) - 1)])


class PointMix:
    """Response times as two weighted point sets (warm and cold invocations)."""

    def __init__(self, warm: np.ndarray, cold: np.ndarray) -> None:
        self.points = np.concatenate((warm, cold))
        self.order = np.argsort(self.points, kind="stable")
        self.sorted = self.points[self.order]
        self.nw, self.nc = len(warm), len(cold)
        self.w = self.c = 0.0

    def add(self, warm: float, cold: float) -> None:
        self.w += warm
        self.c += cold

    @property
    def weight(self) -> float:
        return self.w + self.c

    def quantiles(self, qs: tuple[float, ...]) -> list[float]:
        if self.weight <= 0.0:
            return [0.0 for _ in qs]
        wts = np.concatenate((np.full(self.nw, self.w / self.nw), np.full(self.nc, self.c / self.nc)))[self.order]
        cum = np.cumsum(wts) / self.weight
        return [float(self.sorted[min(int(np.searchsorted(cum, q)), len(cum) - 1)]) for q in qs]

    def mean(self) -> float:
        if self.weight <= 0.0:
            return 0.0
        return float(self.points[: self.nw].mean() * self.w + self.points[self.nw :].mean() * self.c) / self.weight

    def latency_ms(self) -> dict[str, float]:
        if self.weight <= 0.0:
            return {}
        p50, p90, p99, p999 = self.quantiles(QS)
        lo = float(self.sorted[0])
        return {"mean": round(self.mean() * 1000, 3), "min": round(lo * 1000, 3), "p50": round(p50 * 1000, 3),
                "p90": round(p90 * 1000, 3), "p99": round(p99 * 1000, 3), "p999": round(p999 * 1000, 3)}


class FluidLambda:
    """One function: its duration draws, limits, environments and counts."""

    def __init__(self, name: str, spec: Any, arch: Any, seed: int) -> None:
        self.name, self.spec = name, spec
        rng = np.random.default_rng(_seed(f"{seed}:{name}:duration"))
        scale = max(1.0, VCPU_MB / spec.memory)  # aws-facts §5 Memory
        dur = np.zeros(POINTS)
        # a `call: <queue>.send` or `<topic>.publish` step: the API call's latency, and one message per run
        self.sends: dict[str, float] = {}  # target -> messages per handler run
        self.out: dict[str, float] = {}  # messages sent this step, delivered in the next
        for st in spec.handler:
            if isinstance(st, CallStep):
                dist = arch.components[st.target].latency
                self.sends[st.target] = self.sends.get(st.target, 0.0) + 1.0
            else:
                dist = st.cpu if isinstance(st, CpuStep) else st.sleep
            draw = make_sampler(dist, rng)
            dur += np.array([draw() for _ in range(POINTS)]) * (scale if isinstance(st, CpuStep) else 1.0)
        self.dur = dur
        self.d_mean = float(dur.mean()) if len(spec.handler) else 0.0
        self.over = float((dur > spec.timeout).mean())  # invocations that time out
        self.billed_s = float(np.minimum(np.ceil(dur * 1000.0 - 1e-9), spec.timeout * 1000.0).clip(1).mean()) / 1e3
        idraw = make_sampler(spec.init_duration, np.random.default_rng(_seed(f"{seed}:{name}:init")))
        self.init = np.array([idraw() for _ in range(POINTS)])
        reserved = sum(c.reserved_concurrency or 0 for c in arch.components.values() if c.type == "lambda")
        # aws-facts §5 Account concurrency: a reservation, else the account's unreserved pool
        self.limit: int = (spec.reserved_concurrency if spec.reserved_concurrency is not None
                           else arch.account.lambda_concurrency - reserved)
        self.own_rate = (INVOKE_RATE_PER_CONCURRENCY * spec.reserved_concurrency
                         if spec.reserved_concurrency else math.inf)  # aws-facts §5 Invoke request rate
        self.envs = float(spec.provisioned_concurrency)
        self.new_tokens = NEW_ENVS_BURST - 1.0  # aws-facts §5 Scaling rate (the exact engine's bucket)
        self.seen = 0.0  # invocations so far (for the expected peak)
        self.idle_s = 0.0
        self.invocations = self.cold = self.throttles = self.rate_throttles = 0.0
        self.timeouts = self.errors_in = self.requests = self.ok = 0.0
        self.max_conc = 0
        self.minute_conc = 0
        self.series: dict[str, list[float]] = {"concurrency": [], "throttles": []}
        self.m_thr = 0.0
        self.warn_slow = self.d_mean > 0.5
        self.esm_billed_s = self.esm_inv = 0.0  # function time of event-source batches
        self.queues: list[Any] = []  # the queues its event sources drain (cloudtwin.fluid.backlog)
        from cloudtwin.fluid.async_invoke import AsyncQueue

        self.asyncq = AsyncQueue(self)  # its asynchronous events
        # the ramp (see _ramp): cohorts (age, invocations, cold) and when each finishes
        self.cohorts: list[tuple[float, float, bool]] = []
        self.warm_sorted = np.sort(np.minimum(dur, spec.timeout))
        self.cold_sorted = np.sort(self.init + np.minimum(dur, spec.timeout))

    def quota(self, lam: float, acct_rate: float, dt: float) -> float:
        """The share of ``lam`` Invoke API requests/s within the invoke request rates (the
        account's, and the function's own with reserved concurrency) [aws-facts §5 Invoke
        request rate]; the rest is counted as throttled."""
        keep = min(1.0, acct_rate / lam, self.own_rate / lam) if lam > 0 else 1.0
        refused = lam * (1.0 - keep) * dt
        self.requests += refused
        self.throttles += refused
        self.rate_throttles += refused
        self.m_thr += refused
        return keep

    def step(self, lam: float, dt: float, acct_rate: float = math.inf) -> tuple[float, float, float, float, float]:
        """``lam`` invocations/s for ``dt`` s: returns (warm ok, cold ok, throttled, timeout, server_error)."""
        n = lam * dt
        self.requests += n
        self.new_tokens = min(NEW_ENVS_BURST - 1.0, self.new_tokens + NEW_ENVS_RATE * dt)
        if n <= 0.0:
            self.idle_s += dt
            if self.idle_s >= self.spec.idle_timeout:  # all idle environments are reclaimed at once
                self.envs = float(self.spec.provisioned_concurrency)
            return 0.0, 0.0, 0.0, 0.0, 0.0
        self.idle_s = 0.0
        rate_ok = min(lam, acct_rate)  # the invoke request rates are applied by quota()
        rate_thr = (lam - rate_ok) * dt
        a = rate_ok * self.d_mean  # Little: mean concurrency
        if self.cohorts or self.envs < min(a + 1.0, self.limit):
            warm, cold, lost = self._ramp(rate_ok, dt)
            self.minute_conc = max(self.minute_conc, int(round(self.envs)))
        else:
            cap = int(min(self.limit, math.floor(self.envs + self.new_tokens)))
            share = loss_share(cap, a)
            inv = rate_ok * dt * (1.0 - share)
            want = expected_peak(a, self.seen + inv, cap)
            cold = min(max(0.0, want - self.envs), inv)
            self.envs += cold
            self.new_tokens -= cold
            warm, lost = inv - cold, rate_ok * dt * share
            self.minute_conc = max(self.minute_conc, want)
        inv = warm + cold
        self.seen += inv
        thr = rate_thr + lost
        self.throttles += thr
        self.rate_throttles += rate_thr
        self.m_thr += thr
        self.invocations += inv
        self.ran(inv - inv * self.over)
        self.cold += cold
        to = inv * self.over
        err = (inv - to) * float(self.spec.error_rate)
        self.envs = max(self.envs - to, 0.0)  # a timed-out environment is discarded: its successor starts cold
        self.timeouts += to
        self.errors_in += err
        good = inv - to - err
        self.ok += good
        cold_good = good * (cold / inv) if inv > 0 else 0.0
        return good - cold_good, cold_good, thr, to, err

    def _ramp(self, lam: float, dt: float) -> tuple[float, float, float]:
        """Concurrency growing: ``SUB``-second sub-steps in which invocations are cohorts that
        finish by their duration's distribution (a cold one's by init + duration); an arrival
        takes a free environment, else a new one (cold: within the limit and the scaling
        bucket), else it is throttled. Ends when no cold cohort is busy. Returns (warm, cold,
        throttled)."""
        warm = cold = lost = 0.0
        k = max(1, round(dt / SUB))
        d = dt / k
        x = lam * d
        for _ in range(k):
            busy = sum(m * self._left(age, c) for age, m, c in self.cohorts)
            free = max(self.envs - busy, 0.0)
            w = min(x, free)
            new = min(x - w, max(self.limit - self.envs, 0.0), max(self.new_tokens, 0.0))
            self.envs += new
            self.new_tokens = min(NEW_ENVS_BURST - 1.0, self.new_tokens - new + NEW_ENVS_RATE * d)
            warm, cold, lost = warm + w, cold + new, lost + x - w - new
            self.cohorts.append((0.0, w, False))
            self.cohorts.append((0.0, new, True))
            self.cohorts = [(age + d, m, c) for age, m, c in self.cohorts if m > 0 and self._left(age + d, c) > 1e-4]
        if not any(c and m * self._left(age, c) >= 0.5 for age, m, c in self.cohorts):
            self.cohorts = []  # the ramp is over: the steady model takes the rest
        return warm, cold, lost

    def _left(self, age: float, cold: bool) -> float:
        """The share of a cohort still busy ``age`` s after it started."""
        pts = self.cold_sorted if cold else self.warm_sorted
        return 1.0 - float(np.searchsorted(pts, age, side="right")) / len(pts)

    def esm_step(self, batches: float, conc: float, msgs: float, errors: float) -> None:
        """An event source mapping's ``batches`` invocations of ``msgs`` messages in all, at mean
        concurrency ``conc``, with ``errors`` function errors."""
        self.seen += batches
        if batches > 0.0:
            self.idle_s = 0.0  # invoked: its environments are not idle
        want = min(self.limit, expected_peak(conc, self.seen, self.limit))
        cold = min(max(0.0, want - self.envs), batches)
        self.envs += cold
        self.cold += cold
        self.esm_inv += batches
        self.ran(msgs)
        self.errors_in += errors
        self.esm_billed_s += msgs * self.d_mean
        self.minute_conc = max(self.minute_conc, want)

    def ran(self, runs: float) -> None:
        """``runs`` handler runs that reached their end (not timed out): their send/publish steps."""
        for target, k in self.sends.items():
            self.out[target] = self.out.get(target, 0.0) + runs * k

    def close_minute(self) -> None:
        self.series["concurrency"].append(float(self.minute_conc))
        self.series["throttles"].append(float(round(self.m_thr)))
        self.max_conc = max(self.max_conc, self.minute_conc)
        self.minute_conc = 0
        self.m_thr = 0.0


class FluidApi:
    """One API: its method/stage bucket (the account bucket is shared, in :class:`Serverless`)."""

    def __init__(self, name: str, spec: Any, seed: int) -> None:
        self.name, self.spec = name, spec
        th = spec.method_throttle or spec.throttle
        self.method = (float(th.rate), float(th.burst)) if th is not None else None
        self.tokens = float(th.burst) if th is not None else 0.0
        draw = make_sampler(spec.latency, np.random.default_rng(_seed(f"{seed}:{name}:latency")))
        self.lat = np.array([draw() for _ in range(POINTS)])
        self.requests = self.accepted = self.throttled = self.by_account = self.by_method = 0.0
        self.timeouts = self.int_errors = 0.0
