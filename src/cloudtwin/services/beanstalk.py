"""Elastic Beanstalk: an environment made of ordinary components, and its deployments.

An environment builds its parts as live components of the existing types and adds
them to the run under dotted names, so the results (components, series, bill) show
what it is made of:

* **load-balanced web** (``environment_type: load_balanced``): ``<env>.cname`` (the
  environment URL, a record aliasing the load balancer, TTL ``cname_ttl``),
  ``<env>.alb`` and ``<env>.asg``. With a ``traffic_splitting`` deployment the ALB
  has a second, weighted target group ``<env>.asg-b`` (the temporary group; the two
  groups swap roles after each split). With a ``blue_green`` deployment a clone,
  ``<env>.green.alb`` and ``<env>.green.asg``, exists with no instances until the
  deployment launches them.
* **single-instance web**: ``<env>.cname`` (an A record on the Elastic IP) and
  ``<env>.instance``, one EC2 instance with an Elastic IP and no load balancer.
* **worker**: ``<env>.asg`` and its queue ``<env>.queue``; each instance's daemon
  long-polls the queue and POSTs every message to the application on the instance
  (:mod:`cloudtwin.services.beanstalk_worker`).

A workload enters the environment (its URL, so each client's DNS cache counts);
the environment counts what it answered, which is what a deployment's "failed
requests" are taken from. Deployments are scheduled events of the scenario, run by
:mod:`cloudtwin.services.beanstalk_deploy`; each one's outcome (downtime, minimum
capacity, failed requests, extra instance-hours) is under the environment's
``deployments`` in the results, and on the timeline.

Elastic Beanstalk itself is free; the parts bill as themselves, except the CNAME,
which lives in AWS's own elasticbeanstalk.com zone. Left out: the application and
version objects as such (a version is a label on instances), scaling triggers,
enhanced health, managed platform updates, rollbacks, and CloudFormation export.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component
from cloudtwin.metrics import BATCH
from cloudtwin.pricing.meters import PUBLIC_IP
from cloudtwin.request import Request
from cloudtwin.services.asg import ASG
from cloudtwin.services.ec2 import EC2
from cloudtwin.services.elb import ALB
from cloudtwin.services.route53 import Route53
from cloudtwin.spec.asg import ASG as ASGSpec
from cloudtwin.spec.asg import Capacity
from cloudtwin.spec.beanstalk import Beanstalk as BeanstalkSpec
from cloudtwin.spec.beanstalk import policy_of
from cloudtwin.spec.ec2 import EC2 as EC2Spec
from cloudtwin.spec.elb import LoadBalancer as LBSpec
from cloudtwin.spec.route53 import Route53 as Route53Spec

if TYPE_CHECKING:
    from cloudtwin.context import Context
    from cloudtwin.services.beanstalk_deploy import Deploy

_COMPUTE_KEYS = ("instance_type", "workers", "backlog", "boot_time", "handler", "health_handler", "mounts")
# the environment's default process health check (assumption: Elastic Beanstalk's process defaults)
HEALTH = {"interval": 15.0, "healthy_threshold": 3, "unhealthy_threshold": 5, "timeout": 5.0}


class EnvCNAME(Route53):
    """The environment URL: a record in AWS's elasticbeanstalk.com zone, not billed to the user."""

    def usage(self) -> dict[str, float]:
        return {}


class EnvALB(ALB):
    """The environment's load balancer; a clone's is billed only while it exists (its few
    attributes of its own sit in the ``__dict__`` beside :class:`LoadBalancer`'s slots)."""

    provisioned_from: float | None = 0.0  # None: not created yet
    provisioned_s = 0.0  # seconds billed before the current period

    def alive_hours(self) -> float:
        now = self.engine.now
        live = now - self.provisioned_from if self.provisioned_from is not None else 0.0
        return (self.provisioned_s + live) / 3600.0

    def provision(self, on: bool) -> None:
        now = self.engine.now
        if on and self.provisioned_from is None:
            self.provisioned_from = now
        elif not on and self.provisioned_from is not None:
            self.provisioned_s += now - self.provisioned_from
            self.provisioned_from = None

    def usage(self) -> dict[str, float]:
        u = super().usage()
        now = self.engine.now
        share = self.alive_hours() * 3600.0 / now if now > 0 else 0.0
        for k in list(u):
            if k.startswith("LoadBalancerUsage") or k == PUBLIC_IP:
                u[k] *= share
        return u


