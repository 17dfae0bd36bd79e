"""The base of every live service model, with every hook the run calls declared here.

A component is built from its frozen spec and a :class:`~cloudtwin.context.Context`
(never the whole simulation). The run calls, in this order:

1. ``__init__(name, spec, ctx)`` for every component;
2. :meth:`Component.build` once all exist (resolve references to other components);
3. :meth:`Component.start` just before the clock starts (schedule periodic work);
4. :meth:`Component.handle` for each request, :meth:`Component.push` for each message;
   :meth:`Component.on_minute` at the end of every simulated minute;
5. at the end: :meth:`Component.stats`, :meth:`Component.series`, :meth:`Component.usage`
   and the message hooks (:meth:`Component.held_messages`, :meth:`Component.held_counted`,
   :meth:`Component.message_accounting`) that the conservation checks read.

Every hook has a default that does nothing (or says the component cannot do it), so
a new service overrides only what it models; the defaults cost nothing on the hot path.

Faults reach a component through declared injection points only: :meth:`inject`
and :meth:`eject` for injected latency and errors (``handle`` runs them before
:meth:`serve`), and :meth:`zone_outage`, :meth:`terminate`, :meth:`replace`,
:meth:`spot_interruption`, :meth:`failover`, :meth:`link_down` and :meth:`impair` for the rest.
Filters in front (a web ACL, a security group) run in ``handle`` too, ahead of the faults:
:func:`cloudtwin.guard.install`.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from cloudtwin.errors import FaultNotSupported
from cloudtwin.guard import back_through
from cloudtwin.handler import SCREEN, SLEEP
from cloudtwin.metrics import Histogram
from cloudtwin.native import mypyc_attr
from cloudtwin.request import SERVER_ERROR, Done, Request

if TYPE_CHECKING:
    from cloudtwin.context import Context
    from cloudtwin.engine import Engine
    from cloudtwin.handler import CStep
    from cloudtwin.messaging import Message, MessageFactory

__all__ = ["Component", "FaultNotSupported", "deliver"]


def deliver(job: tuple[Request, Done, str | None]) -> None:
    """Engine callback that answers a request later:
    ``engine.after(delay, deliver, (req, done, err))`` calls ``done(req, err)``."""
    job[1](job[0], job[2])


@mypyc_attr(allow_interpreted_subclasses=True)  # compiled, services outside the build still subclass it
class Component:
    """A live model of one spec component."""

    kind: ClassVar[str] = ""
    needs_client: bool = False  # does serve() use req.client (DNS, cookies)? (a proxy: if its target does)
    needs_caller: ClassVar[bool] = False  # does a handler call pass (key, calling instance, size)? (AZ-bound storage)
    bills_egress: ClassVar[bool] = False  # does it bill its own transfer out (the workload's is not billed)?
    accepts_bare: bool = False  # can a workload send it a bare start time instead of a Request?
    # a load balancer whose handle is plain round robin over one pool (services.elb_routing):
    # a Route 53 alias answer routes to it inline
    rr_only: bool = False

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        self.name = name
        self.spec = spec
        self.ctx = ctx
        self.engine: Engine = ctx.engine
        self.requests: int = 0
        self.errors: int = 0
        self.latency: Histogram = Histogram()
        # what handle() runs before serving: filters in front (SCREEN steps, cloudtwin.guard), then
        # the latency/error faults active now, in the order they began
        self.injected: list[CStep] = []

    # ---- life cycle ------------------------------------------------------------
    def build(self) -> None:
        """Link to other components (``self.ctx.components``) once every component exists."""

    def start(self) -> None:
        """Schedule periodic work (health checks, metrics). Called once before the run."""

    def on_minute(self, now: float) -> object:
        """Close a 1-minute metric period (CloudWatch-like series, scaling inputs)."""
        return None

    def periodic_events_per_second(self) -> float:
        """Events per simulated second this component schedules on its own, whatever the
        traffic (health checks, polling): the run-size guard's estimate."""
        return 0.0

    # ---- requests and messages ---------------------------------------------------
    def handle(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        """The entry every caller uses: filters in front and injected faults first (if any),
        then :meth:`serve`.

        Error faults are decided here, as :meth:`_Faulted.go` decides them (the same draws in
        the same order), without an object per request: one is made only when a latency fault
        must hold the request, and it goes on from that step."""
        inj = self.injected
        if inj:
            for i, st in enumerate(inj):
                k = st.kind
                if k == SCREEN:  # a filter in front (cloudtwin.guard.install; always ahead of the faults)
                    flt: Any = st.target  # a component with the Filter protocol (a web ACL, a security group)
                    err = flt.admit(req)
                    if err is not None:
                        done(req, err)
                        return
                    if flt.outbound:
                        done = partial(back_through, flt, done)
                    continue
                if k == SLEEP:
                    f = _Faulted(self, req, op, done, arg)
                    f.i = i
                    f.go()
                    return
                if st.sample() < st.rate:  # type: ignore[misc]  # a FAIL step
                    self.requests += 1
                    self.errors += 1
                    done(req, st.op or SERVER_ERROR)  # op: an FIS fault's error kind
                    return
        self.serve(req, op, done, arg)

    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        """Serve one request: call ``done(req, None)`` on success or ``done(req, error_kind)``."""
        raise TypeError(f"a {self.kind} cannot be called")  # the reference checks refuse such specs

    def push(self, msg: Message) -> str | None:
        """Take one message from a topic, bus or notification: None if accepted, else an error kind."""
        raise TypeError(f"a {self.kind} does not take messages")  # the reference checks refuse such specs

    def plain_end(self, wl: Any) -> None:
        """Workload ``wl`` sends its requests here, and a success of one is only counted by
        ``wl.complete`` (no session, no stop after a number of requests): a component that ends
        requests itself may count such a success inline (the load balancer's ``_served``)."""

    def producer_arg(self, workload: str, spec: Any) -> MessageFactory | None:
        """What a workload entering here passes with each request (queues and topics: a
        factory of the messages it sends); None: nothing."""
        return None

    # ---- where it is ------------------------------------------------------------------
    def endpoint_zone(self, caller_zone: str) -> str:
        """The AZ a caller in ``caller_zone`` reaches (for hop latency); '' means regional."""
        return ""

    def zones(self) -> list[str]:
        """The AZs this component lives in."""
        return []

    # ---- results ------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """This component's entry under ``components`` in the results."""
        return {
            "type": self.kind,
            "requests": self.requests,
            "errors": self.errors,
            "latency_ms": self.latency.summary_ms(),
        }

    def series(self) -> dict[str, list[float]]:
        """Per-minute series for the report (e.g. ``in_service``, ``utilization``)."""
        return {}

    def latest(self, metric: str) -> float | None:
        """The last closed minute's value of the series ``metric`` (None: no data), for an alarm.
        Components with long series override it to skip copying them."""
        s = self.series().get(metric)
        return s[-1] if s else None

    def usage(self) -> dict[str, float] | None:
        """What it billed so far, ``{usage_type: quantity}`` in the price table's units;
        None: its configured capacity over the window (:mod:`cloudtwin.pricing.meters`)."""
        return None

    def unmeasured(self) -> list[dict[str, Any]]:
        """Usage it could not measure, ``{"usage_type": ..., "reason": ...}`` each (listed in the
        bill, never guessed)."""
        return []

    def usage_notes(self) -> list[str]:
        """How its usage was derived, where the bill should say so."""
        return []

    def held_messages(self) -> Iterable[Message]:
        """The message copies it holds now (queued, in flight, dead-lettered), one object each."""
        return ()

    def held_counted(self) -> int:
        """Copies it holds only as a count (streams keep unread records per second)."""
        return 0

    def message_accounting(self) -> dict[str, int] | None:
        """Its own message totals, for components that count outside the ledger."""
        return None

    # ---- fault injection points ------------------------------------------------------
    def inject(self, step: CStep) -> None:
        """Start an injected ``latency`` (a SLEEP step) or ``errors`` (a FAIL step) fault:
        every request :meth:`handle` takes from now on goes through it first. Components that
        run the step inside their own handler (EC2, ASG, Lambda) override this."""
        self.injected.append(step)

    def eject(self, step: CStep) -> None:
        """End a fault started with :meth:`inject`."""
        self.injected.remove(step)

    def zone_outage(self, zone: str, down: bool) -> None:
        """An AZ went down (``down``) or came back."""

    def terminate(self, count: int, zone: str | None) -> list[str]:
        raise FaultNotSupported(f"{self.kind} {self.name!r} has no instances to terminate")

    def replace(self) -> list[str]:
        raise FaultNotSupported(f"{self.kind} {self.name!r} has no instances to replace")

    def spot_interruption(self, count: int) -> list[str]:
        raise FaultNotSupported(f"{self.kind} {self.name!r} has no spot instances")

    def failover(self) -> list[str]:
        raise FaultNotSupported(f"{self.kind} {self.name!r} cannot fail over")

    def link_down(self, count: int, duration: float | None) -> list[str]:
        """``count`` of its network links fail, for ``duration`` seconds (None: for good)."""
        raise FaultNotSupported(f"{self.kind} {self.name!r} has no network link to fail")

    def impair(self, count: int, duration: float | None) -> list[str]:
        """``count`` instances fail their system status check (for ``duration``, or until fixed)."""
        raise FaultNotSupported(f"{self.kind} {self.name!r} has no instances with status checks")

    def data_loss(self) -> list[str]:
        raise FaultNotSupported(f"{self.kind} {self.name!r} holds no data to lose")


class _Faulted:
    """One request passing through a component's injected faults, in order, then served."""

    __slots__ = ("comp", "req", "op", "done", "arg", "steps", "i")

    def __init__(self, comp: Component, req: Request, op: str, done: Done, arg: Any) -> None:
        self.comp, self.req, self.op, self.done, self.arg = comp, req, op, done, arg
        self.steps = tuple(comp.injected)  # the faults active when it arrived
        self.i = 0

    def go(self, _: object = None) -> None:
        comp = self.comp
        while self.i < len(self.steps):
            st = self.steps[self.i]
            self.i += 1
            if st.kind == SLEEP:
                comp.engine.after(st.sample(), self.go)  # type: ignore[misc]
                return
            if st.sample() < st.rate:  # type: ignore[misc]  # a FAIL step
                comp.requests += 1
                comp.errors += 1
                self.done(self.req, st.op or SERVER_ERROR)  # op: an FIS fault's error kind
                return
        comp.serve(self.req, self.op, self.done, self.arg)
