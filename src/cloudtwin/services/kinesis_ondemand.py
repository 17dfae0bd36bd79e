"""A Kinesis stream's on-demand write capacity: twice its previous peak, adapting after a delay.

[aws-facts §9 KDS on-demand mode]: a new on-demand stream takes 4 MB/s of writes; it handles
up to twice the peak write throughput of the previous 30 days, up to 200 MB/s; going above
twice the peak can cause about 15 minutes of exceptions while shards split.

So the capacity at time t is ``clamp(2 x P, initial, maximum)``, where P is the highest
per-minute write throughput *offered* (accepted or throttled) in the window
``[t - peak_window, t - scale_delay]``: a new peak counts once the stream has had
``scale_delay`` to split for it. Records/s follow bytes/s at a shard's ratio (1,000 records
per MB [aws-facts §9 KDS write per shard]), and a minute's throughput is the larger of its
bytes and its records in those units, so small records raise the capacity as large ones do.
Capacity is two token buckets holding one second's worth (assumption, as for a shard). Hot
partition keys are not limited per shard in this mode (left out), and consumers read the
stream as its initial four shards (assumption: read parallelism does not grow with the
writes).

The window's maximum is kept in a monotonic deque (O(1) per minute), so a month-long run
costs no more per minute than a short one.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Final

from cloudtwin.engine.resources import RateLimiter
from cloudtwin.units import MIB

RECORDS_PER_BYTE: Final = 1000.0 / MIB  # a shard's 1,000 records/s per 1 MB/s [aws-facts §9 KDS write per shard]
INITIAL_SHARDS: Final = 4  # assumption: 4 MB/s at 1 MB/s per shard


class OnDemandCapacity:
    """The stream-wide write buckets of an on-demand stream and the rule that sizes them."""

    __slots__ = ("initial", "maximum", "window", "delay", "bytes", "records", "pending", "peaks", "offered",
                 "offered_records", "capacity", "raises")

    def __init__(self, spec: Any) -> None:
        self.initial: float = spec.initial_write
        self.maximum: float = spec.max_write
        self.window: float = spec.peak_window
        self.delay: float = spec.scale_delay
        self.bytes = RateLimiter(1.0, 0.0)
        self.records = RateLimiter(1.0, 0.0)
        self.pending: deque[tuple[float, float]] = deque()  # (minute end, offered bytes/s), not yet counted
        self.peaks: deque[tuple[float, float]] = deque()  # counted minutes, offered bytes/s decreasing
        self.offered = 0.0  # bytes offered in the minute now running
        self.offered_records = 0
        self.capacity = 0.0
        self.raises = 0
        self._set(self.initial)

    def _set(self, cap: float) -> None:
        if cap > self.capacity and self.capacity:
            self.raises += 1
        self.capacity = cap
        for bucket, rate in ((self.bytes, cap), (self.records, cap * RECORDS_PER_BYTE)):
            bucket.rate = rate
            bucket.tolerance = (rate - 1.0) / rate if rate > 1.0 else 0.0  # one second's worth

    def admit(self, now: float, size: float) -> bool:
        """Offer one record of ``size`` bytes: taken from both buckets, or refused."""
        self.offered += size
        self.offered_records += 1
        tb = self.bytes.fits(now, size)
        tr = self.records.fits(now, 1.0)
        if tb is None or tr is None:
            return False
        self.bytes.commit(tb)
        self.records.commit(tr)
        return True

    def on_minute(self, now: float, step: float = 60.0) -> None:
        """Close the minute: its offered rate waits ``scale_delay``, then joins the window."""
        self.pending.append((now, max(self.offered, self.offered_records / RECORDS_PER_BYTE) / step))
        self.offered = 0.0
        self.offered_records = 0
        while self.pending and self.pending[0][0] <= now - self.delay:
            t, rate = self.pending.popleft()
            while self.peaks and self.peaks[-1][1] <= rate:
                self.peaks.pop()
            self.peaks.append((t, rate))
        while self.peaks and self.peaks[0][0] < now - self.window:
            self.peaks.popleft()
        peak = self.peaks[0][1] if self.peaks else 0.0
        cap = min(self.maximum, max(self.initial, 2.0 * peak))
        if cap != self.capacity:
            self._set(cap)
