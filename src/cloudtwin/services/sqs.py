"""SQS: standard and FIFO queues with visibility timeouts, redrive, retention and long polling.

What is modelled
----------------
* Send: a message above ``max_message_size`` (1 MiB now) is ``rejected``
  [aws-facts §6 CHANGED]; a FIFO queue allows 300 sends/s and 300 receives/s (each
  receive returns up to 10 messages, so 3,000 messages/s), beyond which calls are
  ``throttled`` [aws-facts §6 FIFO throughput]; a standard queue has no limit.
  ``delay`` holds new messages invisible (0-15 min) [aws-facts §6].
* SendMessageBatch (``batch: N`` on a workload or a send step): one API call of N
  messages: one FIFO transaction (so 300 calls/s carry 3,000 messages/s), requests
  billed per 64 KB of the whole batch; an oversized entry fails alone, a batch over
  1 MiB fails whole [aws-facts §6]. ``batches`` counts calls, entries and failed entries.
* Receive (:meth:`SQS.receive`): up to 10 messages [aws-facts §6 Batch size].
  With a wait (long polling, up to 20 s) the call returns as soon as a message is
  visible, else empty at the end of the wait; without one it returns at once.
  Each receive makes the message invisible for ``visibility_timeout`` and adds
  one to its receive count. A consumer that processed it calls :meth:`delete`;
  otherwise it turns visible again when the timeout ends. Standard queues
  re-queue it at the back (best-effort order); a FIFO queue keeps the order of
  each message group and returns no message of a group while one of it is in
  flight, so its parallelism is the number of active groups.
* Redrive: a message whose visibility timeout ends after ``max_receive_count``
  receives moves to the ``dlq`` (the same kind of queue); it was received exactly
  ``max_receive_count`` times. Retention counts from the *original* enqueue
  time, in the DLQ too [aws-facts §6 DLQ and redrive policy], so a message can
  expire the moment it arrives there. Expired messages count as ``expired``.
* At-least-once: on a standard queue a delete "does not take" with probability
  ``duplicate_rate`` (assumption); the message comes back after its visibility
  timeout and its next processing counts as a duplicate. A consumer that
  finishes after its message turned visible again and was taken by another
  consumer is a duplicate too. FIFO queues never duplicate.
* In-flight limits: 120,000 (standard: a receive fails ``throttled``, SQS's
  OverLimit) and 20,000 (FIFO: the receive returns nothing) [aws-facts §6].
* Each API call takes a draw of ``latency``. SQS is regional: an AZ outage does
  not touch it (assumption). Billing counts every API call, each 64 KB chunk of a
  send as one request [aws-facts §19 SQS].

Where each message is and the queue's timers live in
:mod:`cloudtwin.services.sqs_store`; this module is the API.

Left out: short polling's sampling of a subset of servers (a short poll here sees
every visible message), ChangeMessageVisibility and per-message delays,
FIFO deduplication ids and high-throughput mode (its per-Region figures are
unconfirmed), DLQ redrive back to the source, and the API's eventual consistency.
"""

from __future__ import annotations

import math
from collections import deque
from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import deliver
from cloudtwin.engine import make_sampler
from cloudtwin.engine.resources import RateLimiter
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.messaging import DEAD, DELIVERED, IN_FLIGHT, Message, MessageFactory, ledger_of, producer_arg
from cloudtwin.metrics import BATCH, Histogram
from cloudtwin.request import REJECTED, THROTTLED, Batch, BatchStats, Done, Request
from cloudtwin.services.sqs_store import COMPACT, GONE, INFLIGHT, QueueStore
from cloudtwin.spec.message import BATCH_LIMITS

if TYPE_CHECKING:
    from cloudtwin.context import Context

FIFO_TPS: Final = 300.0  # API calls/s per action without batching [aws-facts §6 FIFO throughput]
FIFO_BURST: Final = 1.0  # assumption: one second's worth of calls may arrive at once
INFLIGHT_LIMIT = {False: 120_000, True: 20_000}  # [aws-facts §6 In-flight limit]
MAX_BATCH: Final = 10  # messages per receive or delete batch [aws-facts §6 Batch size]
CHUNK: Final = 65_536  # each 64 KB of payload is billed as one request [aws-facts §19 SQS]
BATCH_PAYLOAD = BATCH_LIMITS[("sqs", "send")][1]  # a whole SendMessageBatch [aws-facts §6]


