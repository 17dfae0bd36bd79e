"""Shared resources: one rate limiter (a token bucket) in the forms models need.

A token bucket of ``rate`` tokens per second holding ``burst`` tokens is kept here
as the generic cell rate algorithm (GCRA): one number, the *theoretical arrival
time* ``tat``, the instant at which the bucket would be full again if nothing
more were taken. Taking ``cost`` tokens moves it ``cost / rate`` seconds on;
the bucket is empty when ``tat`` runs more than the ``tolerance`` (``burst``
worth of seconds, less one token in the classic form) ahead of the clock. No
refill events are scheduled and nothing is allocated per take, so a limiter
costs a few float operations on a hot path.

The forms:

* :meth:`RateLimiter.try_take`: refuse when the bucket is empty *before* the
  take (a throttled API call).
* :meth:`RateLimiter.fits` / :meth:`RateLimiter.commit`: test a take of
  ``cost`` tokens that must fit *whole*, possibly together with other
  limiters, then commit it (all-or-nothing across several buckets).
* :meth:`RateLimiter.take_at`: never refuse; return when the take may start
  (work queued for tokens).
* :meth:`RateLimiter.level`: the tokens available now.

:class:`LevelBucket` keeps the same bucket as a token count refilled on read,
for models whose callers read and spend the level directly.

:class:`Workers` is the other shared resource: ``slots`` identical servers in
front of a FIFO queue of at most ``backlog`` jobs (an M/M/c/K station), with
busy time integrated exactly.
"""

from __future__ import annotations

import math
from collections import deque
from heapq import heappush
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from cloudtwin.engine.core import Engine

__all__ = ["LevelBucket", "RateLimiter", "Workers"]