class _Answer:
    """One request through the environment: counts its outcome. Made only by
    :meth:`Beanstalk.handle`, every field set there (no ``__init__``: a class call costs a frame)."""

    __slots__ = ("env", "done", "t_in")
    env: Beanstalk
    done: Any
    t_in: float

    def reply(self, req: Request, err: str | None) -> None:
        """Count the outcome, then the caller's ``done``; a success of the workload registered
        with the environment (:meth:`Beanstalk.plain_end`) is counted here as
        :meth:`WorkloadRun._complete <cloudtwin.workloads.WorkloadRun._complete>` counts it
        (one frame fewer; keep in step with it)."""
        env = self.env
        if err is None:
            now = env.engine.now
            b = env.lat_buf  # env.latency.record(...), inlined
            b.append(now - self.t_in)
            if len(b) >= BATCH:
                env.latency.flush()
            done = self.done
            if done is env.end_done and not req.finished:
                wl = env.end_wl
                req.finished = True
                wl.succeeded += 1
                b = wl.lat_buf
                b.append(now - req.t0)
                if len(b) >= BATCH:
                    wl.minute_hist.flush()
            else:
                done(req, None)
        else:
            env.errors += 1
            self.done(req, err)


_new: Final = _Answer.__new__  # object.__new__ interpreted; compiled, the class's own (no __init__ to run)


