"""EC2 Auto Scaling group: capacity, AZ balance, health replacement, spot and faults.

What is modelled
----------------
* **Capacity** min/desired/max. The initial ``desired`` instances are already in
  service at t=0, spread round-robin over ``zones`` (default: the spec's zones).
  A launch is ``Pending`` for a boot time drawn from ``boot_time`` and then goes
  ``InService`` and is announced to attached load balancers.
* **AZ balance, purchase mix, scaling policies**: see
  :mod:`cloudtwin.services.asg_scaling`. **Faults** (terminate, replace, spot
  interruption): see :mod:`cloudtwin.services.asg_faults`.
* **Health checks** every ``HEALTH_PERIOD`` s (assumption; no facts row) on
  in-service instances once the grace period has passed since they went in
  service [aws-facts §2 grace period]: EC2 status (not running, or its AZ
  impaired) always, the load balancers' view ("unhealthy", not "initial") only
  with ``health_check.type: elb`` [aws-facts §2 health-check type]. An unhealthy
  instance is deregistered and terminated, and a replacement launched at once.
* **AZ outage.** Instances in the dead AZ fail their status check and are replaced
  in the AZs left; launches into a dead AZ fail and are retried each health check.
  When the AZ is back, AZ rebalancing launches in the emptiest AZ before
  terminating in the fullest, exceeding max by at most ``max(1, 10 %)``
  [aws-facts §2 AZ rebalancing].
* **Launch before terminate** (rebalancing, replacement, capacity rebalance): the
  old instance keeps serving until its replacement is in service and healthy in
  every attached load balancer, then it is deregistered, drained and terminated.
* ``elastic_ip``: user data moves the group's one Elastic IP to the newest
  in-service instance (with ``instance_role``), or a launch lifecycle hook does; lifecycle
  hooks: :mod:`cloudtwin.services.asg_hooks`.
* ``status_check_failure``: an impaired instance fails its EC2 status check
  (:mod:`cloudtwin.services.ec2_status`) and is replaced at the next health check.

As a workload entry the group spreads requests round-robin over in-service
instances, skipping ones that are down (an ideal balancer that knows health
instantly). Left out: warm pools, instance refresh settings,
launch failures other than a dead AZ, scale-in protection, and instance types of
a mixed-instances policy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.request import UNAVAILABLE, Request
from cloudtwin.services.asg_faults import Disruptions
from cloudtwin.services.asg_hooks import Hooks
from cloudtwin.services.asg_scaling import (
    COUNTED,
    GONE,
    IN_SERVICE,
    LEAVING,
    PENDING,
    TERMINATING,
    Scaler,
    balanced_zone,
    next_purchase,
    purchase_targets,
    termination_victim,
)
from cloudtwin.services.fleet import Fleet
from cloudtwin.services.instance import Instance
from cloudtwin.spec.asg import ASG as ASGSpec

if TYPE_CHECKING:
    from cloudtwin.context import Context

HEALTH_PERIOD: Final = 10.0  # assumption: how often the group checks instance health (no facts row)
DRAIN_POLL: Final = 1.0  # without a load balancer, wait for in-flight requests this often...
DRAIN_MAX: Final = 30.0  # ...for at most this long (assumption)


class ASG(Fleet):
    """An Auto Scaling group of EC2 instances."""
    # what an instance sets, as slots: past 29 attributes in its __dict__ every access slows
    # (tests/test_attribute_layout.py); the base's __dict__ takes the rest
    __slots__ = ('name', 'spec', 'ctx', 'engine', 'requests', 'errors', 'latency', 'injected', 'slots', 'steps',
                 'base_steps', 'health_base', 'probe_steps', 'fault_steps', 'fast', 'base_fast', 'lat_buf',
                 'instances', 'launched', 'balancers', 'eip', 'boot', '_session_steps', '_seq', 'util_series',
                 'in_service_series', '_last_busy', 'instance_hours', 'min_in_service', 'max_in_service',
                 'screens', 'screen_plan', 'credits', 'zone_list', 'min_size', 'desired', 'max_size', 'members',
                 'live', 'rr', 'scaler', 'random', 'phase', 'launches', 'terminations', 'launch_blocked',
                 'no_capacity', 'disruptions', 'hooks', 'desired_series')

    kind = "asg"

    def __init__(self, name: str, spec: ASGSpec, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.zone_list: list[str] = list(spec.zones or ctx.arch.zones)
        cap = spec.capacity
        self.min_size, self.desired, self.max_size = cap.min, cap.start, cap.top
        self.members: list[Instance] = []  # not yet gone
        self.live: list[Instance] = []  # serving: InService or Leaving
        self.rr = -1
        self.scaler = Scaler(self, spec.scaling)
        self.random = uniform_sampler(ctx.stream(f"{name}.termination"))
        self.phase = uniform_sampler(ctx.stream(f"{name}.health"))() * HEALTH_PERIOD
        self.eip = ctx.addresses.allocate(elastic=True) if spec.elastic_ip else ""
        self.launches = 0
        self.terminations = 0
        self.launch_blocked = False
        self.no_capacity: dict[str, int] = {}  # zones where launches fail (an FIS capacity-error action)
        self.disruptions = Disruptions(self)
        self.hooks = Hooks(self)
        self.desired_series: list[int] = []
        for k in range(self.desired):
            inst = self._new(self.zone_list[k % len(self.zone_list)], self._pick_purchase())
            inst.running()
            inst.meta["warm_at"] = -math.inf  # running before the simulation starts
            self._in_service(inst, initial=True)
        self.note()

    def start(self) -> None:
        self.engine.every(HEALTH_PERIOD, self._tick, start=self.phase)
        self.scaler.start()

    def periodic_events_per_second(self) -> float:
        return 1.0 / HEALTH_PERIOD

    def zones(self) -> list[str]:
        return list(self.zone_list)

    # ---- serving as an entry ----------------------------------------------------------
    def handle(self, req: Request, op: str, done: Any, arg: Any = None) -> None:
        live = self.live
        n = len(live)
        for _ in range(n):
            self.rr = (self.rr + 1) % n
            inst = live[self.rr]
            if inst.up:
                inst.handle(req, op, done, arg)
                return
        self.requests += 1
        self.errors += 1
        done(req, UNAVAILABLE)

    # ---- membership ---------------------------------------------------------------------
    def _new(self, zone: str, purchase: str) -> Instance:
        inst = self.new_instance(zone, purchase=purchase)
        inst.meta["life"] = PENDING
        self.members.append(inst)
        return inst

    def _counted(self) -> list[Instance]:
        return [m for m in self.members if m.meta["life"] in COUNTED]

    def warming(self, now: float) -> int:
        """Instances pending or still inside their warm-up."""
        return sum(1 for m in self._counted()
                   if m.meta["life"] == PENDING or m.meta.get("warm_at", math.inf) > now)

    def _targets(self) -> dict[str, int]:
        return purchase_targets(self.spec.purchase, self.desired)

    def _pick_purchase(self) -> str:
        return next_purchase(self._counted(), self._targets())

    def _launch(self, *, replaces: Instance | None = None, purchase: str | None = None) -> Instance | None:
        zone = balanced_zone([z for z in self.zone_list if self._launchable(z)], self._counted())
        if zone is None:
            if not self.launch_blocked:
                self.launch_blocked = True
                down = ", ".join(z for z in self.zone_list if not self.ctx.zone_up(z))
                self.ctx.event("lifecycle", f"{self.name}: launch failed, no available AZ ({down} impaired); "
                               f"retrying every {HEALTH_PERIOD:g} s")
            return None
        self.launch_blocked = False
        inst = self._new(zone, purchase or self._pick_purchase())
        if replaces is not None:
            inst.meta["replaces"] = replaces
            replaces.meta["replaced_by"] = inst
        self.launches += 1
        self.engine.after(self.boot(), self._booted, inst)
        self.hooks.launched(inst)
        return inst

    def _launchable(self, zone: str) -> bool:
        return self.ctx.zone_up(zone) and not self.no_capacity.get(zone)

    def block_launches(self, zones: list[str]) -> Callable[[], None]:
        """FIS ``aws:ec2:asg-insufficient-instance-capacity-error``: the group's launches in ``zones``
        fail with InsufficientInstanceCapacity, so it launches in its other zones, until the
        returned function is called."""
        for z in zones:
            self.no_capacity[z] = self.no_capacity.get(z, 0) + 1

        def release() -> None:
            for z in zones:
                self.no_capacity[z] -= 1

        return release

    def launch_replacement(self, old: Instance, purchase: str | None = None) -> Instance | None:
        """Launch before terminating: ``old`` keeps serving, uncounted, until ``new`` is healthy."""
        old.meta["life"] = LEAVING
        new = self._launch(replaces=old, purchase=purchase)
        if new is None:
            old.meta["life"] = IN_SERVICE
        return new

    def _booted(self, inst: Instance) -> None:
        if inst.meta["life"] != PENDING:
            return  # terminated while pending
        if self.hooks.holds(inst):
            return  # in Pending:Wait until its launching hooks complete
        if not inst.zone_ok:
            self.ctx.event("lifecycle", f"{inst.iid}: launch failed, zone {inst.zone} impaired")
            self._gone(inst)
            self._reconcile()
            return
        inst.running()
        inst.meta["life"] = IN_SERVICE
        inst.meta["warm_at"] = self.engine.now + self.scaler.warmup
        self._in_service(inst)
        self.announce(inst)
        self.note()
        wait = self.engine.now - inst.launched_at
        self.ctx.event("lifecycle", f"{inst.iid} in service ({inst.zone}, {inst.purchase}, after {wait:.0f} s)")
        self.scaler.done(inst)
        if inst.meta.get("replaces") is not None:
            self._when_healthy(inst, lambda: self._replaced(inst))

    def _when_healthy(self, inst: Instance, then: Callable[[], None]) -> None:
        """``then()`` once every attached load balancer that can tell reports ``inst`` healthy."""
        lbs = list(self.balancers)
        pending = [len(lbs)]
        if not lbs:
            then()
            return

        def one() -> None:
            pending[0] -= 1
            if pending[0] == 0:
                then()

        for lb in lbs:
            lb.when_healthy(inst, one)

    def _replaced(self, inst: Instance) -> None:
        """A replacement passed its health checks: the instance it replaces leaves (drained)."""
        old = inst.meta.pop("replaces", None)
        if old is not None and old.meta.get("replaced_by") is inst:
            del old.meta["replaced_by"]
            if old.meta["life"] == LEAVING:
                self.ctx.event("lifecycle", f"{inst.iid} healthy: terminating {old.iid} ({old.zone})")
                self.retire(old)

    def _in_service(self, inst: Instance, *, initial: bool = False) -> None:
        inst.meta["life"] = IN_SERVICE
        self.live.append(inst)
        self.hooks.in_service(inst, initial=initial)

    def retire(self, inst: Instance) -> None:
        """Take ``inst`` out of the group: deregister and drain, then terminate."""
        life = inst.meta["life"]
        if life in (TERMINATING, GONE):
            return
        self.terminations += 1
        inst.meta["life"] = TERMINATING
        if inst in self.live:
            self.live.remove(inst)
        if life == PENDING:  # never registered anywhere
            self._gone(inst)
        else:
            self.withdraw(inst, lambda: self._drained(inst, 0.0))

    def _drained(self, inst: Instance, waited: float) -> None:
        if inst.active and inst.state == "running" and waited < DRAIN_MAX:
            self.engine.after(DRAIN_POLL, lambda _: self._drained(inst, waited + DRAIN_POLL))
            return
        self.hooks.leaving(inst, lambda: self._gone(inst))

    def _gone(self, inst: Instance) -> None:
        if inst.state != "terminated":
            inst.kill("terminated")
        inst.meta["life"] = GONE
        self.members.remove(inst)
        if inst in self.live:
            self.live.remove(inst)
        old = inst.meta.pop("replaces", None)
        if old is not None and old.meta.get("replaced_by") is inst:
            del old.meta["replaced_by"]  # the replacement died first: the old one stays
            if old.meta["life"] == LEAVING:
                old.meta["life"] = IN_SERVICE
                nxt = old.meta.pop("on_gone", None)
                if nxt is not None:
                    nxt()
        self.note()
        self.scaler.done(inst)
        then = inst.meta.pop("on_gone", None)
        if then is not None:
            then()

    def note(self) -> None:
        """Track the in-service range between minute samples too (outages dip briefly)."""
        n = sum(1 for m in self.members if m.up)
        self.min_in_service = n if self.min_in_service is None else min(self.min_in_service, n)
        self.max_in_service = max(self.max_in_service, n)

    # ---- desired capacity -------------------------------------------------------------------
    def set_desired(self, new: int, reason: str, *, always: bool = False) -> list[Instance]:
        """Set desired (clamped to [min, max]); returns the instances launched or retired."""
        new = min(max(new, self.min_size), self.max_size)
        old = self.desired
        if new == old and not always:
            return []
        self.desired = new
        self.ctx.event("scaling", f"{self.name} {old} -> {new} ({reason})")
        return self._reconcile()

    def _reconcile(self) -> list[Instance]:
        counted = self._counted()
        changed: list[Instance] = []
        if len(counted) < self.desired:
            for _ in range(self.desired - len(counted)):
                inst = self._launch()
                if inst is None:
                    break
                changed.append(inst)
            if changed:
                self.ctx.event("lifecycle", "launching " + ", ".join(f"{i.iid} ({i.zone})" for i in changed))
        elif len(counted) > self.desired:
            for _ in range(len(counted) - self.desired):
                victim = self._victim(counted)
                counted.remove(victim)
                changed.append(victim)
            self.ctx.event("lifecycle", "terminating " + ", ".join(f"{i.iid} ({i.zone})" for i in changed))
            for v in changed:
                self.retire(v)
        return changed

    def _victim(self, pool: list[Instance]) -> Instance:
        victim: Instance = termination_victim(pool, self.zone_list, self._targets(), self.engine.now, self.random)
        return victim

    # ---- periodic health check and AZ rebalancing -------------------------------------------------
    def _tick(self, now: float) -> None:
        grace = self.spec.health_check.grace_period
        elb = self.spec.health_check.type == "elb"
        bad: list[tuple[Instance, str]] = []
        for m in self.members:
            if m.meta["life"] not in (IN_SERVICE, LEAVING):
                continue
            if m.in_service_at is not None and now - m.in_service_at < grace:
                continue
            why = self._unhealthy(m, elb)
            if why:
                bad.append((m, why))
        if bad:
            by_why: dict[str, list[str]] = {}
            for m, why in bad:
                by_why.setdefault(why, []).append(m.iid)
            self.ctx.event("lifecycle", "; ".join(f"{', '.join(ids)} unhealthy ({why})" for why, ids in by_why.items())
                           + ": terminating and replacing")
            for m, _ in bad:
                self.retire(m)
        self._reconcile()
        self._rebalance()

    def _unhealthy(self, m: Instance, elb: bool) -> str:
        if m.state != "running":
            return f"EC2 status: {m.state}"
        if not m.zone_ok:
            return f"EC2 status check failed, zone {m.zone} impaired"
        if m.meta.get("impaired") == "system":
            return "EC2 system status check failed"
        if elb:
            for lb in self.balancers:  # only an explicit "unhealthy" counts, not "initial"
                if lb.target_state(m) == "unhealthy":
                    return f"ELB health check failed ({lb.name})"
        return ""

    def _rebalance(self) -> None:
        """Even out AZs, launching before terminating, within max + max(1, 10 %) [aws-facts §2]."""
        up = [z for z in self.zone_list if self._launchable(z)]
        if len(up) < 2:
            return
        counts = dict.fromkeys(up, 0)
        counted = self._counted()
        for m in counted:
            if m.zone in counts:
                counts[m.zone] += 1
        headroom = self.max_size + max(1, self.max_size // 10) - len(self.members)
        moves: list[tuple[Instance, Instance]] = []
        while headroom > 0:
            hi = max(up, key=lambda z: counts[z])
            lo = min(up, key=lambda z: counts[z])
            if counts[hi] - counts[lo] <= 1:
                break
            pool = [m for m in counted if m.zone == hi and m.meta["life"] == IN_SERVICE]
            if not pool:
                break
            old = self._victim(pool)
            counted.remove(old)
            new = self.launch_replacement(old)
            if new is None:
                break
            moves.append((old, new))
            counts[hi] -= 1
            counts[new.zone] += 1
            headroom -= 1
        if moves:
            self.ctx.event("lifecycle", "AZ rebalance: " + ", ".join(
                f"launching {n.iid} ({n.zone}) before terminating {o.iid} ({o.zone})" for o, n in moves))

    # ---- metrics --------------------------------------------------------------------------------------
    def on_minute(self, now: float) -> float:
        busy = avail = 0.0
        n_warm = 0
        for i in self.members:
            if (i.meta["life"] in (IN_SERVICE, LEAVING) and i.state == "running" and i.zone_ok
                    and i.meta.get("warm_at", math.inf) <= now):
                b = i.busy_seconds()
                start = max(now if i.in_service_at is None else i.in_service_at, now - 60.0)
                busy += (b - self._last_busy.get(i.iid, 0.0)) * i.speed  # work (cpu_credits: held)
                avail += i.slots * (now - start)
                n_warm += 1
        util = super().on_minute(now)  # updates the per-instance busy marks read above
        self.desired_series.append(self.desired)
        self.scaler.minute(now, busy / avail if avail > 0 else None, n_warm, util)
        return util

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update(desired=self.desired, launched=self.launches, terminated=self.terminations)
        if self.spec.lifecycle_hooks:
            out["lifecycle_hooks"] = self.hooks.stats()
        return out

    def series(self) -> dict[str, list[float]]:
        out = super().series()
        out["desired"] = [float(d) for d in self.desired_series]
        return out

    # ---- faults -----------------------------------------------------------------------------------------
    def zone_outage(self, zone: str, down: bool) -> None:
        super().zone_outage(zone, down)
        self.note()

    def terminate(self, count: int, zone: str | None) -> list[str]:
        return self.disruptions.terminate(count, zone)

    def replace(self) -> list[str]:
        return self.disruptions.replace()

    def spot_interruption(self, count: int) -> list[str]:
        return self.disruptions.spot_interruption(count)
