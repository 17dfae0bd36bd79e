"""CloudTrail: API calls recorded and delivered to EventBridge as "AWS API Call via CloudTrail" events.

What is modelled
----------------
* An API call (``call: <trail>.record`` in a handler, or a workload whose entry is the
  trail: each request is one call) takes a draw of ``latency`` (the API call itself;
  assumption) and is recorded. Its event has ``source: aws.<service>``, ``detail-type: AWS
  API Call via CloudTrail``, ``detail.eventSource: <service>.amazonaws.com`` and the
  producer's message attributes, a name without a dot going under ``detail`` (so
  ``eventName: CreateAccessKey`` is ``detail.eventName``).
* Delivery to the ``bus`` comes a draw of ``delivery_delay`` after the call. aws-facts has
  no row for this delay, so the default ``lognormal(median=30s, p99=3m)`` is an
  assumption; the measured alert delay of a design is only as good as it. AWS services
  deliver these events on a best-effort basis (EventBridge user guide, "AWS service events
  delivered via AWS CloudTrail"; not in aws-facts): ``best_effort_loss`` (default 0) is the
  share dropped, counted as ``cloudtrail_best_effort``.
* A call whose event no rule of the bus matches publishes no message (``unmatched``); one
  that matches is a message copy from the call on, held here during the delay.

Left out: trails' log files in S3 and their delivery, data events, Insights events,
CloudTrail Lake, multi-Region trails, and CloudTrail's own bill.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.messaging import Message, MessageFactory, ledger_of, producer_arg
from cloudtwin.metrics import BATCH, Histogram
from cloudtwin.request import Done, Request
from cloudtwin.services.eventbridge import event_attrs

if TYPE_CHECKING:
    from cloudtwin.context import Context

EVENT_SIZE: Final = 2048.0  # bytes of one API-call event (assumption)


class CloudTrail(Component):
    """One trail delivering management events to an event bus."""

    kind = "cloudtrail"

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.ledger = ledger_of(ctx)
        self.lat = make_sampler(spec.latency, ctx.stream(f"{name}.latency"))
        self.delay = make_sampler(spec.delivery_delay, ctx.stream(f"{name}.delivery"))
        self.u = uniform_sampler(ctx.stream(f"{name}.best_effort"))
        self.factory = MessageFactory(None, ctx.seed, f"{name}.message")
        svc = spec.service
        self.base = {"source": f"aws.{svc}", "detail-type": "AWS API Call via CloudTrail",
                     "detail.eventSource": f"{svc}.amazonaws.com"}
        self.bus: Any = None
        self.holding: dict[int, Message] = {}
        self.recorded = self.sent = self.unmatched = self.dropped = 0
        self.delivery = Histogram()  # call to event on the bus
        self.hot = ctx.engine.hot()
        self.lat_buf = self.latency.buffer  # latency.record(x), inlined in serve
        self.deliver_event = self._deliver  # one bound method, not one per call

    def build(self) -> None:
        self.bus = self.ctx.components[self.spec.bus]

    def producer_arg(self, workload: str, spec: Any) -> MessageFactory:
        """What a workload entering here passes with each request (see WorkloadRun)."""
        return producer_arg(self, workload, spec)

    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        """One API call, recorded by the trail. The bus's rules are asked once per call
        (``bus.matching``); ``engine.after`` and ``latency.record`` are written out (the same
        heap entries, the same buffer)."""
        self.requests += 1
        self.recorded += 1
        factory = arg if isinstance(arg, MessageFactory) else self.factory
        attrs, group = factory.draw()
        ev = event_attrs(self.base, attrs)
        now = self.engine.now
        heap, seq = self.hot
        if self.bus.matching(ev):
            msg = self.ledger.new(now, EVENT_SIZE, ev, group)
            self.holding[msg.mid] = msg
            heappush(heap, (now + self.delay(), next(seq), self.deliver_event, msg))
        else:
            self.unmatched += 1
        lat = self.lat()
        buf = self.lat_buf
        buf.append(lat)
        if len(buf) >= BATCH:
            self.latency.flush()
        heappush(heap, (now + lat, next(seq), deliver, (req, done, None)))

    def _deliver(self, msg: Message) -> None:
        del self.holding[msg.mid]
        if self.spec.best_effort_loss and self.u() < self.spec.best_effort_loss:
            self.dropped += 1
            self.ledger.lose(msg, "cloudtrail_best_effort")
            return
        self.sent += 1
        self.delivery.record(self.engine.now - msg.t0)
        if self.bus.push(msg) is not None:
            self.ledger.lose(msg, "cloudtrail_event_refused")

    def held_messages(self) -> Any:
        return self.holding.values()

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update({"recorded": self.recorded, "events_sent": self.sent, "unmatched": self.unmatched,
                    "dropped_best_effort": self.dropped, "pending": len(self.holding),
                    "delivery_delay_ms": self.delivery.summary_ms()})
        return out