class RateLimiter:
    """A token bucket as GCRA: ``rate`` tokens/s, ``tat`` running at most ``tolerance`` s ahead.

    ``tat`` may be set at construction to start the bucket partly drained:
    ``tat = tolerance`` starts it empty, ``0`` full.
    """

    __slots__ = ("rate", "tolerance", "tat")

    def __init__(self, rate: float, tolerance: float, tat: float = 0.0) -> None:
        if not rate > 0.0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        if not tolerance >= 0.0:
            raise ValueError(f"tolerance must be non-negative, got {tolerance!r}")
        self.rate = rate
        self.tolerance = tolerance
        self.tat = tat

    SLACK: ClassVar[float] = 1e-9
    """Seconds of tolerance added by :meth:`for_burst`, so that takes offered exactly at the
    rate are not refused by float rounding of the accumulated arrival times."""

    @classmethod
    def for_burst(cls, rate: float, burst: float) -> RateLimiter:
        """The classic bucket: ``burst`` tokens taken one at a time, starting full."""
        return cls(rate, (burst - 1.0) / rate + cls.SLACK)

    def try_take(self, now: float, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens if the bucket is not empty now; False (nothing taken) if it is."""
        tat = self.tat
        if tat < now:
            tat = now
        if tat - now > self.tolerance:
            return False
        self.tat = tat + cost / self.rate
        return True

    def fits(self, now: float, cost: float) -> float | None:
        """The new ``tat`` if ``cost`` tokens fit whole now, else None; nothing is taken."""
        tat = self.tat
        if tat < now:
            tat = now
        tat += cost / self.rate
        return tat if tat - now <= self.tolerance else None

    def commit(self, tat: float) -> None:
        """Apply a take tested with :meth:`fits`."""
        self.tat = tat

    def take_at(self, now: float, cost: float = 1.0) -> float:
        """Take ``cost`` tokens unconditionally; the time (≥ ``now``) at which they are available."""
        tat = self.tat
        if tat < now:
            tat = now
        self.tat = tat + cost / self.rate
        start = tat - self.tolerance
        return start if start > now else now

    def ready_at(self, now: float) -> float:
        """The earliest time, from ``now`` on, at which a take would succeed."""
        t = self.tat - self.tolerance
        if t < now:
            t = now  # (tat - tolerance rounds to now or below, yet tat - now may still exceed it)
        while self.tat - t > self.tolerance:  # the subtraction rounded down: the next float up
            t = math.nextafter(t, math.inf)
        return t

    def level(self, now: float) -> float:
        """Tokens that a :meth:`try_take` could take now, one at a time (0 when empty)."""
        ahead = self.tat - now
        if ahead < 0.0:
            ahead = 0.0
        room = self.tolerance - ahead
        return room * self.rate + 1.0 if room >= 0.0 else 0.0


class LevelBucket:
    """A token bucket kept as its level: ``burst`` tokens, refilled at ``rate``/s on read, starting full."""

    __slots__ = ("rate", "burst", "tokens", "t")

    def __init__(self, rate: float, burst: float) -> None:
        if not rate > 0.0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        if not burst >= 0.0:
            raise ValueError(f"burst must be non-negative, got {burst!r}")
        self.rate, self.burst = rate, float(burst)
        self.tokens = float(burst)
        self.t = 0.0

    def level(self, now: float) -> float:
        """The tokens held at ``now`` (refills since the last read)."""
        if now > self.t:
            tokens = self.tokens + (now - self.t) * self.rate
            self.tokens = tokens if tokens < self.burst else self.burst
            self.t = now
        return self.tokens

    def try_take(self, now: float, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens if the bucket holds them; False (nothing taken) if not."""
        if self.level(now) < cost:
            return False
        self.tokens -= cost
        return True

    def take(self, cost: float = 1.0) -> None:
        """Take ``cost`` tokens after a :meth:`level` read showed they are there."""
        self.tokens -= cost


class Workers:
    """``slots`` workers in front of a FIFO queue of at most ``backlog`` waiting jobs.

    :meth:`start` holds a worker for ``seconds`` and then calls ``callback(job)``,
    which must call :meth:`release` to hand the worker on. Busy worker-seconds are
    integrated exactly as "end times minus start times" (``bacc``), one addition
    per change. Subclasses on hot paths may inline :meth:`start` and
    :meth:`release`; they keep to the same fields.
    """

    __slots__ = ("engine", "hot", "slots", "busy", "queue", "backlog", "bacc")

    def __init__(self, engine: Engine, slots: int, backlog: int) -> None:
        self.engine = engine
        self.hot = engine.hot()
        self.slots = slots
        self.backlog = backlog
        self.busy = 0
        self.queue: deque[tuple[Any, Any, float]] = deque()  # (callback, job, seconds)
        self.bacc = 0.0  # worker end times minus start times: busy worker-seconds = bacc + busy * now

    def start(self, callback: Any, job: Any, seconds: float) -> bool:
        """Serve ``job`` for ``seconds`` on a free worker, or queue it; False if the queue is full."""
        if self.busy < self.slots:
            now = self.engine.now
            self.bacc -= now
            self.busy += 1
            heap, seq = self.hot
            heappush(heap, (now + seconds, next(seq), callback, job))
            return True
        if len(self.queue) < self.backlog:
            self.queue.append((callback, job, seconds))
            return True
        return False

    def release(self, serve_next: bool = True) -> None:
        """A job's time is up: its worker takes the next queued job (if ``serve_next``), or goes idle."""
        q = self.queue
        if q and serve_next:
            cb, job, t = q.popleft()
            heap, seq = self.hot
            heappush(heap, (self.engine.now + t, next(seq), cb, job))
        else:
            self.bacc += self.engine.now
            self.busy -= 1

    def full(self) -> bool:
        """Every worker busy and the queue at its bound: the next job is refused."""
        return self.busy >= self.slots and len(self.queue) >= self.backlog

    def busy_seconds(self) -> float:
        """Worker-seconds spent busy so far (exact, up to now)."""
        now: float = self.engine.now
        return self.bacc + self.busy * now
