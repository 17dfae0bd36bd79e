"""Asynchronous Lambda invokes in the fluid engine: Lambda's own event queue and its retries as flows.

An ``invoke_async`` is accepted at once (within the invoke request rate, else ``throttled`` to
the caller) and its event attempted: the attempts of a step share the function's concurrency
with its synchronous invocations (Erlang B, :mod:`cloudtwin.fluid.serverless`), and then
[aws-facts §5 Async retries]:

* a throttled attempt goes back to the event queue and is tried again after a backoff of
  1 s doubling with every throttle to 5 min (it is not an attempt);
* a failed attempt (``error_rate``, a timeout) is retried 1 min later, then 2 min later
  (``retries``: 2, so 3 attempts in all);
* an event older than ``max_event_age`` is not attempted again; a failed or expired event goes
  to ``on_failure``, else ``dlq`` (an SQS queue), else it is lost.

The events waiting are a delay line of cohorts ``(due, attempts, throttles)`` with their
amount and mean acceptance time (cohorts due together merge). ``end_to_end_ms`` is the time
from acceptance to the successful attempt's end.
"""

from __future__ import annotations

from typing import Any

from cloudtwin.fluid.queueing import Wait, WaitMix
from cloudtwin.services.lambda_ import ASYNC_RETRY_DELAYS, THROTTLE_BACKOFF


class AsyncQueue:
    """One function's asynchronous event queue."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.spec = fn.spec
        # (due, attempts, throttles, poison) -> [n, n x t0]; a poison event (matching the function's
        # ``poison`` rule) fails every attempt
        self.lines: dict[tuple[float, int, int, int], list[float]] = {}
        self.accepted = self.succeeded = self.retries = self.dropped = self.dead = self.lost = 0.0
        self.failed_after: dict[int, float] = {}
        self.e2e = WaitMix(fn.dur)
        self.due_now: list[tuple[int, int, int, float, float]] = []

    def _put(self, due: float, attempts: int, throttles: int, n: float, t0: float, poison: int = 0) -> None:
        key = (round(due, 6), attempts, throttles, poison)
        cell = self.lines.setdefault(key, [0.0, 0.0])
        cell[0] += n
        cell[1] += n * t0

    def accept(self, n: float, t: float, poison: float = 0.0) -> None:
        """``n`` events accepted in the step starting at ``t``, a share ``poison`` of them poison."""
        if n <= 0.0:
            return
        self.accepted += n
        if self.spec.reserved_concurrency == 0:  # no attempt at all
            self._give_up(0, n)
            return
        self._put(t, 0, 0, n * (1.0 - poison), t + 0.5)
        if poison > 0.0:
            self._put(t, 0, 0, n * poison, t + 0.5, 1)

    def take_due(self, t: float, dt: float) -> float:
        """The events to attempt in the step starting at ``t``; returns how many."""
        due = [k for k in self.lines if k[0] < t + dt - 1e-9]
        self.due_now = []
        for k in sorted(due):
            n, nt0 = self.lines.pop(k)
            t0 = nt0 / n if n > 0 else t
            if t - t0 >= self.spec.max_event_age:  # aws-facts §5: not attempted again
                if k[1]:
                    self.dropped += n
                self._give_up(k[1], n)
                continue
            self.due_now.append((k[1], k[2], k[3], n, t0))
        return sum(d[3] for d in self.due_now)

    def settle(self, t: float, ok: float, thr: float, failed: float) -> None:
        """Shares of this step's attempts that succeeded, were throttled and failed."""
        for attempts, throttles, poison, n, t0 in self.due_now:
            good, bad = (0.0, ok + failed) if poison else (ok, failed)
            if poison:  # counted as a success by the function's step: it failed
                self.fn.errors_in += n * ok
                self.fn.ok -= n * ok
            if attempts:
                self.retries += n * (ok + failed)  # a retry that ran
            self.succeeded += n * good
            self.e2e.add(Wait(0.0, 1.0, max(t - t0, 0.0)), n * good)
            if thr > 0.0:
                lo, hi = THROTTLE_BACKOFF  # aws-facts §5 Async retries on throttles
                self._put(t + min(hi, lo * 2.0 ** throttles), attempts, throttles + 1, n * thr, t0, poison)
            if bad > 0.0:
                ran = attempts + 1
                if ran <= self.spec.retries:
                    self._put(t + ASYNC_RETRY_DELAYS[ran - 1], ran, throttles, n * bad, t0, poison)
                else:
                    self._give_up(ran, n * bad)
        self.due_now = []

    def _give_up(self, attempts: int, n: float) -> None:
        self.failed_after[attempts] = self.failed_after.get(attempts, 0.0) + n
        if self.spec.on_failure or self.spec.dlq:
            self.dead += n
        else:
            self.lost += n

    def waiting(self) -> float:
        return sum(v[0] for v in self.lines.values())

    def stats(self) -> dict[str, Any]:
        acc, dead, lost = round(self.accepted), round(self.dead), round(self.lost)
        waiting = round(self.waiting())
        ok = acc - dead - lost - waiting  # every accepted event is accounted for
        e2e: dict[str, float] = {}
        if self.e2e.weight > 0:
            p50, p90, p99, p999 = self.e2e.quantiles((0.5, 0.9, 0.99, 0.999))
            e2e = {"mean": round(self.e2e.mean() * 1000, 3), "p50": round(p50 * 1000, 3),
                   "p90": round(p90 * 1000, 3), "p99": round(p99 * 1000, 3), "p999": round(p999 * 1000, 3)}
        return {"accepted": acc, "succeeded": ok, "retries": round(self.retries),
                "retries_dropped": round(self.dropped), "dead_lettered": dead, "lost": lost, "waiting": waiting,
                "failed_after_attempts": {str(k): round(v) for k, v in sorted(self.failed_after.items()) if round(v)},
                "end_to_end_ms": e2e}
