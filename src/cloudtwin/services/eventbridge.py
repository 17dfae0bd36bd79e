"""EventBridge: an event bus with rules (event patterns or schedules), targets, retries and DLQs.

What is modelled
----------------
* Events in: PutEvents (a workload whose entry is the bus, or a handler's ``call: <bus>.put``)
  and events from AWS services (:meth:`EventBridge.push`: S3, CloudTrail). An event is a
  message whose attributes are its fields (``source``, ``detail-type``, ``detail.<name>``).
  PutEvents above 10,000/s in us-east-1 (2,400/s in us-east-2) is ``throttled``
  [aws-facts §8 PutEvents throttle]; an event above 1 MB is ``rejected`` [aws-facts §8
  Event size, CHANGED]. Service events are not subject to the PutEvents quota.
* Rules: an event pattern (the safe subset of :mod:`cloudtwin.spec.eventbridge`) or a schedule,
  ``rate(...)`` or ``cron(...)`` in UTC with a 1-minute minimum, whose targets start a
  draw of ``schedule_delay`` late ("several seconds" [aws-facts §8 Scheduled rules]).
  Every target of every matching rule gets its own copy of the event (at most 5 targets
  per rule [aws-facts §8]); an event that matches no rule publishes nothing (``unmatched``).
* Targets: ``sqs`` (the queue takes the copy), ``sns`` (a publish), ``lambda`` (an
  asynchronous invoke: the function then retries on its own) and ``ecs`` (RunTask: a
  one-off task per event). The first attempt comes a draw of ``delivery_latency`` after
  the event arrived. Invocations above 18,750/s are delayed, not dropped
  [aws-facts §8 Invocation throttle].
* Retries [aws-facts §8 Default retry policy]: a failed attempt (``throttled``,
  ``unavailable``, ``server_error``, ``timeout``) is retried up to ``max_retries`` (185)
  times while the event is younger than ``max_event_age`` (24 h), with exponential backoff
  and jitter: retry *k* waits ``min(2^(k-1) s, 10 min) x uniform(0.5, 1)`` (the base, the
  cap and the jitter are assumptions; the default policy then spends about 22 h on 185
  attempts). A ``rejected`` attempt is non-retriable and goes straight to the target's DLQ
  [aws-facts §8 DLQ]. With no DLQ an event that runs out is lost, counted under
  ``eventbridge_retries_exhausted``, ``eventbridge_max_event_age`` or
  ``eventbridge_non_retriable``; a DLQ that refuses it gives ``eventbridge_dlq_refused``.
* EventBridge is regional: an AZ outage does not touch it (assumption).

Left out: archives and replay, input transformers, cross-account buses, API destinations,
other target types, the 300-rules quota beyond validation, and event buses' own billing
(no sourced price).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler
from cloudtwin.engine.resources import RateLimiter
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.messaging import Message, MessageFactory, Pattern, ledger_of, producer_arg
from cloudtwin.metrics import Histogram
from cloudtwin.request import REJECTED, THROTTLED, Done, Request
from cloudtwin.spec.eventbridge import TOP_LEVEL
from cloudtwin.spec.schedule import parse_schedule

if TYPE_CHECKING:
    from cloudtwin.context import Context

MAX_EVENT_SIZE: Final = 1_048_576  # bytes [aws-facts §8 Event size, CHANGED]
PUT_EVENTS_TPS = {"us-east-1": 10_000.0, "us-east-2": 2_400.0}  # [aws-facts §8 PutEvents throttle]
PUT_EVENTS_OTHER: Final = 2_400.0  # assumption: "other Regions vary"; the smaller documented figure
INVOCATIONS_TPS: Final = 18_750.0  # us-east-1 [aws-facts §8 Invocation throttle]; other Regions: assumption
BURST: Final = 1.0  # assumption: one second's worth of calls may arrive at once
BACKOFF_BASE: Final = 1.0  # assumption: exponential backoff from 1 s, at most 10 min
BACKOFF_CAP: Final = 600.0
SCHEDULED_SIZE: Final = 256.0  # bytes of a "Scheduled Event" (assumption; only billing-irrelevant size)
CUSTOM = {"source": "custom.app", "detail-type": "Custom Event"}  # PutEvents without them (assumption)


def event_attrs(base: dict[str, Any], attrs: dict[str, Any] | None) -> dict[str, Any]:
    """An event's fields: ``base`` plus a producer's attributes, where a name without a dot that is
    not a top-level field (``source``, ``detail-type`` ...) goes under ``detail``."""
    out = dict(base)
    if attrs:
        for k, v in attrs.items():
            field = _FIELDS.get(k)
            if field is None:
                field = _FIELDS[k] = k if ("." in k or k in TOP_LEVEL) else f"detail.{k}"
            out[field] = v
    return out


_FIELDS: dict[str, str] = {}  # attribute name -> event field (event_attrs); the names a spec gives


class _Target:
    """One target of one rule, with its counters."""

    __slots__ = ("rule", "comp", "kind", "dlq", "max_retries", "max_age", "invocations", "delivered", "failed",
                 "retries", "dead", "lost", "latency", "attempts")

    def __init__(self, rule: _Rule, spec: Any, comps: dict[str, Any]) -> None:
        self.rule = rule
        self.comp = comps[spec.target]
        self.kind: str = self.comp.kind
        self.dlq = comps[spec.dlq] if spec.dlq else None
        self.max_retries: int = spec.retry_policy.max_retries
        self.max_age: float = spec.retry_policy.max_event_age
        self.invocations = self.delivered = self.failed = self.retries = self.dead = self.lost = 0
        self.latency = Histogram()  # event time to the target's acceptance
        self.attempts: dict[int, int] = {}  # attempts a delivered copy needed

    def stats(self) -> dict[str, Any]:
        return {"target": self.comp.name, "kind": self.kind, "invocations": self.invocations,
                "delivered": self.delivered, "failed_invocations": self.failed, "retries": self.retries,
                "dead_lettered": self.dead, "lost": self.lost, "delivery_ms": self.latency.summary_ms(),
                "attempts": {str(k): v for k, v in sorted(self.attempts.items())}}


class _Rule:
    __slots__ = ("name", "match", "schedule", "targets", "matched", "fired", "lateness")

    def __init__(self, spec: Any) -> None:
        self.name: str = spec.name
        self.match = Pattern(spec.pattern) if spec.pattern is not None else None
        self.schedule = parse_schedule(spec.schedule) if spec.schedule else None
        self.targets: list[_Target] = []
        self.matched = self.fired = 0
        self.lateness = Histogram()  # scheduled time to the first attempt

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "targets": [t.stats() for t in self.targets]}
        if self.schedule is not None:
            out.update({"schedule": self.schedule.text, "fired": self.fired,
                        "start_delay_ms": self.lateness.summary_ms()})
        else:
            out["matched"] = self.matched
        return out


class _Delivery:
    """One copy of an event on its way to one target."""

    __slots__ = ("bus", "tgt", "msg", "attempts", "t_in", "slotted")

    def __init__(self, bus: EventBridge, tgt: _Target, msg: Message, t_in: float) -> None:
        self.bus, self.tgt, self.msg, self.t_in = bus, tgt, msg, t_in
        self.attempts = 0
        self.slotted = False  # holds a reserved invocation slot

    def attempt(self, _: object = None) -> None:
        bus, tgt = self.bus, self.tgt
        if self.slotted:
            self.slotted = False
        else:
            when = bus.invocation_slot()
            if when > bus.engine.now:  # over the invocation throttle: delayed, not dropped
                bus.delayed += 1
                self.slotted = True
                bus.engine.at(when, self.attempt)
                return
        self.attempts += 1
        tgt.invocations += 1
        if tgt.kind == "ecs":
            tgt.comp.handle(Request(bus.engine.now, None, None), "run_task", self.reply, self.msg)
        else:
            self.result(tgt.comp.push(self.msg))

    def reply(self, req: Request, err: str | None) -> None:
        self.result(err)

    def result(self, err: str | None) -> None:
        bus, tgt = self.bus, self.tgt
        if err is None:
            del bus.pending[self.msg.mid]
            tgt.delivered += 1
            tgt.latency.record(bus.engine.now - self.msg.t0)
            tgt.attempts[self.attempts] = tgt.attempts.get(self.attempts, 0) + 1
            return
        tgt.failed += 1
        if err == REJECTED:
            bus.give_up(self, "non_retriable")
            return
        k = self.attempts  # retry number k is about to be scheduled
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** (k - 1)) * (0.5 + 0.5 * bus.jitter())
        if k > tgt.max_retries:
            bus.give_up(self, "retries_exhausted")
        elif bus.engine.now + delay - self.t_in > tgt.max_age:
            bus.give_up(self, "max_event_age")
        else:
            tgt.retries += 1
            bus.engine.after(delay, self.attempt)


class EventBridge(Component):
    """One event bus and its rules."""

    kind = "eventbridge"

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.ledger = ledger_of(ctx)
        self.lat = make_sampler(spec.latency, ctx.stream(f"{name}.latency"))
        self.dlat = make_sampler(spec.delivery_latency, ctx.stream(f"{name}.delivery"))
        self.sdelay = make_sampler(spec.schedule_delay, ctx.stream(f"{name}.schedule"))
        self.jitter = uniform_sampler(ctx.stream(f"{name}.jitter"))
        self.factory = MessageFactory(None, ctx.seed, f"{name}.message")
        region = ctx.arch.region
        self.put_limit: float = spec.put_events_limit or PUT_EVENTS_TPS.get(region, PUT_EVENTS_OTHER)
        self.inv_limit: float = spec.invocation_limit or INVOCATIONS_TPS
        self._puts = RateLimiter(self.put_limit, BURST)
        self._invocations = RateLimiter(self.inv_limit, BURST)
        self.rules: list[_Rule] = []
        self.pending: dict[int, _Delivery] = {}
        self.put_events = self.throttled = self.rejected = self.unmatched = self.service_events = 0
        self.delayed = 0

    def build(self) -> None:
        comps = self.ctx.components
        for rs in self.spec.rules:
            rule = _Rule(rs)
            rule.targets = [_Target(rule, t, comps) for t in rs.targets]
            self.rules.append(rule)

    def start(self) -> None:
        for rule in self.rules:
            if rule.schedule is not None:
                self._arm(rule)

    def producer_arg(self, workload: str, spec: Any) -> MessageFactory:
        """What a workload entering here passes with each request (see WorkloadRun)."""
        return producer_arg(self, workload, spec)

    # ---- events in ------------------------------------------------------------
    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        """PutEvents (one event) from a workload or a handler's ``call: <bus>.put``."""
        self.requests += 1
        factory = arg if isinstance(arg, MessageFactory) else self.factory
        err = None
        if factory.size > MAX_EVENT_SIZE:
            if not self.rejected:
                self.ctx.event("messages", f"eventbridge {self.name}: rejected a {factory.size:,.0f}-byte event; "
                               f"the limit is {MAX_EVENT_SIZE:,} bytes")
            self.rejected += 1
            err = REJECTED
        elif not self._put_ok():
            self.throttled += 1
            err = THROTTLED
        else:
            self.put_events += 1
            attrs, group = factory.draw()
            self._route(None, self.engine.now, factory.size, event_attrs(CUSTOM, attrs), group)
        if err is not None:
            self.errors += 1
        lat = self.lat()
        self.latency.record(lat)
        self.engine.after(lat, deliver, (req, done, err))

    def _put_ok(self) -> bool:
        return self._puts.try_take(self.engine.now)

    def matching(self, attrs: dict[str, Any]) -> int:
        """How many target copies an event with ``attrs`` would make (a service asks before sending)."""
        n = 0
        for r in self.rules:
            if r.match is not None and r.match(attrs):
                n += len(r.targets)
        return n

    def push(self, msg: Message) -> str | None:
        """An event from an AWS service (S3, CloudTrail): it becomes the first matching target's copy."""
        if msg.size > MAX_EVENT_SIZE:
            self.rejected += 1
            return REJECTED
        self.service_events += 1
        self._route(msg, msg.t0, msg.size, msg.attrs, msg.group)
        return None

    def _route(self, incoming: Message | None, t0: float, size: float, attrs: Any, group: Any) -> None:
        now = self.engine.now
        first = True
        for rule in self.rules:
            if rule.match is None or not rule.match(attrs):
                continue
            rule.matched += 1
            for tgt in rule.targets:
                m = incoming if first and incoming is not None else self.ledger.new(t0, size, attrs, group)
                first = False
                self._deliver(tgt, m, now, now + self.dlat())
        if first:
            self.unmatched += 1
            if incoming is not None:
                self.ledger.lose(incoming, "eventbridge_no_rule_matched")

    def _deliver(self, tgt: _Target, msg: Message, t_in: float, at: float) -> None:
        d = _Delivery(self, tgt, msg, t_in)
        self.pending[msg.mid] = d
        self.engine.at(at, d.attempt)

    # ---- schedules -------------------------------------------------------------
    def _arm(self, rule: _Rule) -> None:
        assert rule.schedule is not None
        t = rule.schedule.next_after(self.engine.now)
        if t is not None:
            self.engine.at(t, self._fire, rule)

    def _fire(self, rule: _Rule) -> None:
        now = self.engine.now
        rule.fired += 1
        late = self.sdelay()
        rule.lateness.record(late)
        attrs = {"source": "aws.events", "detail-type": "Scheduled Event", "resources": rule.name}
        for tgt in rule.targets:
            self._deliver(tgt, self.ledger.new(now, SCHEDULED_SIZE, attrs), now, now + late)
        self._arm(rule)

    # ---- outcomes -----------------------------------------------------------------
    def invocation_slot(self) -> float:
        """Reserve the next target invocation: when it may start (the invocation throttle delays it)."""
        return self._invocations.take_at(self.engine.now)

    def give_up(self, d: _Delivery, why: str) -> None:
        del self.pending[d.msg.mid]
        tgt = d.tgt
        if not (tgt.dead or tgt.lost):
            where = f"dead-letter queue {tgt.dlq.name}" if tgt.dlq is not None else "nowhere (no DLQ): lost"
            self.ctx.event("messages", f"eventbridge {self.name}: rule {tgt.rule.name} gave up on an event for "
                           f"{tgt.comp.name} after {d.attempts} attempt(s) ({why.replace('_', ' ')}); it goes to "
                           f"{where}")
        if tgt.dlq is not None:
            if tgt.dlq.take_dead(d.msg, keep_enqueue_time=False) is None:
                tgt.dead += 1
                return
            why = "dlq_refused"
        tgt.lost += 1
        self.ledger.lose(d.msg, f"eventbridge_{why}")

    # ---- metrics --------------------------------------------------------------------
    def held_messages(self) -> Any:
        return [d.msg for d in self.pending.values()]

    def periodic_events_per_second(self) -> float:
        out = 0.0
        for r in self.rules:
            if r.schedule is not None and r.schedule.period is not None:
                out += 3.0 * len(r.targets) / r.schedule.period
        return out

    def usage(self) -> dict[str, float]:
        # custom events put (prices.csv: us-east-1 only)
        return {"EventBridge-Events": float(self.put_events)} if self.put_events else {}

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update({"put_events": self.put_events, "service_events": self.service_events,
                    "throttled": self.throttled, "rejected": self.rejected, "unmatched": self.unmatched,
                    "pending": len(self.pending), "delayed_invocations": self.delayed,
                    "rules": [r.stats() for r in self.rules]})
        return out

