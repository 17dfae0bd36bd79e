"""SNS: topics that fan a publish out to subscriptions, with the documented delivery retries.

What is modelled
----------------
* Publish (a workload whose entry is the topic, a handler's ``call: <topic>.publish``,
  or :meth:`SNS.push` from another service): a message above 256 KB is
  ``rejected`` [aws-facts §7 PublishBatch size]. Each subscription whose filter
  policy matches the message's attributes gets its own copy [aws-facts §7
  Fan-out], delivered after a draw of ``delivery_latency``; copies are independent,
  so a slow or failing endpoint delays only its own. A FIFO topic delivers each
  subscription's copies in publish order and only to SQS queues.
* Endpoints: ``sqs`` (the queue takes the copy), ``lambda`` (an asynchronous
  invoke: the function takes the copy and retries on its own), ``http``/``https``
  (a request to an ``alb``/``nlb``/``clb``/``ec2``/``asg`` component, which succeeds when
  it answers within ``http_timeout``, assumption 15 s) and ``email`` (not simulated:
  ``error_rate`` of the attempts fail). Email deliveries of the whole account are
  limited to 10 per second; above it the subscription is deactivated
  [aws-facts §7 Email delivery rate], and its later copies are lost with the cause
  ``sns_email_subscription_deactivated``.
* Retries of a failed delivery [aws-facts §7]: SQS and Lambda endpoints follow
  the AWS-managed policy (3 immediate tries, 2 one second apart, 10 with
  exponential backoff from 1 s to 20 s, then 100,000 at 20 s: 100,015 attempts
  over 23 days); email the customer-managed one (the first try, one 10 s later, 10
  with backoff from 10 s to 600 s, 38 at 600 s: 50 attempts over about 6 h);
  HTTP/S its ``delivery_policy`` (default 3 retries 20 s apart, all retries within
  3,600 s). A ``rejected`` reply is a client error and is not retried
  (assumption). When the attempts run out, the copy goes to the subscription's
  ``dlq`` or is lost (``sns_retries_exhausted``) [aws-facts §7].
* SNS is regional: an AZ outage does not touch it (assumption). Billing counts
  publishes (each 64 KB chunk is one request) and HTTP and email deliveries
  [aws-facts §19 SNS]; deliveries to SQS and Lambda are not billed here.

Left out: jitter on retries, SMS and mobile push, message data protection,
PublishBatch, FIFO deduplication and throughput limits, raw message delivery, and
a subscription's ``maxReceivesPerSecond`` throttle.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler
from cloudtwin.engine.resources import RateLimiter
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.messaging import IN_FLIGHT, Message, MessageFactory, Pattern, ledger_of, producer_arg
from cloudtwin.metrics import BATCH, Histogram
from cloudtwin.request import REJECTED, SERVER_ERROR, TIMEOUT, Batch, BatchStats, Done, Request
from cloudtwin.services.sqs import CHUNK
from cloudtwin.spec.message import BATCH_LIMITS
from cloudtwin.spec.sns import SNS_MAX_SIZE, subscription_protocol

BATCH_PAYLOAD = BATCH_LIMITS[("sns", "publish")][1]  # a whole PublishBatch [aws-facts §7]

if TYPE_CHECKING:
    from cloudtwin.context import Context

HTTP_RETRY_CAP: Final = 3600.0  # total retry time of an HTTP/S delivery [aws-facts §7]


def managed_delay(k: int) -> float | None:
    """AWS-managed endpoints: the wait before attempt ``k + 1`` after ``k`` attempts [aws-facts §7]."""
    if k < 3:
        return 0.0  # 3 immediate tries
    if k < 5:
        return 1.0  # 2 tries 1 s apart
    if k < 15:
        return float(20.0 ** ((k - 5) / 9))  # 10 tries, exponential backoff 1 s -> 20 s
    if k < 100_015:
        return 20.0  # 100,000 tries 20 s apart
    return None


def customer_delay(k: int) -> float | None:
    """Customer-managed endpoints (email): the wait before attempt ``k + 1`` [aws-facts §7]."""
    if k < 2:
        return 10.0  # 2 tries 10 s apart
    if k < 12:
        return float(10.0 * 60.0 ** ((k - 2) / 9))  # 10 tries, exponential backoff 10 s -> 600 s
    if k < 50:
        return 600.0  # 38 tries 600 s apart
    return None


class _Sub:
    """One live subscription."""

    __slots__ = ("i", "proto", "target", "dlq", "match", "delivery", "error_rate", "active", "last_t", "e2e",
                 "matched", "attempts", "failed", "delivered", "dead", "lost", "topic", "first")

    def __init__(self, i: int, spec: Any, proto: str, comps: dict[str, Any], topic: SNS) -> None:
        self.i = i
        self.topic = topic
        # a copy's first attempt, the engine callback taking the copy (decided once, here)
        self.first: Any = self._push_first if proto in ("sqs", "lambda") else self._attempt_first
        self.proto = proto
        self.target: Any = comps.get(spec.target) if spec.target else None
        self.dlq = comps[spec.dlq] if spec.dlq else None
        self.match = Pattern(spec.filter_policy) if spec.filter_policy is not None else None
        self.delivery = spec.delivery_policy
        self.error_rate = spec.error_rate
        self.active = True
        self.last_t = 0.0
        self.e2e = Histogram()
        self.matched = self.attempts = self.failed = self.delivered = self.dead = self.lost = 0

    def _push_first(self, msg: Message) -> None:
        """The first attempt of a copy to a queue or a function: :meth:`_Delivery.attempt`'s
        ``sqs``/``lambda`` branch with no per-copy object. Only a refused copy gets its
        :class:`_Delivery` (one attempt made), which retries as before."""
        self.attempts += 1
        err = self.target.push(msg)
        if err is None:
            del self.topic.pending[msg.mid]
            self.delivered += 1
        else:
            d = _Delivery(self.topic, self, msg)
            d.attempts = 1
            d.failed(err)

    def _attempt_first(self, msg: Message) -> None:
        """The first attempt of a copy to an email or HTTP/S endpoint."""
        _Delivery(self.topic, self, msg).attempt()

    def next_delay(self, k: int, spent: float) -> float | None:
        if self.proto in ("sqs", "lambda"):
            return managed_delay(k)
        if self.proto == "email":
            return customer_delay(k)
        p = self.delivery
        n, lo, hi, kind = (3, 20.0, 20.0, "linear") if p is None else (
            p.num_retries, p.min_delay, p.max_delay, p.backoff)
        j = k  # retry number about to happen (1-based)
        if j > n:
            return None
        f = (j - 1) / (n - 1) if n > 1 else 0.0
        d = lo * (hi / lo) ** f if kind == "exponential" and lo > 0 else lo + (hi - lo) * f
        return d if spent + d <= HTTP_RETRY_CAP else None

    def stats(self) -> dict[str, Any]:
        return {"protocol": self.proto, "target": getattr(self.target, "name", None), "matched": self.matched,
                "attempts": self.attempts, "failed_attempts": self.failed, "delivered": self.delivered,
                "dead_lettered": self.dead, "lost": self.lost, "active": self.active,
                "end_to_end_ms": self.e2e.summary_ms()}


class _Delivery:
    """One copy on its way to one subscription."""

    __slots__ = ("topic", "sub", "msg", "attempts", "spent")

    def __init__(self, topic: SNS, sub: _Sub, msg: Message) -> None:
        self.topic, self.sub, self.msg = topic, sub, msg
        self.attempts = 0
        self.spent = 0.0

    def attempt(self, _: object = None) -> None:
        topic, sub, msg = self.topic, self.sub, self.msg
        self.attempts += 1
        sub.attempts += 1
        proto = sub.proto
        if proto == "sqs" or proto == "lambda":
            err = sub.target.push(msg)
            if err is None:
                del topic.pending[msg.mid]
                sub.delivered += 1
            else:
                self.failed(err)
        elif proto == "email":
            if not sub.active:
                topic.drop(self, "sns_email_subscription_deactivated")
            elif not topic.email_ok():
                sub.active = False
                topic.ctx.event("messages", f"sns {topic.name}: email subscription {sub.i} deactivated "
                                f"(over {topic.ctx.arch.account.sns_email_rate:g} emails/s per account)")
                topic.drop(self, "sns_email_subscription_deactivated")
            elif topic.u() < sub.error_rate:
                self.failed(SERVER_ERROR)
            else:
                topic.delivered(self)
        else:
            att = _HttpTry(self, self.attempts)
            topic.engine.timer(topic.http_timeout).start(att.expire)
            sub.target.handle(Request(topic.engine.now, None, None), "", att.reply, None)

    def failed(self, err: str) -> None:
        sub = self.sub
        sub.failed += 1
        delay = None if err == REJECTED else sub.next_delay(self.attempts, self.spent)
        if delay is None:
            self.topic.give_up(self)
            return
        self.spent += delay
        self.topic.engine.after(delay, self.attempt)


class _HttpTry:
    """One HTTP delivery attempt: the reply or the timeout, whichever comes first."""

    __slots__ = ("d", "n", "live")

    def __init__(self, d: _Delivery, n: int) -> None:
        self.d, self.n, self.live = d, n, True

    def reply(self, req: Request, err: str | None) -> None:
        if self.live:
            self.live = False
            if err is None:
                self.d.topic.delivered(self.d)
            else:
                self.d.failed(err)

    def expire(self, _: object = None) -> None:
        if self.live:
            self.live = False
            self.d.failed(TIMEOUT)


class SNS(Component):
    """One SNS topic and its subscriptions."""

    kind = "sns"

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.ledger = ledger_of(ctx)
        self.lat = make_sampler(spec.latency, ctx.stream(f"{name}.latency"))
        self.dlat = make_sampler(spec.delivery_latency, ctx.stream(f"{name}.delivery"))
        self.u = uniform_sampler(ctx.stream(f"{name}.endpoint"))
        self.factory = MessageFactory(None, ctx.seed, f"{name}.message")
        self.http_timeout: float = spec.http_timeout
        self.subs: list[_Sub] = []
        self.pending: dict[int, Message] = {}  # copies not yet delivered, dead-lettered or lost
        self._heap, self._seq = self.engine.hot()
        self._lat_buf = self.latency.buffer
        self.publishes = self.rejected = self.unmatched = self.api_requests = 0
        self.batches = BatchStats()

    def build(self) -> None:
        comps = self.ctx.components
        arch = self.ctx.arch.components
        for i, s in enumerate(self.spec.subscriptions):
            self.subs.append(_Sub(i, s, subscription_protocol(s, arch) or "http", comps, self))

    def producer_arg(self, workload: str, spec: Any) -> MessageFactory:
        """What a workload entering here passes with each request (see WorkloadRun)."""
        return producer_arg(self, workload, spec)

    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        """Publish from a workload or a handler's ``call: <topic>.publish``."""
        self.requests += 1
        if isinstance(arg, Batch):
            self._publish_batch(req, done, arg)
            return
        factory = arg if isinstance(arg, MessageFactory) else self.factory
        err = None
        if factory.size > SNS_MAX_SIZE:
            if not self.rejected:
                self.ctx.event("messages", f"sns {self.name}: rejected a {factory.size:,.0f}-byte message; "
                               f"the limit is {SNS_MAX_SIZE:,} bytes")
            err = REJECTED
            self.rejected += 1
            self.errors += 1
        else:
            self.publishes += 1
            self.api_requests += max(1, -(-int(factory.size) // CHUNK))
            attrs, group = factory.draw()
            self._fan_out(None, self.engine.now, factory.size, attrs, group)
        lat = self.lat()
        buf = self._lat_buf  # self.latency.record(lat) written out (the same flush points)
        buf.append(lat)
        if len(buf) >= BATCH:
            self.latency.flush()
        # engine.after(lat, deliver, (req, done, err))'s heap entry, pushed directly
        heappush(self._heap, (self.engine.now + lat, next(self._seq), deliver, (req, done, err)))

    def _publish_batch(self, req: Request, done: Done, b: Batch) -> None:
        """PublishBatch: one call of ``b.n`` messages (requests billed per 64 KB of the whole
        batch); over 256 KB in all the call fails whole [aws-facts §7 PublishBatch size]."""
        factory = b.arg if isinstance(b.arg, MessageFactory) else self.factory
        size, n = factory.size, b.n
        err: str | None = None
        if size * n > BATCH_PAYLOAD:
            err = REJECTED
            self.rejected += n
            self.errors += 1
        else:
            self.api_requests += max(1, -(-int(size * n) // CHUNK))
            now = self.engine.now
            for _ in range(n):
                self.publishes += 1
                attrs, group = factory.draw()
                self._fan_out(None, now, size, attrs, group)
        self.batches.record(n, n if err else 0)
        lat = self.lat()
        self.latency.record(lat)
        self.engine.after(lat, deliver, (req, done, err))

    def push(self, msg: Message) -> str | None:
        """Publish a copy handed over by another service (it becomes the first subscription's copy)."""
        if msg.size > SNS_MAX_SIZE:
            self.rejected += 1
            return REJECTED
        self.publishes += 1
        self.api_requests += max(1, -(-int(msg.size) // CHUNK))
        self._fan_out(msg, msg.t0, msg.size, msg.attrs, msg.group)
        return None

    def _fan_out(self, incoming: Message | None, t0: float, size: float, attrs: Any, group: Any) -> None:
        """One copy per matching subscription, each attempted a draw of ``delivery_latency``
        later. Its first attempt (``sub.first(copy)``) is pushed on the heap directly, as
        ``engine.at`` would push it (a time before now runs now). New copies are published
        as :meth:`Ledger.new` publishes them, written out."""
        now = self.engine.now
        led = self.ledger
        counts, ids = led.counts, led.ids
        pending, dlat, fifo = self.pending, self.dlat, self.spec.fifo
        heap, seq = self._heap, self._seq
        first = True
        for sub in self.subs:
            if sub.match is not None and not sub.match(attrs):
                continue
            sub.matched += 1
            if first and incoming is not None:
                m = incoming
            else:  # led.new(t0, size, attrs, group)
                led.published += 1
                counts[IN_FLIGHT] += 1
                m = Message(next(ids), t0, size, attrs, group)
            first = False
            pending[m.mid] = m
            t = now + dlat()
            if fifo:  # keep each subscription's copies in publish order
                t = max(t, sub.last_t)
                sub.last_t = t
            heappush(heap, (t if t > now else now, next(seq), sub.first, m))
        if first:
            self.unmatched += 1
            if incoming is not None:
                led.lose(incoming, "sns_no_subscription_matched")

    # ---- outcomes (called by deliveries) --------------------------------------
    def delivered(self, d: _Delivery) -> None:
        del self.pending[d.msg.mid]
        d.sub.delivered += 1
        self.ledger.deliver(d.msg)
        d.sub.e2e.record(self.engine.now - d.msg.t0)

    def give_up(self, d: _Delivery) -> None:
        sub = d.sub
        if sub.dlq is not None:
            del self.pending[d.msg.mid]
            if sub.dlq.take_dead(d.msg, keep_enqueue_time=False) is None:
                sub.dead += 1
                return
            sub.lost += 1
            self.ledger.lose(d.msg, "sns_dlq_refused")
            return
        self.drop(d, "sns_retries_exhausted")

    def drop(self, d: _Delivery, cause: str) -> None:
        del self.pending[d.msg.mid]
        d.sub.lost += 1
        self.ledger.lose(d.msg, cause)

    def email_ok(self) -> bool:
        """The account-wide email rate (a token bucket of one second's worth)."""
        acct = self.ctx.account
        if acct.sns_email is None:
            tps = self.ctx.arch.account.sns_email_rate  # 10/s by default [aws-facts §7 Email delivery rate]
            acct.sns_email = RateLimiter(tps, max(0.0, 1.0 - 1.0 / tps))
        return acct.sns_email.try_take(self.engine.now)

    # ---- metrics ------------------------------------------------------------
    def held_messages(self) -> Any:
        return list(self.pending.values())

    def usage(self) -> dict[str, float]:
        out = {"SNS-Requests-Tier1": float(self.api_requests)}
        http = sum(s.delivered for s in self.subs if s.proto in ("http", "https"))
        email = sum(s.delivered for s in self.subs if s.proto == "email")
        if http:
            out["SNS-Deliveries-HTTP"] = float(http)
        if email:
            out["SNS-Deliveries-SMTP"] = float(email)
        return {k: v for k, v in out.items() if v}

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update({"fifo": self.spec.fifo, "publishes": self.publishes, "rejected": self.rejected,
                    "unmatched": self.unmatched, "pending": len(self.pending),
                    "subscriptions": [s.stats() for s in self.subs]})
        if self.batches.calls:
            out["batches"] = self.batches.stats()
        return out

