"""Elastic Load Balancing target groups: targets, their health checks and states.

A :class:`Target` is one registered instance. Its state follows the target
group's: ``initial`` (registered, waiting for its first check), ``healthy``,
``unhealthy``, ``draining`` (deregistering) and ``unused`` (gone). A newly
registered target needs ONE passing check to become healthy; after that it is
marked unhealthy after ``unhealthy_threshold`` consecutive failures and healthy
again after ``healthy_threshold`` consecutive successes [aws-facts §1].

Each target is checked once per interval, starting at a random phase drawn from
its own stream so checks are not aligned. A check fails when the instance is not
up (stopped, terminated, its AZ down) or its accept queue is full; such a check
gets no answer, so its result is known ``timeout`` seconds after it was sent. A
passing check answers at once. Targets registered at time 0 start healthy (the
system was already in service before the simulated window).

Left out: NLB's distributed, consensus-based checking (targets see more checks
than configured), the HTTP matcher (a running instance always answers 200), and
the load the checks put on the instance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudtwin.services.elb import LoadBalancer

INITIAL, HEALTHY, UNHEALTHY, DRAINING, UNUSED = "initial", "healthy", "unhealthy", "draining", "unused"
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


class Target:
    """One registered instance and its health-check state machine."""

    __slots__ = ("lb", "inst", "zone", "state", "ok", "bad", "outstanding", "then", "routable",
                 "waiters", "served", "registered_at", "via")

    def __init__(self, lb: LoadBalancer, inst: Any, state: str) -> None:
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
        inst = self.inst
        full = inst.full()
        if inst.up and not full:
            self.result(True)
        else:
            lb.engine.timer(lb.timeout).start(self.no_answer)

    def no_answer(self, _: object = None) -> None:
        if self.state in REGISTERED:
            self.result(False)

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
