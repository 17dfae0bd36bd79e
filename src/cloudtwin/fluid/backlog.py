"""An SQS queue drained by a Lambda event source mapping, in the fluid engine: backlogs as flows.

Per step (``dt`` s) for a standard queue fed by a workload's ``send``:

* **Backlog** ``V`` (visible messages) grows by the sends and shrinks by what the mapping's
  pollers take: ``V' = V + (arrivals - taken) x dt`` (never below 0) [aws-facts §6].
* **Pollers** as the exact engine scales them [aws-facts §5 SQS event source: scaling]: 5 at
  first; every 10 s, while ``V >= pollers x min(10, batch_size)``, up to 50 more, to at most
  1,000 or ``maximum_concurrency``. A poller stops when its 20 s long poll comes back empty:
  here, when fewer messages arrive in 20 s than pollers wait idle, the idle ones beyond the
  first 5 stop.
* **Throughput**: a poller takes up to ``b = min(10, batch_size)`` visible messages at once (one
  when the queue is empty: a waiting long poll returns with the first message), waits the
  receive's latency ``l`` and runs the batch, one message after another, ``b x D``; so ``P``
  pollers take at most ``P x b / (l + b x D)`` messages/s. Batch size under a backlog:
  the smallest that lets the pollers take what is visible this step (:func:`batch_needed`):
  one message at a time while they keep up (a waiting long poll returns with the first
  message), up to ``b`` under a backlog (an assumption between the two).
* **Failures**: a message fails with the function's ``error_rate``; without
  ``report_batch_item_failures`` a failure fails the whole batch (``1 - (1 - p)^b``) and every
  message of it comes back after ``visibility_timeout`` with one more receive; after
  ``max_receive_count`` receives it moves to the ``dlq`` [aws-facts §6 DLQ and redrive policy].
  These are delayed flows (a delay line of the visibility timeout).
* **Age of the oldest message**: the backlog over the rate it is taken (first in, first out).
* Accounting: sent = deleted + dead-lettered + visible + in flight, exactly (in flight:
  being processed, plus waiting out a visibility timeout).

Refused (:mod:`cloudtwin.fluid.support`): FIFO queues, batching windows, an event source whose
pollers could outnumber the function's concurrency (throttled batches), and other consumers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cloudtwin.engine import make_sampler
from cloudtwin.fluid.fleet import POINTS, _seed
from cloudtwin.fluid.queueing import Wait, WaitMix
from cloudtwin.fluid.serverless import FluidLambda
from cloudtwin.services.lambda_esm import LONG_POLL, MAX_POLLERS, RECEIVE_MAX, SCALE_PERIOD, SCALE_STEP, START_POLLERS


def processed(b: float, p: float, rbif: bool) -> float:
    """Messages a batch of ``b`` runs: all with ``report_batch_item_failures``, else up to and
    including the first failure (it ends the invocation): ``(1 - (1 - p)^b) / p``."""
    if rbif or p <= 0.0:
        return b
    return float((1.0 - (1.0 - p) ** b) / p)


def esm_capacity(pollers: float, b: float, lat: float, d: float, p: float = 0.0, rbif: bool = False) -> float:
    """Messages/s ``pollers`` take with batches of ``b`` messages, receive latency ``lat`` and
    ``d`` s of function time per message run (a failure rate ``p`` cuts batches short)."""
    return pollers * b / (lat + processed(b, p, rbif) * d) if pollers > 0 and b > 0 else 0.0


def batch_needed(x: float, pollers: float, lat: float, d: float, bmax: int, p: float = 0.0,
                 rbif: bool = False) -> float:
    """The smallest mean batch with which ``pollers`` take ``x`` messages/s, between 1 and
    ``bmax`` (bisection on :func:`esm_capacity`): a waiting long poll returns with the first
    message, so pollers that keep up take one at a time."""
    if esm_capacity(pollers, 1.0, lat, d, p, rbif) >= x:
        return 1.0
    if esm_capacity(pollers, float(bmax), lat, d, p, rbif) <= x:
        return float(bmax)
    lo, hi = 1.0, float(bmax)
    for _ in range(40):
        mid = (lo + hi) / 2.0
        lo, hi = (lo, mid) if esm_capacity(pollers, mid, lat, d, p, rbif) >= x else (mid, hi)
    return hi


class FluidQueue:
    """One standard queue with one Lambda event source mapping."""

    def __init__(self, name: str, spec: Any, fn: FluidLambda, es: Any, seed: int) -> None:
        self.name, self.spec, self.fn, self.es = name, spec, fn, es
        draw = make_sampler(spec.latency, np.random.default_rng(_seed(f"{seed}:{name}:latency")))
        self.lat_pts = np.array([draw() for _ in range(POINTS)])
        self.lat = float(self.lat_pts.mean())
        self.bmax = min(RECEIVE_MAX, es.batch_size)
        self.max_p = min(MAX_POLLERS, es.maximum_concurrency or MAX_POLLERS)
        self.pollers = float(min(START_POLLERS, self.max_p))
        self.next_scale = SCALE_PERIOD
        self.rbif = bool(es.report_batch_item_failures)
        self.p = float(fn.spec.error_rate)
        # visible messages by class (0: ordinary, 1: poison) and receive count so far, and the
        # returning ones: [due, count, class, amount]
        self.visible = np.zeros((2, spec.max_receive_count + 1))
        self.returning: list[list[float]] = []
        self.api_sent = 0.0  # sent by workloads (SendMessage calls), not by a topic
        self.sent = self.received = self.deleted = self.dlq = self.processing = 0.0
        self.batches = self.failed_msgs = 0.0
        self.max_visible = 0.0
        self.max_pollers = self.pollers
        self.oldest_age = 0.0
        self.e2e = WaitMix(fn.dur + self.lat)
        self.series: dict[str, list[float]] = {"visible": [], "in_flight": []}

    @property
    def n_visible(self) -> float:
        return float(self.visible.sum())

    def in_flight(self) -> float:
        return self.processing + sum(r[3] for r in self.returning)

    def step(self, t: float, lam: float, dt: float, poison: float = 0.0) -> None:
        """``lam`` messages/s sent for ``dt`` s, a share ``poison`` of them matching the function's
        ``poison`` rule (they always fail)."""
        d = self.fn.d_mean
        carried = self.n_visible  # waiting before this step's sends
        sent = lam * dt
        self.sent += sent
        self.visible[0, 0] += sent * (1.0 - poison)
        self.visible[1, 0] += sent * poison
        # what comes back from a visibility timeout: to the DLQ after max_receive_count receives
        due = [r for r in self.returning if r[0] <= t + 1e-9]
        self.returning = [r for r in self.returning if r[0] > t + 1e-9]
        for _, k, cls, amount in due:
            if k >= self.spec.max_receive_count:
                self.dlq += amount
            else:
                self.visible[int(cls), int(k)] += amount
        if t + 1e-9 >= self.next_scale:  # aws-facts §5 SQS event source: scaling
            self.next_scale += SCALE_PERIOD
            if self.n_visible >= self.pollers * self.bmax:
                self.pollers = min(self.max_p, self.pollers + SCALE_STEP)
        v = self.n_visible
        pi = float(self.visible[1].sum()) / v if v > 0 else 0.0
        q = pi + (1.0 - pi) * self.p  # a message's chance to fail
        b = batch_needed(v / dt, self.pollers, self.lat, d, self.bmax, q, self.rbif)
        cap = esm_capacity(self.pollers, b, self.lat, d, q, self.rbif) * dt
        take = min(v, cap)
        run = processed(b, q, self.rbif)  # messages a batch runs
        busy = take / dt * (self.lat + run * d) / b  # pollers at work (Little)
        idle = self.pollers - busy
        if idle > lam * LONG_POLL and self.pollers > START_POLLERS:  # empty long polls stop pollers
            self.pollers = max(float(START_POLLERS), math.ceil(busy + lam * LONG_POLL))
        self.max_pollers = max(self.max_pollers, self.pollers)
        if take > 0.0:
            taken = take * self.visible / v
            self.visible -= taken
            self.received += take
            self.batches += take / b
            if self.rbif:  # each message fails on its own
                failed = taken * np.array([[self.p], [1.0]])
                errors = float(failed.sum())
            else:  # a failure returns the whole batch
                fail = 1.0 - (1.0 - q) ** b
                failed = taken * fail
                errors = take / b * fail
            self.failed_msgs += float(failed.sum())
            self.deleted += float((taken - failed).sum())
            wait = carried / (take / dt)
            self.oldest_age = wait
            vt = float(self.spec.visibility_timeout)
            for cls in (0, 1):
                for k, amount in enumerate(failed[cls]):
                    if amount > 0.0:
                        self.returning.append([t + vt, k + 1.0, float(cls), float(amount)])
                    # a message received before waited out k visibility timeouts (from its receives)
                    self.e2e.add(Wait(0.0, 1.0, wait + (b - 1.0) / 2.0 * d + k * vt),
                                 float(taken[cls, k] - amount))
            self.fn.esm_step(take / b, busy * run * d / (self.lat + run * d), take / b * run, errors)
        self.processing = take / dt * (self.lat + run * d)  # messages received and not yet deleted (Little)
        self.max_visible = max(self.max_visible, self.n_visible)

    def mapping_stats(self) -> dict[str, Any]:
        return {"queue": self.name, "batch_size": self.es.batch_size, "pollers": round(self.pollers),
                "max_pollers": round(self.max_pollers), "batches": round(self.batches),
                "messages": round(self.received), "failed_messages": round(self.failed_msgs),
                "throttled_batches": 0}

    def close_minute(self) -> None:
        self.series["visible"].append(float(round(self.n_visible)))
        self.series["in_flight"].append(float(round(self.in_flight())))

    def stats(self) -> dict[str, Any]:
        sent, dl, vis = round(self.sent), round(self.dlq), round(self.n_visible)
        in_flight = min(round(self.in_flight()), sent - dl - vis)
        done = sent - dl - vis - in_flight  # deletes lag the receives by the processing (Little)
        e2e = {}
        if self.e2e.weight > 0:
            p50, p90, p99, p999 = self.e2e.quantiles((0.5, 0.9, 0.99, 0.999))
            e2e = {"mean": round(self.e2e.mean() * 1000, 3), "p50": round(p50 * 1000, 3),
                   "p90": round(p90 * 1000, 3), "p99": round(p99 * 1000, 3), "p999": round(p999 * 1000, 3)}
        return {"type": "sqs", "requests": round(self.api_sent), "errors": 0, "latency_ms": {}, "fifo": False,
                "sent": sent, "rejected": 0, "throttled": 0,
                "received": round(self.received), "empty_receives": 0, "delivered": done, "duplicates": 0,
                "moved_to_dlq": dl, "dlq_receive_counts": {str(self.spec.max_receive_count): dl} if dl else {},
                "dead_letters_in": 0, "expired": 0, "visible": vis, "in_flight": in_flight, "delayed": 0,
                "max_visible": round(self.max_visible), "oldest_age_s": round(self.oldest_age, 3),
                "end_to_end_ms": e2e}
