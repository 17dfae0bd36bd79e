"""S3, only as far as event-driven blueprints need it: PutObject that emits an "Object Created" event.

What is modelled
----------------
* ``put`` (PutObject: a workload whose entry is the bucket, or ``call: <bucket>.put``):
  the object's size is the message's ``size``; each call takes a draw of ``latency``.
  Above 3,500 PUTs per second the bucket answers ``throttled`` (503 Slow Down) [aws-facts
  §12 Request rate], taken here as one prefix (assumption). A ``get`` takes a ``latency``
  draw and emits nothing.
* With ``events: <bus>`` (EventBridge notifications on), a successful PUT publishes one
  event to the bus a draw of ``event_delay`` later (assumption): ``source: aws.s3``,
  ``detail-type: Object Created``, ``detail.bucket.name`` (the component's name),
  ``detail.object.size``, plus the producer's message attributes (a name without a dot
  goes under ``detail``). An upload whose event no rule of the bus matches publishes no
  message (``events_unmatched`` counts it); one that matches is a message copy from the PUT
  on, held here until the bus takes it.

Left out on purpose (the data issue builds the full S3 model): storage and its bill,
GETs of stored objects, consistency, versioning, multipart uploads, per-prefix
partitioning, direct notifications to SQS/SNS/Lambda, and S3 request prices.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler, stream
from cloudtwin.messaging import Message, MessageFactory, ledger_of, producer_arg
from cloudtwin.request import REJECTED, THROTTLED, Done, Request
from cloudtwin.services import register
from cloudtwin.services.eventbridge import event_attrs

if TYPE_CHECKING:
    from cloudtwin.simulation import Simulation

PUT_TPS = 3_500.0  # per partitioned prefix [aws-facts §12 Request rate]
BURST = 1.0  # assumption: one second's worth of requests may arrive at once
MAX_PUT = 5e9  # bytes in a single PUT [aws-facts §12 Object size]
EVENT_SIZE = 1024.0  # bytes of an "Object Created" event (metadata only; assumption)


@register("s3")
class S3(Component):
    """One bucket: PUTs and their EventBridge events."""

    kind = "s3"

    def __init__(self, name: str, spec: Any, sim: Simulation) -> None:
        super().__init__(name, spec, sim)
        self.ledger = ledger_of(sim)
        self.lat = make_sampler(spec.latency, stream(sim.seed, f"{name}.latency"))
        self.edelay = make_sampler(spec.event_delay, stream(sim.seed, f"{name}.events"))
        self.factory = MessageFactory(None, sim.seed, f"{name}.message")
        self.base = {"source": "aws.s3", "detail-type": "Object Created", "detail.bucket.name": name}
        self.bus: Any = None
        self.holding: dict[int, Message] = {}
        self._tat = 0.0
        self.puts = self.gets = self.throttled = self.rejected = self.events = self.unmatched = 0
        self.bytes_in = 0.0

    def build(self) -> None:
        if self.spec.events is not None:
            self.bus = self.sim.components[self.spec.events]

    def producer_arg(self, workload: str, spec: Any) -> MessageFactory:
        """What a workload entering here passes with each request (see WorkloadRun)."""
        return producer_arg(self, workload, spec)

    def handle(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        self.requests += 1
        err = None
        if op == "get":
            self.gets += 1
        else:
            factory = arg if isinstance(arg, MessageFactory) else self.factory
            err = self._put(factory)
        if err is not None:
            self.errors += 1
        lat = self.lat()
        self.latency.record(lat)
        self.engine.after(lat, deliver, (req, done, err))

    def _put(self, factory: MessageFactory) -> str | None:
        if factory.size > MAX_PUT:
            self.rejected += 1
            return REJECTED
        now = self.engine.now
        tat = max(now, self._tat)
        if tat - now > BURST:
            self.throttled += 1
            return THROTTLED
        self._tat = tat + 1.0 / PUT_TPS
        self.puts += 1
        self.bytes_in += factory.size
        if self.bus is not None:
            attrs, group = factory.draw()
            ev = event_attrs(self.base, attrs)
            ev["detail.object.size"] = factory.size
            if self.bus.matching(ev):
                msg = self.ledger.new(now, EVENT_SIZE, ev, group)
                self.holding[msg.mid] = msg
                self.engine.after(self.edelay(), self._emit, msg)
            else:
                self.unmatched += 1
        return None

    def _emit(self, msg: Message) -> None:
        del self.holding[msg.mid]
        self.events += 1
        if self.bus.push(msg) is not None:
            self.ledger.lose(msg, "s3_event_refused")

    def held_messages(self) -> Any:
        return self.holding.values()

    def usage(self) -> dict[str, float]:
        # unpriced here: S3 request prices come with the data issue's S3 model
        out = {"Requests-Tier1": float(self.puts), "Requests-Tier2": float(self.gets)}
        return {k: v for k, v in out.items() if v}

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update({"puts": self.puts, "gets": self.gets, "throttled": self.throttled, "rejected": self.rejected,
                    "events_sent": self.events, "events_unmatched": self.unmatched,
                    "events_pending": len(self.holding), "bytes_in": self.bytes_in})
        return out

