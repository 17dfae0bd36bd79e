"""EC2: standalone instances.

The :class:`EC2` component is one or more instances, in service from the start.
Stopping and starting one (the ``replace`` fault) gives it a new ephemeral public
IPv4 unless it has an Elastic IP [aws-facts §3]; behind load balancers the
replacement is rolling and graceful. Terminating one is final. The instance model
itself is in :mod:`cloudtwin.services.instance`, the shared fleet logic in
:mod:`cloudtwin.services.fleet`.

``call: <ec2>.associate_address`` (from a Lambda function, say) moves the component's
Elastic IP, its own or the one named by ``takes_elastic_ip``, to its first running
instance (:mod:`cloudtwin.services.eip`); the call answers once the move took effect,
and fails ``server_error`` when no instance is running (``IncorrectInstanceState``).
Status checks, recover and reboot: :mod:`cloudtwin.services.ec2_status`.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from cloudtwin.request import SERVER_ERROR, Request
from cloudtwin.services import eip as eips
from cloudtwin.services.fleet import Fleet
from cloudtwin.services.instance import COOKIE_LIMIT, Instance
from cloudtwin.spec.ec2 import EC2 as EC2Spec

if TYPE_CHECKING:
    from cloudtwin.context import Context

__all__ = ["COOKIE_LIMIT", "EC2", "Fleet", "Instance"]

class EC2(Fleet):
    """Standalone instances (``count`` of them), in service from the start."""
    # what an instance sets, as slots: past 29 attributes in its __dict__ every access slows
    # (tests/test_attribute_layout.py); the base's __dict__ takes the rest (the handle _bind binds)
    __slots__ = ('name', 'spec', 'ctx', 'engine', 'requests', 'errors', 'latency', 'injected', 'slots', 'steps',
                 'base_steps', 'health_base', 'probe_steps', 'fault_steps', 'fast', 'base_fast', 'lat_buf',
                 'instances', 'launched', 'balancers', 'eip', 'boot', '_session_steps', '_seq', 'util_series',
                 'in_service_series', '_last_busy', 'instance_hours', 'min_in_service', 'max_in_service',
                 'screens', 'screen_plan', 'credits', 'rr', 'bound', '_roll', '_roll_new', 'address',
                 'associations')

    kind = "ec2"

    def __init__(self, name: str, spec: EC2Spec, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        zones = spec.zones or [ctx.arch.zones[0]]
        self.rr = 0
        self.bound: Instance | None = None  # the one instance callers reach directly (_bind)
        self.eip = ctx.addresses.allocate(elastic=True) if spec.elastic_ip else ""
        self._roll: list[Instance] = []  # a rolling replacement's queue (head: in progress)
        self._roll_new: Instance | None = None
        self.address = self.eip  # the Elastic IP associate_address moves here (own, or taken over)
        self.associations = 0
        for k in range(spec.count):
            inst = self.new_instance(zones[k % len(zones)], purchase=spec.purchase)
            inst.running()
            self._assign_ip(inst)
        self._bind()

    def build(self) -> None:
        super().build()
        if self.spec.takes_elastic_ip:
            other = self.ctx.components[self.spec.takes_elastic_ip]
            assert isinstance(other, Fleet)  # spec.ec2.check: an ec2 with elastic_ip
            self.address = other.eip
        # With a one-cpu-step handler nothing downstream reads the request, so a workload
        # may send it bare (its start time); the instance's fast path takes either form.
        self.accepts_bare = self.fast is not None

    def _bind(self) -> None:
        """With one instance whose address does not move, callers reach it directly: ``bound``,
        and (where the object takes attributes of its own: not a compiled class) ``handle`` bound
        to the instance's, one call frame less per request. Its filters run in its own handle."""
        movable = self.spec.elastic_ip or self.spec.takes_elastic_ip  # serves associate_address
        if len(self.instances) == 1 and not movable:
            self.bound = self.instances[0]
            own = getattr(self, "__dict__", None)
            if own is not None:
                own["handle"] = self.bound.handle

    def _assign_ip(self, inst: Instance) -> None:
        if self.eip and inst is self.instances[0] and eips.holder(self.ctx, self.eip) in (None, inst):
            eips.bind(self.ctx, self.eip, inst)  # not when a standby has taken it over meanwhile
        elif self.spec.public_ip:
            inst.public_ip = self.ctx.addresses.allocate()
            self.ctx.addresses.bind(inst.public_ip, inst)

    def handle(self, req: Any, op: str, done: Any, arg: Any = None) -> None:
        if op == "associate_address":
            self._associate(req, done)
            return
        live = self.instances
        n = len(live)
        if n == 1:
            live[0].handle(req, op, done, arg)
            return
        self.rr = (self.rr + 1) % n
        live[self.rr].handle(req, op, done, arg)

    def _associate(self, req: Request, done: Any) -> None:
        """``AssociateAddress`` (AllowReassociation) of this component's Elastic IP to its first running instance."""
        self.requests += 1
        target = next((i for i in self.instances if i.state == "running"), None)
        if target is None or not self.address:
            self.errors += 1
            done(req, SERVER_ERROR)
            return
        self.associations += 1
        eips.associate(self.ctx, self.address, target, f"associate_address on {self.name}", lambda: done(req, None))

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        if self.associations:
            out["address_associations"] = self.associations
        return out

    def current(self) -> list[Instance]:
        return self.instances

    def terminate(self, count: int, zone: str | None) -> list[str]:
        out = []
        for inst in [i for i in self.instances if i.state != "terminated" and (zone is None or i.zone == zone)][:count]:
            inst.kill("terminated")
            out.append(f"terminated {inst.iid}")
        return out

    def replace(self) -> list[str]:
        """Stop and start: down for the boot time, back with a new public IP unless an EIP.

        Behind load balancers the instances go one at a time: deregister and drain,
        stop/start, register, and once every balancer reports the new instance healthy,
        the next. Without balancers every instance is stopped and started at once."""
        live = [i for i in self.instances if i.state in ("running", "pending")]
        if self.balancers:
            queued = not self._roll
            self._roll.extend(live)
            if queued:
                self._roll_next()
            names = ", ".join(lb.name for lb in self.balancers)
            return [f"rolling stop/start of {len(live)} instance(s) behind {names}, one at a time"]
        out = [self._stop_start(old)[0] for old in live]
        self._bind()
        return out

    def _stop_start(self, old: Instance) -> tuple[str, Instance]:
        k = self.instances.index(old)
        old.kill("stopped")
        self._seq += 1
        new = Instance(self, f"{self.name}-{self._seq}", old.zone, purchase=old.purchase)
        self.instances[k] = new
        delay = self.boot()
        self.engine.after(delay, self._started, new)
        return f"stop/start {old.iid} (back in {delay:.0f}s as {new.iid})", new

    def stop(self, count: int, zone: str | None, start_after: float | None) -> list[str]:
        """FIS ``aws:ec2:stop-instances``: ``count`` running instances (in ``zone``) stop at once; with
        ``start_after`` each starts again that long later and boots, with a new public IP unless it
        has an Elastic IP [aws-facts §3]; without, it stays stopped."""
        out = []
        for old in [i for i in self.instances if i.state == "running" and (zone is None or i.zone == zone)][:count]:
            old.kill("stopped")
            if start_after is None:
                out.append(f"stopped {old.iid}")
                continue
            self._seq += 1
            new = Instance(self, f"{self.name}-{self._seq}", old.zone, purchase=old.purchase)
            self.instances[self.instances.index(old)] = new
            delay = start_after + self.boot()
            self.engine.after(delay, self._started, new)
            out.append(f"stopped {old.iid} (started after {start_after:.0f}s, back in {delay:.0f}s as {new.iid})")
        self._bind()
        return out

    def _roll_next(self) -> None:
        """Take the next instance of a rolling replacement out of service."""
        while self._roll:
            old = self._roll[0]
            if old.state in ("running", "pending") and old in self.instances:
                self.ctx.event("lifecycle", f"{old.iid} deregistering before stop/start")
                self.withdraw(old, partial(self._rolled_out, old))
                return
            self._roll.pop(0)

    def _rolled_out(self, old: Instance) -> None:
        note, self._roll_new = self._stop_start(old)
        self._bind()
        self.ctx.event("lifecycle", note)

    def _started(self, inst: Instance) -> None:
        if inst.state != "pending":
            return  # stopped or terminated while it was booting
        inst.running()
        self._assign_ip(inst)
        self.announce(inst)
        self.ctx.event("lifecycle", f"{inst.iid} running, public IP {inst.public_ip or 'none'}")
        if self._roll and inst is self._roll_new:
            pending = [len(self.balancers)]

            def one_healthy() -> None:
                pending[0] -= 1
                if pending[0] == 0:
                    self._roll.pop(0)
                    self._roll_next()

            for lb in self.balancers:
                lb.when_healthy(inst, one_healthy)

    def spot_interruption(self, count: int) -> list[str]:
        spot = [i for i in self.instances if i.purchase == "spot" and i.state == "running"][:count]
        if not spot:
            return super().spot_interruption(count)
        for i in spot:
            self.engine.after(120.0, _terminate, i)  # 2-minute notice [aws-facts §3]
        return [f"spot interruption notice for {i.iid} (terminates in 120 s)" for i in spot]


def _terminate(inst: Instance) -> None:
    inst.kill("terminated")