class _Waiter:
    """A long poll waiting for a message."""

    __slots__ = ("queue", "cb", "n", "live", "tm", "th")
    # made only by SQS.receive, every field set there (no __init__: a class call costs a frame)
    queue: SQS
    cb: Any
    n: int
    live: bool
    tm: Any  # the engine's Timer for its wait, and its handle there
    th: int

    def expire(self, _: object = None) -> None:
        if self.live:
            self.live = False
            self.queue.empty_receives += 1
            self.cb([])


_waiter_expire = _Waiter.expire  # the wait timer's callback, taking the waiter as its argument
_new_waiter: Final = _Waiter.__new__  # object.__new__ interpreted; compiled, the class's own (no __init__ to run)



class SQS(QueueStore):
    """One SQS queue."""
    # what an instance sets, as slots: past 29 attributes in its __dict__ every access slows
    # (tests/test_attribute_layout.py); the base's __dict__ takes the rest (a wrapper's handle)
    __slots__ = ('name', 'spec', 'ctx', 'engine', 'requests', 'errors', 'latency', 'injected', 'ledger', 'fifo',
                 'vis', 'retention', 'delay', '_plain', 'max_size', 'max_receives', 'dup_rate',
                 'inflight_limit', 'lat', 'zero_lat', 'u', 'factory', 'dlq', '_heap', '_seq', '_lat_buf',
                 'held', 'visible', 'groups', 'ready', 'n_visible', 'n_inflight', 'n_delayed', '_inflight',
                 '_delayed', '_expiry', '_token', '_armed', '_receipts', 'received', 'moved', 'expired',
                 'max_visible', 'dlq_receives', '_fifo_limits', 'waiters', '_wait_timers', 'e2e', '_e2e_buf',
                 'sent', 'rejected', 'throttled', 'empty_receives', 'delivered', 'duplicates', 'ghosts',
                 'dead_in', 'api_requests', 'batches', 'series_visible', 'series_inflight')

    kind = "sqs"

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.ledger = ledger_of(ctx)
        self.fifo: bool = spec.fifo
        self.vis: float = spec.visibility_timeout
        self.retention: float = spec.retention
        self.delay: float = spec.delay
        self._plain = not spec.fifo and not self.delay > 0.0  # enters visible at once: _enter_plain
        self.max_size: float = spec.max_message_size
        self.max_receives: int = spec.max_receive_count
        self.dup_rate: float = 0.0 if spec.fifo else spec.duplicate_rate
        self.inflight_limit = INFLIGHT_LIMIT[spec.fifo]
        self.lat = make_sampler(spec.latency, ctx.stream(f"{name}.latency"))
        self.zero_lat = spec.latency.kind == "const" and spec.latency.params[0] == 0.0
        self.u = uniform_sampler(ctx.stream(f"{name}.duplicates"))
        self.factory = MessageFactory(None, ctx.seed, f"{name}.message")
        self.dlq = None  # the dead-letter queue (QueueStore.dlq), set by build()
        self._heap, self._seq = self.engine.hot()
        self._lat_buf = self.latency.buffer
        self._init_store()
        self._fifo_limits = (RateLimiter(FIFO_TPS, FIFO_BURST), RateLimiter(FIFO_TPS, FIFO_BURST))  # send, receive
        self.waiters: deque[_Waiter] = deque()
        self._wait_timers: dict[float, Any] = {}  # the engine's Timer of each long-poll wait
        self.e2e = Histogram()
        self._e2e_buf = self.e2e.buffer  # for record() written out (the buffer object never changes)
        self.sent = self.rejected = self.throttled = self.empty_receives = 0
        self.delivered = self.duplicates = self.ghosts = self.dead_in = 0
        self.api_requests = 0
        self.batches = BatchStats()
        self.series_visible: list[float] = []
        self.series_inflight: list[float] = []

    def build(self) -> None:
        if self.spec.dlq is not None:
            self.dlq = self.ctx.components[self.spec.dlq]

    def producer_arg(self, workload: str, spec: Any) -> MessageFactory:
        """What a workload entering here passes with each request (see WorkloadRun)."""
        return producer_arg(self, workload, spec)

    # ---- sending ------------------------------------------------------------
    def _admit(self, size: float) -> str | None:
        if size > self.max_size:
            if not self.rejected:
                self.ctx.event("messages", f"sqs {self.name}: rejected a {size:,.0f}-byte message; the limit "
                               f"is {self.max_size:,.0f} bytes (max_message_size)")
            self.rejected += 1
            return REJECTED
        if self.fifo and not self._rate_ok(0):
            self.throttled += 1
            return THROTTLED
        self.api_requests += max(1, math.ceil(size / CHUNK))
        return None

    def _rate_ok(self, action: int) -> bool:
        return self._fifo_limits[action].try_take(self.engine.now)

    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        """SendMessage from a workload or a handler's ``call: <queue>.send``."""
        self.requests += 1
        if isinstance(arg, Batch):
            self._send_batch(req, done, arg)
            return
        factory = arg if isinstance(arg, MessageFactory) else self.factory
        size = factory.size
        if self._plain and size <= self.max_size:  # self._admit(size) written out, as in push()
            self.api_requests += 1 if size <= CHUNK else math.ceil(size / CHUNK)
            err = None
        else:
            err = self._admit(size)
        if err is None:
            msg = factory.make(self.ledger, self.engine.now)
            self.sent += 1
            self._enter(msg, self.delay)
        else:
            self.errors += 1
        lat = self.lat()
        buf = self._lat_buf  # self.latency.record(lat) written out (the same flush points)
        buf.append(lat)
        if len(buf) >= BATCH:
            self.latency.flush()
        if lat > 0.0:  # engine.after(lat, deliver, ...)'s heap entry, pushed directly
            heappush(self._heap, (self.engine.now + lat, next(self._seq), deliver, (req, done, err)))
        else:
            done(req, err)

    def _send_batch(self, req: Request, done: Done, b: Batch) -> None:
        """SendMessageBatch: one API call (one FIFO transaction, requests billed per 64 KB of the
        whole batch [aws-facts §19 SQS]) of ``b.n`` messages; an entry over the size limit fails
        alone (the call succeeds), a batch over the payload limit fails whole [aws-facts §6]."""
        factory = b.arg if isinstance(b.arg, MessageFactory) else self.factory
        size, n = factory.size, b.n
        err: str | None = None
        failed = 0
        if size * n > BATCH_PAYLOAD:  # BatchRequestTooLong
            err, failed = REJECTED, n
            self.rejected += n
        elif self.fifo and not self._rate_ok(0):
            err, failed = THROTTLED, n
            self.throttled += 1
        else:
            self.api_requests += max(1, math.ceil(size * n / CHUNK))
            now = self.engine.now
            for _ in range(n):
                if size > self.max_size:
                    self.rejected += 1
                    failed += 1
                    continue
                self.sent += 1
                self._enter(factory.make(self.ledger, now), self.delay)
        self.batches.record(n, failed)
        if err is not None:
            self.errors += 1
        lat = self.lat()
        self.latency.record(lat)
        self.engine.after(lat, deliver, (req, done, err))

    def push(self, msg: Message) -> str | None:
        """Take ``msg`` from another service (a topic, a bus): None, or ``rejected``/``throttled``.
        A standard queue without delay admits a message within the size limit inline
        (:meth:`_admit`'s billing: one request per started 64 KB, at least one) and enters
        it with :meth:`_enter_plain`."""
        size = msg.size
        if self._plain and size <= self.max_size:
            self.api_requests += 1 if size <= CHUNK else math.ceil(size / CHUNK)
            msg.enq = self.engine.now
            self.sent += 1
            self._enter_plain(msg)
            return None
        err = self._admit(size)
        if err is None:
            msg.enq = self.engine.now
            self.sent += 1
            self._enter(msg, self.delay)
        return err

    def take_dead(self, msg: Message, *, keep_enqueue_time: bool) -> str | None:
        """Take ``msg`` as a dead-letter queue. A redrive keeps the original enqueue time; a
        Lambda or SNS dead letter is a new send (new enqueue time) and may be refused."""
        if not keep_enqueue_time:
            err = self._admit(msg.size)
            if err is not None:
                return err
            msg.enq = self.engine.now
        self.ledger.dead_letter(msg)
        self.dead_in += 1
        if self.engine.now - msg.enq >= self.retention:
            self.ledger.expire(msg)
            self.expired += 1
        else:
            self._enter(msg, 0.0)
        return None

    # ---- receiving ----------------------------------------------------------
    def receive(self, n: int, wait: float | None, cb: Any) -> None:
        """ReceiveMessage: ``cb(messages)`` after the call's latency, with up to ``n`` (<= 10)
        messages, ``[]`` if none came within ``wait`` seconds (None: the queue's
        ``receive_wait``), or ``None`` if throttled. The caller processes them and calls
        :meth:`delete` (or :meth:`delete_batch`); a message not deleted comes back after
        the visibility timeout."""
        if wait is None:
            wait = self.spec.receive_wait
        self.api_requests += 1
        if n > MAX_BATCH:
            n = MAX_BATCH
        if self.fifo and not self._rate_ok(1):
            self.throttled += 1
            self._reply(cb, None)
            return
        if self.n_inflight >= self.inflight_limit:
            self.throttled += 1
            if self.fifo:  # no error, just nothing, after the wait
                self.engine.after(max(wait, self.lat()), cb, [])
            else:  # OverLimit
                self._reply(cb, None)
            return
        msgs = self._take(n) if self.n_visible else []
        if msgs or wait <= 0.0:
            if not msgs:
                self.empty_receives += 1
            if self.zero_lat:  # self._reply(cb, msgs) written out
                cb(msgs)
            else:
                heappush(self._heap, (self.engine.now + self.lat(), next(self._seq), cb, msgs))
            return
        ws = self.waiters
        while ws and not ws[0].live:
            ws.popleft()
        w = _new_waiter(_Waiter)  # every slot set here
        w.queue, w.cb, w.n, w.live = self, cb, n, True
        ws.append(w)
        tm = self._wait_timers.get(wait)  # engine.timer(wait), looked up once per wait
        if tm is None:
            tm = self._wait_timers[wait] = self.engine.timer(wait)
        w.tm = tm  # after(wait, w.expire), cancelled once a message comes
        w.th = tm.start(_waiter_expire, w)

    def _reply(self, cb: Any, msgs: list[Message] | None) -> None:
        if self.zero_lat:
            cb(msgs)
        else:  # engine.after(self.lat(), cb, msgs)'s heap entry, pushed directly
            heappush(self._heap, (self.engine.now + self.lat(), next(self._seq), cb, msgs))

    def _serve(self) -> None:
        ws = self.waiters
        while ws and self.n_visible and self.n_inflight < self.inflight_limit:
            w = ws[0]
            if not w.live:
                ws.popleft()
                continue
            msgs = self._take(w.n)
            if not msgs:
                break  # FIFO: the visible messages belong to groups in flight
            ws.popleft()
            w.live = False
            # served: its expiry never runs (it still counts as an event)
            tm = w.tm  # tm.cancel(w.th), inlined: keep in step with Timer.cancel
            j = w.th - tm._base
            if j >= tm._i:
                tm._cbs[j] = None
            self._reply(w.cb, msgs)

    # ---- deleting -----------------------------------------------------------
    def delete(self, msg: Message) -> None:
        """DeleteMessage after successful processing."""
        self.api_requests += 1
        self._delete(msg)

    def delete_batch(self, msgs: list[Message]) -> None:
        """DeleteMessageBatch (10 per call): :meth:`_delete` of each, in order, written out
        here (:meth:`Ledger.deliver`, the end-to-end record, the duplicate-delete draw, and
        :meth:`_remove` of a standard queue's message in flight): the same counts move, the
        same draws are taken and the same latencies recorded, in the same order."""
        self.api_requests += -(-len(msgs) // MAX_BATCH)
        led = self.ledger
        counts = led.counts
        held = self.held
        now = self.engine.now
        e2e = self.e2e
        buf = self._e2e_buf
        dup_rate, fifo = self.dup_rate, self.fifo
        for m in msgs:
            s = m.state
            first = s in (IN_FLIGHT, DEAD)
            if first:  # led.deliver(m)
                counts[s] -= 1
                counts[DELIVERED] += 1
                m.state = DELIVERED
                self.delivered += 1
                buf.append(now - m.t0)
                if len(buf) >= BATCH:
                    e2e.flush()
            elif s == DELIVERED:  # processed again
                led.duplicates += 1
                self.duplicates += 1
            if held.get(m.mid) is m:
                w = m.where
                if first and dup_rate and w == INFLIGHT and self.u() < dup_rate:
                    self.ghosts += 1  # the delete missed a copy: it comes back when its timeout ends
                elif w == INFLIGHT and not fifo:  # self._remove(m)
                    del held[m.mid]
                    m.where = GONE
                    self.n_inflight -= 1
                else:
                    self._remove(m)
            if len(self._inflight) > 2 * self.n_inflight + COMPACT:
                self._inflight = deque(e for e in self._inflight if (x := held.get(e[1])) is not None
                                       and x.receipt == e[2] and x.where == INFLIGHT)

    def _delete(self, m: Message) -> None:
        first = self.ledger.deliver(m)
        if first:
            self.delivered += 1
            buf = self._e2e_buf  # self.e2e.record(...) written out (the same flush points)
            buf.append(self.engine.now - m.t0)
            if len(buf) >= BATCH:
                self.e2e.flush()
        elif m.state == DELIVERED:  # processed again
            self.duplicates += 1
        if self.held.get(m.mid) is m:
            if first and self.dup_rate and m.where == INFLIGHT and self.u() < self.dup_rate:
                self.ghosts += 1  # the delete missed a copy: it comes back when its timeout ends
            else:
                self._remove(m)
        if len(self._inflight) > 2 * self.n_inflight + COMPACT:
            held = self.held
            self._inflight = deque(e for e in self._inflight if (x := held.get(e[1])) is not None
                                   and x.receipt == e[2] and x.where == INFLIGHT)

    # ---- metrics ------------------------------------------------------------
    def held_messages(self) -> Any:
        return self.held.values()

    def visible_count(self) -> int:
        """ApproximateNumberOfMessagesVisible."""
        return self.n_visible

    def in_flight_count(self) -> int:
        """ApproximateNumberOfMessagesNotVisible."""
        return self.n_inflight

    def on_minute(self, now: float) -> None:
        self.series_visible.append(float(self.n_visible))
        self.series_inflight.append(float(self.n_inflight))

    def series(self) -> dict[str, list[float]]:
        return {"visible": self.series_visible, "in_flight": self.series_inflight}

    def usage(self) -> dict[str, float]:
        kind = "SQS-Requests-FIFO-Tier1" if self.fifo else "SQS-Requests-Tier1"
        return {kind: float(self.api_requests)} if self.api_requests else {}

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update({
            "fifo": self.fifo, "sent": self.sent, "rejected": self.rejected, "throttled": self.throttled,
            "received": self.received, "empty_receives": self.empty_receives, "delivered": self.delivered,
            "duplicates": self.duplicates, "moved_to_dlq": self.moved,
            "dlq_receive_counts": {str(k): v for k, v in sorted(self.dlq_receives.items())},
            "dead_letters_in": self.dead_in, "expired": self.expired, "visible": self.n_visible,
            "in_flight": self.n_inflight, "delayed": self.n_delayed, "max_visible": self.max_visible,
            "end_to_end_ms": self.e2e.summary_ms(), "api_requests": self.api_requests,
        })
        if self.batches.calls:
            out["batches"] = self.batches.stats()
        return out
