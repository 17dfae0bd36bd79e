"""A fleet of EC2 instances: what standalone EC2 and Auto Scaling groups share.

The compiled handler, the slot count, instance bookkeeping, the 1-minute
CloudWatch-like CPU metric, and registration with load balancers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component
from cloudtwin.engine import make_sampler
from cloudtwin.handler import CALL, CPU, CStep, compile_steps
from cloudtwin.pricing.meters import PUBLIC_IP, PURCHASE_PREFIX
from cloudtwin.services import cpu_credits, ec2_status
from cloudtwin.services.instance import Instance
from cloudtwin.sizes import instance_vcpus

if TYPE_CHECKING:
    from cloudtwin.context import Context
    from cloudtwin.services.elb import LoadBalancer

EC2_MINIMUM_S: Final = 60.0  # per-second billing with a 60 s minimum [aws-facts §3/§19, third party]


class Fleet(Component):
    """What EC2 and ASG share: the compiled handler, slots, and instance bookkeeping."""

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        vcpus = instance_vcpus(spec.instance_type)
        self.slots: int = spec.workers or vcpus or 2
        self.steps: tuple[CStep, ...] = ()
        self.base_steps: tuple[CStep, ...] = ()
        self.health_base: tuple[CStep, ...] = ()  # what answers an HTTP health check
        self.probe_steps: tuple[CStep, ...] = ()  # the injected faults, then health_base
        self.fault_steps: list[CStep] = []
        self.fast: Any = None
        self.base_fast: Any = None
        self.accepts_bare = False  # can take a request that is only its start time (see build)
        self.lat_buf = self.latency.buffer
        self.instances: list[Instance] = []
        self.launched: list[Instance] = []  # every instance ever, replaced ones included
        self.balancers: list[LoadBalancer] = []
        self.eip = ""  # an Elastic IP the fleet holds (ec2, asg with elastic_ip)
        self.boot = make_sampler(spec.boot_time, ctx.stream(f"{name}.boot"))
        self._session_steps: dict[str, tuple[CStep, ...]] = {}
        self._seq = 0
        self.util_series: list[float] = []
        self.in_service_series: list[float] = []
        self._last_busy: dict[str, float] = {}
        self.instance_hours: dict[str, float] = {}
        self.min_in_service: int | None = None
        self.max_in_service = 0
        self.screens: list[Any] = []  # filters in front of every instance (network ACL, security groups)
        # per filter, in order: (its check, whether the check takes the instance, the filter if
        # replies pass back through it, else None): what each instance's handle asks per request
        # (cloudtwin.guard.through); every instance holds the same tuple
        self.screen_plan: tuple[tuple[Any, bool, Any], ...] = ()
        self.credits = cpu_credits.for_fleet(self)  # None unless a burstable (T) instance type

    def build(self) -> None:
        """Compile the handler once every component exists."""
        self.base_steps = compile_steps(self.spec.handler, self.ctx, self.name)
        one = self.base_steps[0] if len(self.base_steps) == 1 else None
        self.base_fast = one.sample if one is not None and one.kind == CPU else None
        hh = self.spec.health_handler
        # its own random streams, so health checks leave the user requests' draws alone
        self.health_base = compile_steps(self.spec.handler if hh is None else hh, self.ctx, self.name,
                                         "health_handler")
        self._apply_steps()

    def inject(self, step: CStep) -> None:
        """Run a latency or error fault as a step before the handler on every instance, current
        and future, whatever calls the fleet (a workload, a load balancer or another handler)."""
        self.fault_steps.append(step)
        self._apply_steps()

    def eject(self, step: CStep) -> None:
        self.fault_steps.remove(step)
        self._apply_steps()

    def _apply_steps(self) -> None:
        self.steps = tuple(self.fault_steps) + self.base_steps
        self.probe_steps = tuple(self.fault_steps) + self.health_base
        self.fast = None if self.fault_steps else self.base_fast
        for inst in self.instances:
            inst.steps = self.steps
            inst.fast = cpu_credits.scaled(self.fast, inst.speed)

    def session_steps(self, store: Any) -> tuple[CStep, ...]:
        key = store.name
        if key not in self._session_steps:
            st = CStep(CALL)
            st.target = store
            st.op = "session"
            self._session_steps[key] = (st,)
        return self._session_steps[key]

    # ---- load balancer registration ------------------------------------------
    def attach(self, lb: Any) -> None:
        """A load balancer targets this fleet. It is told about instances through
        ``lb.register(inst)`` (in service) and ``lb.deregister(inst, then)`` (leaving
        on purpose; the LB calls ``then()`` once draining ends)."""
        self.balancers.append(lb)
        if self.screens:
            lb.direct = None  # its inline serving (elb_routing._forward) would pass the filters by
        for inst in self.instances:
            if inst.state == "running":
                lb.register(inst)

    def announce(self, inst: Instance) -> None:
        """``inst`` is in service: register it with every attached load balancer."""
        for lb in self.balancers:
            lb.register(inst)

    def withdraw(self, inst: Instance, then: Any) -> None:
        """Deregister ``inst`` from every load balancer, then call ``then()`` once all
        of them have drained it (immediately when none is attached)."""
        pending = [len(self.balancers)]
        if not pending[0]:
            then()
            return

        def one_done() -> None:
            pending[0] -= 1
            if pending[0] == 0:
                then()

        for lb in self.balancers:
            lb.deregister(inst, one_done)

    def new_instance(self, zone: str, *, purchase: str = "on_demand") -> Instance:
        self._seq += 1
        inst = Instance(self, f"{self.name}-{self._seq}", zone, purchase=purchase)
        self.instances.append(inst)
        return inst

    def impair(self, count: int, duration: float | None) -> list[str]:
        """The ``status_check_failure`` fault (:mod:`cloudtwin.services.ec2_status`)."""
        return ec2_status.impair(self, count, duration)

    def screen(self, flt: Any) -> None:
        """Put ``flt`` in front of every instance, present and future (last added: asked last)."""
        self.screens.append(flt)
        per_instance = bool(getattr(flt, "per_instance", False))
        plan = (flt.admit_on if per_instance else flt.admit, per_instance, flt if flt.outbound else None)
        self.screen_plan = (*self.screen_plan, plan)
        for inst in self.launched:
            inst.screen_plan = self.screen_plan
        for lb in self.balancers:
            lb.direct = None  # its inline serving (elb_routing._forward) would pass the filters by

    def in_service(self) -> list[Instance]:
        return [i for i in self.instances if i.up]

    def zones(self) -> list[str]:
        return sorted({i.zone for i in self.instances})

    def zone_outage(self, zone: str, down: bool) -> None:
        for i in self.instances:
            if i.zone == zone:
                i.set_zone(not down)

    def on_minute(self, now: float) -> float:
        """Close one 1-minute period: returns the average CPU utilisation of in-service instances."""
        busy = 0.0
        avail = 0.0
        n = 0
        credits = self.credits
        for i in self.instances:
            if i.state == "running" and i.zone_ok:
                b = i.busy_seconds()
                prev = self._last_busy.get(i.iid, 0.0)
                self._last_busy[i.iid] = b
                start = max(now if i.in_service_at is None else i.in_service_at, now - 60.0)
                # CPUUtilization is work: a held burstable instance's busy time counts at its speed
                busy += b - prev if credits is None else credits.account(i, b - prev, now - start, now)
                avail += i.slots * (now - start)
                n += 1
        if credits is not None:
            credits.close_minute()
        util = busy / avail if avail > 0 else 0.0
        self.util_series.append(round(util, 4))
        self.in_service_series.append(n)
        self.min_in_service = n if self.min_in_service is None else min(self.min_in_service, n)
        self.max_in_service = max(self.max_in_service, n)
        return util

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        util = self.util_series
        out["utilization"] = round(sum(util) / len(util), 4) if util else 0.0
        out["instances"] = {"min": self.min_in_service or 0, "max": self.max_in_service}
        now = self.engine.now
        out["in_system_mean"] = round(self.in_system_seconds() / now, 6) if now > 0 else 0.0
        if self.credits is not None:
            out["cpu_credits"] = self.credits.stats()
        return out

    def in_system_seconds(self) -> float:
        """Integral over the run of the requests in the fleet (queued or in service): ``L * T``."""
        return sum(i.in_system_seconds() for i in self.launched)

    def series(self) -> dict[str, list[float]]:
        out = {"in_service": list(self.in_service_series), "utilization": list(self.util_series)}
        if self.credits is not None:
            out.update(self.credits.series())
        return out

    def latest(self, metric: str) -> float | None:
        s = {"in_service": self.in_service_series, "utilization": self.util_series}.get(metric)
        return float(s[-1]) if s else super().latest(metric)

    def endpoint_zone(self, caller_zone: str) -> str:
        return caller_zone

    # ---- billing ----------------------------------------------------------------
    def usage(self) -> dict[str, float]:
        """Instance-hours from launch until stop or termination, per second with a 60 s minimum
        [aws-facts §3/§19, third party], by purchase option; public IPv4 addresses per IP-hour,
        in use or idle [aws-facts §3]; an Elastic IP for the whole window it is allocated."""
        now = self.engine.now
        out: dict[str, float] = {}
        itype = self.spec.instance_type
        elastic = self.ctx.addresses.elastic
        for inst in self.instances:
            end = inst.ended_at if inst.ended_at is not None else now
            hours = max(end - inst.launched_at, EC2_MINIMUM_S) / 3600.0
            key = f"{PURCHASE_PREFIX.get(inst.purchase, 'BoxUsage')}:{itype}"
            out[key] = out.get(key, 0.0) + hours
            if inst.public_ip and inst.public_ip not in elastic:
                out[PUBLIC_IP] = out.get(PUBLIC_IP, 0.0) + hours
        if self.eip:
            out[PUBLIC_IP] = out.get(PUBLIC_IP, 0.0) + now / 3600.0  # billed while allocated
        if self.credits is not None:
            out.update(self.credits.usage())  # unlimited mode's surplus credits, per vCPU-hour
        return out
