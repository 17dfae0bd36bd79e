"""CloudFront's origin fetch: one viewer request on its way to the origin (a miss, or a
behavior that does not cache), with its attempts, response timer, origin-group failover,
and the viewers waiting on it at the Origin Shield. The semantics are described in
:mod:`cloudtwin.services.cloudfront` (timeouts [aws-facts §13 Origin connection, Origin
response], Origin Shield [aws-facts §13 Origin Shield]).
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Any

from cloudtwin.component import deliver
from cloudtwin.metrics import BATCH
from cloudtwin.request import TIMEOUT, UNAVAILABLE, Done, Request
from cloudtwin.services.cloudfront_failover import status_of

if TYPE_CHECKING:
    from cloudtwin.services.cloudfront import CloudFront, _Behavior
    from cloudtwin.services.cloudfront_cache import EdgeCache


class Fetch:
    """A request on its way to the origin: attempts, timers, and the answer to the viewer."""

    __slots__ = ("cf", "b", "req", "done", "t_in", "edge", "key", "ck", "cache", "shield", "attempt", "t_attempt",
                 "live", "prev", "g", "extra", "waiters", "o", "th")

    # made only by CloudFront.handle, every field set there (no __init__: a class call costs a frame)
    cf: CloudFront
    b: _Behavior
    req: Request
    done: Done
    t_in: float
    edge: int
    key: int
    ck: int
    cache: EdgeCache | None
    shield: EdgeCache | None
    g: int  # the serving edge group
    extra: float  # round trips to the viewer and the origin
    waiters: list[tuple[Request, Done, float, EdgeCache, int, float]] | None  # at the shield
    o: int  # 0: the primary origin, 1: the origin group's secondary
    attempt: int
    t_attempt: float
    live: bool
    prev: Any
    th: int  # the response timer's handle for the current attempt, cancelled by its answer

    def failover(self, err: str) -> bool:
        """Send the request to the secondary origin if ``err`` is one of the group's codes."""
        b = self.b
        f = b.spec.failover
        if self.o or f is None or status_of(err, b.targets[0][4]) not in f.codes:
            return False
        b.failovers += 1
        self.o, self.attempt = 1, 0
        self.go()
        return True

    def go(self, _: object = None) -> None:
        """One attempt: forward to the origin, with the response timeout running."""
        b, req, cf = self.b, self.req, self.cf
        self.attempt += 1
        self.live = True
        self.t_attempt = cf.engine.now
        self.th = cf.response_timer.start(self.expire, self.attempt)
        self.prev = req.via
        req.via = cf.via_names[self.edge]
        origin, op, keyed, _, _ = b.targets[self.o]
        origin.handle(req, op, self.reply, self.key if keyed else None)

    def reply(self, req: Request, err: str | None) -> None:
        """The origin's answer. A success, the commonest, is answered here as
        :meth:`CloudFront.answer` would answer it (the same draws in the same order:
        ``origin_latency`` then ``latency``; the same counters, latency record and heap push),
        without its frame; errors take :meth:`_failed`."""
        if not self.live:
            return  # the answer came after the response timeout: dropped
        self.live = False
        self.cf.response_timer.cancel(self.th)  # answered: its timeout never runs (still an event)
        req.via = self.prev
        if err is not None:
            self._failed(req, err)
            return
        cf, b = self.cf, self.b
        size = b.size if b.plain else b.size_of(self.key, self.ck)
        b.origin_bytes += size or 0.0
        now = cf.engine.now
        cache = self.cache
        if cache is not None:
            cache.put(self.ck, now + b.ttl, size, now)
            if self.shield is not None:
                self.shield.put(self.ck, now + b.ttl, size, now)
        extra = cf.o_lat() + self.extra
        delay = cf.lat() + extra
        if size is None:
            b.unsized += 1
        else:
            b.bytes_out += size
            if cf.regional:
                cf.g_bytes[self.g] += size
        took = now - self.t_in + delay
        buf = cf.lat_buf  # cf.latency.record(took), inline
        buf.append(took)
        if len(buf) >= BATCH:
            cf.latency.flush()
        b.served_misses += 1
        b.miss_time += took
        heap, seq = cf.hot
        heappush(heap, (now + delay, next(seq), deliver, (req, self.done, None)))
        if self.waiters is not None:
            self.release(None, size)

    def _failed(self, req: Request, err: str) -> None:
        """An error from the origin: a connection retry, a failover, or the error to the viewer."""
        cf, b = self.cf, self.b
        if err == UNAVAILABLE and b.targets[self.o][3]:
            # a connection that does not answer: known only when the connection timeout ends
            wait = max(0.0, self.t_attempt + cf.spec.connection_timeout - cf.engine.now)
            if self.attempt < cf.spec.connection_attempts:
                b.retries += 1
                cf.engine.after(wait, self.go)
            else:
                b.timeouts += 1  # no connection after every attempt: 504
                cf.engine.after(wait, self.give_up)
            return
        if self.failover(err):
            return
        size = b.size_of(self.key, self.ck)
        b.origin_errors += 1
        cf.answer(b, req, self.done, self.t_in, err, cf.o_lat() + self.extra, size, self.g)
        if self.waiters is not None:
            self.release(err, size)

    def release(self, err: str | None, size: float | None) -> None:
        """Answer the viewers whose shield misses waited for this fetch (Origin Shield collapses them)."""
        if self.waiters is None:
            return
        cf, b = self.cf, self.b
        cf.pending[b.index].pop(self.ck, None)
        now = cf.engine.now
        for req, done, t_in, cache, g, extra in self.waiters:
            if err is None:
                cache.put(self.ck, now + b.ttl, size, now)
            cf.answer(b, req, done, t_in, err, cf.o_lat() + extra if err is None else 0.0, size, g)
        self.waiters = None

    def give_up(self, _: object = None) -> None:
        if self.failover(TIMEOUT):
            return
        self.cf.answer(self.b, self.req, self.done, self.t_in, TIMEOUT, 0.0, None)
        self.release(TIMEOUT, None)

    def expire(self, attempt: int) -> None:
        if self.live and attempt == self.attempt:
            self.live = False
            self.req.via = self.prev
            if self.failover(TIMEOUT):
                return
            self.b.timeouts += 1
            self.cf.answer(self.b, self.req, self.done, self.t_in, TIMEOUT, 0.0, None)
            self.release(TIMEOUT, None)
