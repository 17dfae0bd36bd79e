"""Elastic Load Balancing target groups: targets, their health checks and states.

A :class:`Target` is one registered instance. Its state follows the target
group's: ``initial`` (registered, waiting for its first check), ``healthy``,
``unhealthy``, ``draining`` (deregistering) and ``unused`` (gone). A newly
registered target needs ONE passing check to become healthy; after that it is
marked unhealthy after ``unhealthy_threshold`` consecutive failures and healthy
again after ``healthy_threshold`` consecutive successes [aws-facts §1].

Each target is checked once per interval, starting at a random phase drawn from
its own stream so checks are not aligned. An instance that is not up (stopped,
terminated, its AZ down) or whose accept queue is full gives no answer, so the
failure is known ``timeout`` seconds after the check was sent. Otherwise a TCP
check (the NLB default) passes at once, and an HTTP(S) check (the ALB/CLB
default) is a request through the application
(:meth:`cloudtwin.services.instance.Instance.probe`: the fleet's injected faults,
then its ``health_handler``, by default its handler, since the default path ``/``
is the application [aws-facts §1]). It passes when the handler succeeds (200, the
default matcher [aws-facts §1]) before ``timeout``, and fails when the handler
fails (5xx) or is still running at ``timeout``. Checks are not requests: no
workload, LB or fleet counts them; the LB counts them apart (``health_checks``).
Targets registered at time 0 start healthy (the system was already in service
before the simulated window).

Left out: NLB's distributed, consensus-based checking (targets see more checks
than configured), and a configurable matcher (a handler succeeds or fails).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from cloudtwin.request import Request

if TYPE_CHECKING:
    from cloudtwin.services.elb import LoadBalancer
    from cloudtwin.services.instance import Instance

INITIAL: Final = "initial"
HEALTHY: Final = "healthy"
UNHEALTHY: Final = "unhealthy"
DRAINING: Final = "draining"
UNUSED: Final = "unused"
REGISTERED = (INITIAL, HEALTHY, UNHEALTHY)


@dataclass(frozen=True)
class TypeDefaults:
    """What differs between ALB, NLB and CLB when the spec leaves it out."""

    interval: float
    timeout: float
    healthy_threshold: int
    unhealthy_threshold: int
    cross_zone: bool
    stickiness: str  # the stickiness type `stickiness: true` means
    proxy: bool  # targets see the LB's IP (True) or the client's (False)


DEFAULTS = {
    # ALB: 30 s / 5 s / 5 / 2 [aws-facts §1]; cross-zone always on [aws-facts §1]; proxies [aws-facts §1]
    "alb": TypeDefaults(30.0, 5.0, 5, 2, True, "lb_cookie", True),
    # NLB: TCP check 30 s / 10 s / 5 / 2, cross-zone off, source_ip stickiness,
    # client IP preserved for instance targets [aws-facts §1]
    "nlb": TypeDefaults(30.0, 10.0, 5, 2, False, "source_ip", False),
    # CLB: no facts row; ALB-like values (assumption), cross-zone on (assumption), proxies (assumption)
    "clb": TypeDefaults(30.0, 5.0, 5, 2, True, "lb_cookie", True),
}


class _Check:
    """One HTTP health check in flight: the answer or the timeout, whichever comes first."""

    __slots__ = ("t", "live")

    def __init__(self, t: Target) -> None:
        self.t = t
        self.live = True

    def reply(self, req: Request, err: str | None) -> None:
        if self.live:
            self.live = False
            self.t.answered(err is None)

    def expire(self, _: object = None) -> None:
        if self.live:
            self.live = False
            self.t.answered(False)


class Target:
    """One registered instance and its health-check state machine."""

    __slots__ = ("lb", "inst", "zone", "state", "ok", "bad", "outstanding", "then", "routable",
                 "waiters", "served", "registered_at", "via", "group", "slow_until")

    def __init__(self, lb: LoadBalancer, inst: Instance, state: str) -> None:
        self.lb = lb
        self.inst = inst
        self.zone: str = inst.zone
        self.state = state
        self.ok = 0  # consecutive passing checks
        self.bad = 0  # consecutive failing checks
        self.outstanding = 0  # requests forwarded and not yet answered
        self.then: Callable[[], None] | None = None  # deregistration callback
        self.routable = False  # in the pool new requests are spread over
        self.waiters: list[Callable[[], None]] = []  # called once the target is healthy
        self.served = 0  # requests forwarded to this target
        self.registered_at = lb.engine.now
        self.via = lb.node_ip.get(self.zone, "")  # the LB node IP a proxied request comes from
        self.group = lb.group_of.get(id(inst.owner), 0)  # its weighted target group
        self.slow_until = 0.0  # in slow start until then

    @property
    def iid(self) -> str:
        return str(self.inst.iid)

    def start_checks(self) -> None:
        """Schedule the first check at a phase drawn from this target's own stream."""
        lb = self.lb
        phase = float(lb.ctx.stream(f"{lb.name}.health.{self.iid}").random()) * lb.interval
        lb.engine.after(phase, self.check)

    def check(self, _: object = None) -> None:
        if self.state not in REGISTERED:
            return  # draining and unused targets are not checked any more
        lb = self.lb
        lb.engine.timer(lb.interval).start(self.check)
        lb.checks_sent += 1
        inst = self.inst
        if not inst.up or inst.full():
            lb.engine.timer(lb.timeout).start(self.no_answer)  # no connection: nothing answers
        elif not lb.http:
            self.result(True)  # a TCP check passes once the connection is accepted
        else:
            req = Request(lb.engine.now, None, None)
            if lb.proxy:
                req.via = self.via  # it comes from the LB node's IP
            c = _Check(self)
            lb.engine.timer(lb.timeout).start(c.expire)
            inst.probe(req, c.reply)

    def no_answer(self, _: object = None) -> None:
        if self.state in REGISTERED:
            self.lb.checks_failed += 1
            self.result(False)

    def answered(self, passed: bool) -> None:
        """An HTTP check's outcome: the handler succeeded (200, in the default matcher), or it
        failed (a 5xx) or did not answer within the timeout."""
        if self.state in REGISTERED:
            if not passed:
                self.lb.checks_failed += 1
            self.result(passed)

    def result(self, passed: bool) -> None:
        lb = self.lb
        if passed:
            self.bad = 0
            self.ok += 1
            if self.state == INITIAL or (self.state == UNHEALTHY and self.ok >= lb.healthy_threshold):
                self.become(HEALTHY)
        else:
            self.ok = 0
            self.bad += 1
            if self.state != UNHEALTHY and self.bad >= lb.unhealthy_threshold:
                self.become(UNHEALTHY)

    def become(self, state: str) -> None:
        old = self.state
        self.state = state
        lb = self.lb
        if lb.slow_start:
            self.slow_until = 0.0  # an unhealthy target leaves slow start [aws-facts §1]
            now = lb.engine.now
            # a newly healthy target ramps up, if a healthy target not in slow start exists [aws-facts §1]
            if state == HEALTHY and any(t.state == HEALTHY and t.slow_until <= now and t is not self
                                        and t.group == self.group for t in lb.targets.values()):
                self.slow_until = now + lb.slow_start
        lb.ctx.event("health", f"{lb.name}: target {self.iid} {old} -> {state}", component=lb.name,
                     target=self.iid, state=state)
        lb.rebuild()
        if state == HEALTHY and self.waiters:
            waiters, self.waiters = self.waiters, []
            for fn in waiters:
                fn()

    # ---- deregistration -------------------------------------------------------
    def drain(self, then: Callable[[], None]) -> None:
        """Stop new requests; finish when in-flight requests end or the delay expires."""
        self.then = then
        self.state = DRAINING
        lb = self.lb
        lb.ctx.event("health", f"{lb.name}: target {self.iid} draining ({self.outstanding} in flight)",
                     component=lb.name, target=self.iid, state=DRAINING)
        lb.rebuild()
        if self.outstanding == 0:
            self.finish()  # completes immediately with nothing in flight [aws-facts §1]
        else:
            lb.engine.after(lb.spec.deregistration_delay, self._delay_over)

    def _delay_over(self, _: object = None) -> None:
        if self.state == DRAINING:
            self.finish()

    def finish(self) -> None:
        """Draining ends: the target is unused and the deregistration callback runs."""
        self.state = UNUSED
        lb = self.lb
        lb.forget(self)
        lb.ctx.event("health", f"{lb.name}: target {self.iid} unused", component=lb.name,
                     target=self.iid, state=UNUSED)
        then, self.then = self.then, None
        if then is not None:
            then()