class Beanstalk(Component):
    """An Elastic Beanstalk environment."""

    kind = "beanstalk"
    needs_client = True  # clients resolve the environment URL and cache the answer

    def __init__(self, name: str, spec: BeanstalkSpec, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.lat_buf = self.latency.buffer
        self.end_wl: Any = None  # the first workload whose plain successes _Answer.reply counts
        self.end_done: Any = None  # its `complete`
        self.version = spec.version
        self.parts: dict[str, Component] = {}
        self.groups: list[ASG] = []  # [active, standby]: the ALB's target groups (standby: traffic splitting)
        self.pairs: list[tuple[EnvALB, ASG]] = []  # blue and green environments (blue/green)
        self.front: Component | None = None  # what a request enters: the CNAME record
        self.single: EC2 | None = None
        self.cname: EnvCNAME | None = None
        self.queue: Any = None
        self.daemons: Any = None
        self.runs: list[Deploy] = []
        policies = {policy_of(spec, d) for d in spec.deployments}
        zones = list(spec.zones or ctx.arch.zones)
        host = f"{name}.{ctx.arch.region}.elasticbeanstalk.com"
        if spec.environment_type == "single_instance":
            self.single = self.add_part("instance", EC2, self._compute(EC2Spec.model_validate(
                {"type": "ec2", "elastic_ip": True, "zones": zones[:1]})))
            self.cname = self.add_part("cname", EnvCNAME, self._record(host, "a", f"{name}.instance"))
            self.front = self.cname
            return
        cap = spec.capacity
        asg = self._asg("asg", cap)
        self.groups.append(asg)
        if spec.tier == "worker":
            from cloudtwin.services.beanstalk_worker import worker_parts

            self.queue, self.daemons = worker_parts(self, asg)
            return
        targets = [asg.name]
        if "traffic_splitting" in policies:
            self.groups.append(self._asg("asg-b", Capacity(min=0, desired=0, max=cap.top)))
            targets.append(f"{name}.asg-b")
        lb = self.add_part("alb", EnvALB, self._lb(targets))
        self.pairs.append((lb, asg))
        if "blue_green" in policies:
            green = self._asg("green.asg", Capacity(min=0, desired=0, max=cap.top))
            glb = self.add_part("green.alb", EnvALB, self._lb([green.name]))
            glb.provisioned_from = None
            self.pairs.append((glb, green))
        self.cname = self.add_part("cname", EnvCNAME, self._record(host, "alias", f"{name}.alb"))
        self.front = self.cname

    # ---- parts -------------------------------------------------------------------
    def add_part(self, part: str, cls: type[Any], spec: Any) -> Any:
        """Build part ``part`` of the environment as a component of the run, ``<env>.<part>``."""
        full = f"{self.name}.{part}"
        comp = cls(full, spec, self.ctx)
        self.ctx.components[full] = comp
        self.parts[part] = comp
        return comp

    def _compute(self, base: Any) -> Any:
        return base.model_copy(update={k: getattr(self.spec, k) for k in _COMPUTE_KEYS})

    def _asg(self, part: str, cap: Capacity) -> ASG:
        spec = self._compute(ASGSpec.model_validate({"type": "asg"})).model_copy(
            update={"capacity": cap, "zones": self.spec.zones})
        asg: ASG = self.add_part(part, ASG, spec)
        for inst in asg.members:
            inst.meta["version"] = self.version
        return asg

    def _lb(self, targets: list[str]) -> LBSpec:
        base = LBSpec.model_validate({"type": "alb", "targets": "x", "health_check": HEALTH,
                                      "deregistration_delay": self.spec.deregistration_delay})
        # with a standby group (traffic splitting), all traffic goes to the active one until a split
        weights = {t: int(k == 0) for k, t in enumerate(targets)} if len(targets) > 1 else None
        return base.model_copy(update={"targets": targets, "weights": weights})

    def _record(self, host: str, kind: str, target: str) -> Route53Spec:
        rec: dict[str, Any] = {"name": host, kind: "x"}
        if kind == "a":
            rec["ttl"] = self.spec.cname_ttl
        spec = Route53Spec.model_validate({"type": "route53", "records": [rec]})
        return spec.model_copy(update={"records": [spec.records[0].model_copy(update={kind: target})]})

    def build(self) -> None:
        if self.single is not None:
            for inst in self.single.instances:
                inst.meta["version"] = self.version
        if self.cname is not None and self.pairs:
            self.cname.records[0].ttl = self.spec.cname_ttl  # a CNAME's own TTL, not an alias's

    def start(self) -> None:
        from cloudtwin.services.beanstalk_deploy import Deploy

        if self.daemons is not None:
            self.daemons.start()
        for i, d in enumerate(self.spec.deployments):
            run = Deploy(self, d, i)
            self.runs.append(run)
            self.engine.at(d.at, run.begin)

    # ---- serving -----------------------------------------------------------------
    def serve(self, req: Request, op: str, done: Any, arg: Any = None) -> None:
        """Serve a request whose injected faults (if any) have passed: :meth:`handle` without them."""
        self.handle(req, op, done, arg, False)

    def handle(self, req: Request, op: str, done: Any, arg: Any = None, faults: bool = True) -> None:
        """The entry every caller uses, :meth:`Component.handle` with the serve body inline (one
        frame fewer per request): injected faults first (``faults``; :meth:`serve` passes False
        once they have passed), then the request goes to the queue (a worker environment) or the
        environment URL, with an :class:`_Answer` made as ``_new(_Answer)`` with its fields set
        here (no Python ``__init__`` frame)."""
        if faults and self.injected:
            Component.handle(self, req, op, done, arg)
            return
        self.requests += 1
        a = _new(_Answer)
        a.env, a.done, a.t_in = self, done, self.engine.now
        if self.queue is not None:  # a worker environment: the request is a SendMessage to its queue
            self.queue.handle(req, "send", a.reply, arg)
            return
        assert self.front is not None
        self.front.handle(req, "", a.reply, arg)

    def plain_end(self, wl: Any) -> None:
        """The first such workload (:meth:`Component.plain_end`): its successes are counted in
        :meth:`_Answer.reply`."""
        if self.end_done is None:
            self.end_wl, self.end_done = wl, wl.complete

    def producer_arg(self, workload: str, spec: Any) -> Any:
        return self.queue.producer_arg(workload, spec) if self.queue is not None else None

    def zones(self) -> list[str]:
        return sorted({z for p in self.parts.values() for z in p.zones()})

    # ---- what it is made of, and how much serves -----------------------------------
    def fleets(self) -> list[Any]:
        if self.single is not None:
            return [self.single]
        out: list[Any] = list(self.groups)
        out.extend(g for _, g in self.pairs[1:])
        return out

    def capacity(self) -> int:
        """Instances that take traffic now: up, and routable by a load balancer still reached."""
        if self.single is not None:
            return sum(1 for i in self.single.instances if i.up)
        if not self.pairs:  # worker: every instance whose application is up
            return sum(1 for g in self.groups for m in g.members if m.up)
        n = 0
        for lb, _ in self.pairs:
            if lb.provisioned_from is None:
                continue
            n += sum(1 for t in lb.targets.values() if t.routable and t.inst.up
                     and (lb.weights is None or lb.weights[t.group] > 0))
        return n

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out["tier"] = self.spec.tier
        out["environment_type"] = self.spec.environment_type
        out["version"] = self.version
        out["made_of"] = {part: comp.name for part, comp in self.parts.items()}
        out["made_of_types"] = {comp.name: comp.kind for comp in self.parts.values()}
        out["deployments"] = [r.outcome() for r in self.runs]
        if self.daemons is not None:
            out["daemon"] = self.daemons.stats()
        return out

    def usage(self) -> dict[str, float]:
        return {}  # Elastic Beanstalk is free: its parts bill as themselves

    def periodic_events_per_second(self) -> float:
        n = len(self.spec.deployments) / 3600.0  # a 1 s watch while each deploys (about an hour at most)
        if self.daemons is not None:
            from cloudtwin.services.beanstalk_worker import DAEMON_CHECK, HTTP_CONNECTIONS, LONG_POLL

            n += 1.0 / DAEMON_CHECK + self.spec.capacity.top * HTTP_CONNECTIONS / LONG_POLL
        return n
