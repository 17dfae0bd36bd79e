"""EC2: instances with worker slots, an accept queue, boot time and public IPs.

An :class:`Instance` serves requests by running its owner's compiled handler.
It has ``slots`` workers (the instance type's vCPUs, or ``workers:``); a ``cpu``
step holds one for the drawn time and otherwise waits in a FIFO accept queue of
at most ``backlog`` entries, past which the connection is refused
(``unavailable``). Busy slot-seconds are integrated exactly, so utilisation is
busy time over available time, as CloudWatch's CPUUtilization averages it.

The :class:`EC2` component is one or more standalone instances. Stopping and
starting one (the ``replace`` fault) gives it a new ephemeral public IPv4 unless
it has an Elastic IP [aws-facts §3]; terminating one is final.

Left out: CPU credits of burstable types, EBS-optimised bandwidth, ENA limits,
and the fact that an in-service request on a killed instance fails at the end
of its current CPU step rather than at the instant of the kill.
"""

from __future__ import annotations

from collections import deque
from functools import partial
from heapq import heappush
from typing import TYPE_CHECKING, Any

from cloudtwin.catalog import instance_vcpus
from cloudtwin.component import Component
from cloudtwin.engine import make_sampler, stream
from cloudtwin.handler import CALL, CPU, CStep, Run, compile_steps
from cloudtwin.metrics import BATCH
from cloudtwin.request import SESSION_LOST, UNAVAILABLE, Request
from cloudtwin.services import register
from cloudtwin.spec.components import EC2 as EC2Spec

if TYPE_CHECKING:
    from cloudtwin.simulation import Simulation

COOKIE_LIMIT = 4096  # bytes a browser keeps per cookie


class Instance:
    """One EC2 instance: worker slots, an accept queue and its addresses."""

    __slots__ = (
        "sim", "engine", "owner", "iid", "zone", "slots", "busy", "queue", "backlog", "state",
        "zone_ok", "public_ip", "steps", "launched_at", "in_service_at", "bacc",
        "active", "purchase", "cpu_done", "fast", "fast_done", "meta", "hot", "ended_at", "occ", "live",
    )

    def __init__(self, owner: Any, iid: str, zone: str, *, purchase: str = "on_demand") -> None:
        sim = owner.sim
        self.sim = sim
        self.engine = sim.engine
        self.owner = owner
        self.iid = iid
        self.zone = zone
        self.slots: int = owner.slots
        self.backlog: int = owner.spec.backlog
        self.steps: tuple[CStep, ...] = owner.steps
        self.busy = 0
        self.queue: deque[tuple[Any, Any, float]] = deque()  # (callback, job, cpu seconds)
        self.state = "pending"  # pending | running | stopped | terminated
        self.zone_ok = sim.zone_up(zone)
        self.live = False  # running and its zone up: the one flag the hot path reads
        self.public_ip = ""
        self.launched_at = self.engine.now
        self.in_service_at: float | None = None
        self.ended_at: float | None = None  # when it stopped or terminated (billing ends)
        self.bacc = 0.0  # slot end times minus start times: busy slot-seconds = bacc + busy * now
        self.active = 0
        self.occ = 0.0  # exit times minus entry times: in-system seconds = occ + active * now
        owner.launched.append(self)
        self.purchase = purchase
        self.cpu_done = self._cpu_done
        self.hot = sim.engine.hot()
        self.fast_done = self._fast_done
        self.fast = owner.fast  # the sampler when the handler is a single cpu step
        self.meta: dict[str, Any] = {}

    # ---- lifecycle ----------------------------------------------------------
    @property
    def up(self) -> bool:
        return self.live

    def running(self) -> None:
        """Boot finished: the instance serves from now on."""
        if self.state == "pending":
            self.state = "running"
            self.live = self.zone_ok
            self.in_service_at = self.engine.now

    def kill(self, state: str = "terminated") -> None:
        """Stop serving now: queued work is refused, in-service work fails."""
        self.state = state
        self.live = False
        self.ended_at = self.engine.now
        self._drop_queue()
        if self.public_ip:
            self.sim.release_ip(self.public_ip, self)

    def set_zone(self, ok: bool) -> None:
        self.zone_ok = ok
        self.live = ok and self.state == "running"
        if not ok:
            self._drop_queue()

    def _drop_queue(self) -> None:
        q = self.queue
        while q:
            cb, job, _ = q.popleft()
            if cb is self.fast_done:
                self.active -= 1
                self.occ += self.engine.now
                self.owner.requests += 1
                self.owner.errors += 1
                job[1](job[0], UNAVAILABLE)
            else:
                self.finish(job, UNAVAILABLE)

    # ---- serving ------------------------------------------------------------
    def handle(self, req: Any, op: str, done: Any, arg: Any = None) -> None:
        """Serve ``req`` (a :class:`Request`, or a bare start time from a simple workload)."""
        if not self.live:
            done(req, UNAVAILABLE)
            return
        s = None if req.__class__ is float else req.session  # a bare request is its start time
        if s is None and self.fast is not None:
            # Fast path for a handler that is one cpu step: no Run object at all.
            self.active += 1
            seconds = self.fast()
            now = self.engine.now
            self.occ -= now
            job = (req, done, now)
            if self.busy < self.slots:
                self.bacc -= now
                self.busy += 1
                heap, seq = self.hot
                heappush(heap, (now + seconds, next(seq), self.fast_done, job))
            elif len(self.queue) < self.backlog:
                self.queue.append((self.fast_done, job, seconds))
            else:
                self.active -= 1
                self.occ += now
                self.owner.requests += 1
                self.owner.errors += 1
                done(req, UNAVAILABLE)
            return
        steps = self.steps
        if s is not None and s.has_state:
            mode = s.mode
            if (mode == "instance" and s.home is not self) or (mode == "cookie" and not s.cookie_ok):
                self.owner.requests += 1
                self.owner.errors += 1
                done(req, SESSION_LOST)
                return
        if s is not None and s.mode == "elasticache":
            steps = self.owner.session_steps(s.store) + steps
        self.active += 1
        self.occ -= self.engine.now
        Run(self, req, done, steps, self.engine.now).advance()

    def cpu(self, run: Run, seconds: float) -> None:
        if self.busy < self.slots:
            self.bacc -= self.engine.now
            self.busy += 1
            self.engine.after(seconds, self.cpu_done, run)
        elif len(self.queue) < self.backlog:
            self.queue.append((self.cpu_done, run, seconds))
        else:
            self.finish(run, UNAVAILABLE)

    def _release(self) -> None:
        """A CPU step ended: hand the slot to the next in the queue, or free it."""
        q = self.queue
        if q and self.live:
            cb, job, t = q.popleft()
            heap, seq = self.hot
            heappush(heap, (self.engine.now + t, next(seq), cb, job))
        else:
            self.bacc += self.engine.now
            self.busy -= 1

    def _cpu_done(self, run: Run) -> None:
        self._release()
        run.advance()

    def _fast_done(self, job: tuple[Any, Any, float]) -> None:
        now = self.engine.now
        q = self.queue
        live = self.live
        if q and live:  # _release(), inlined on the hot path
            cb, nxt, t = q.popleft()
            heap, seq = self.hot
            heappush(heap, (now + t, next(seq), cb, nxt))
        else:
            self.bacc += now
            self.busy -= 1
        self.active -= 1
        self.occ += now
        owner = self.owner
        owner.requests += 1
        req, done, t_in = job
        if live:
            b = owner.lat_buf
            b.append(now - t_in)
            if len(b) >= BATCH:
                owner.latency.flush()
            done(req, None)
        else:
            owner.errors += 1
            done(req, UNAVAILABLE)

    def finish(self, run: Run, err: str | None) -> None:
        self.active -= 1
        self.occ += self.engine.now
        owner = self.owner
        owner.requests += 1
        req = run.req
        if err is None:
            owner.latency.record(self.engine.now - run.t_in)
            s = req.session
            if s is not None and not s.has_state:
                s.has_state = True
                s.home = self
        else:
            owner.errors += 1
        run.done(req, err)

    # ---- metrics ------------------------------------------------------------
    def busy_seconds(self) -> float:
        """Slot-seconds spent busy since launch (exact, up to now)."""
        now: float = self.engine.now
        return self.bacc + self.busy * now

    def in_system_seconds(self) -> float:
        """Integral over time of ``active`` (requests queued or being served here), up to now."""
        now: float = self.engine.now
        return self.occ + self.active * now


class Fleet(Component):
    """What EC2 and ASG share: the compiled handler, slots, and instance bookkeeping."""

    def __init__(self, name: str, spec: Any, sim: Simulation) -> None:
        super().__init__(name, spec, sim)
        vcpus = instance_vcpus(spec.instance_type)
        self.slots: int = spec.workers or vcpus or 2
        self.steps: tuple[CStep, ...] = ()
        self.fast: Any = None
        self.accepts_bare = False  # can take a request that is only its start time (see build)
        self.lat_buf = self.latency.buffer
        self.instances: list[Instance] = []
        self.launched: list[Instance] = []  # every instance ever, replaced ones included
        self.balancers: list[Any] = []
        self.boot = make_sampler(spec.boot_time, stream(sim.seed, f"{name}.boot"))
        self._session_steps: dict[str, tuple[CStep, ...]] = {}
        self._seq = 0
        self.util_series: list[float] = []
        self.in_service_series: list[float] = []
        self._last_busy: dict[str, float] = {}
        self.instance_hours: dict[str, float] = {}
        self.min_in_service: int | None = None
        self.max_in_service = 0

    def build(self) -> None:
        """Compile the handler once every component exists."""
        self.steps = compile_steps(self.spec.handler, self.sim, self.name)
        one = self.steps[0] if len(self.steps) == 1 else None
        self.fast = one.sample if one is not None and one.kind == CPU else None
        for inst in self.instances:
            inst.steps = self.steps
            inst.fast = self.fast

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
        for i in self.instances:
            if i.state == "running" and i.zone_ok:
                b = i.busy_seconds()
                prev = self._last_busy.get(i.iid, 0.0)
                self._last_busy[i.iid] = b
                start = max(now if i.in_service_at is None else i.in_service_at, now - 60.0)
                busy += b - prev
                avail += i.slots * (now - start)
                n += 1
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
        return out

    def in_system_seconds(self) -> float:
        """Integral over the run of the requests in the fleet (queued or in service): ``L * T``."""
        return sum(i.in_system_seconds() for i in self.launched)

    def series(self) -> dict[str, list[float]]:
        return {"in_service": list(self.in_service_series), "utilization": list(self.util_series)}

    def endpoint_zone(self, caller_zone: str) -> str:
        return caller_zone


@register("ec2")
class EC2(Fleet):
    """Standalone instances (``count`` of them), in service from the start."""

    kind = "ec2"

    def __init__(self, name: str, spec: EC2Spec, sim: Simulation) -> None:
        super().__init__(name, spec, sim)
        zones = spec.zones or [sim.arch.zones[0]]
        self.rr = 0
        self._wrapped: set[str] = set()
        self.eip = sim.allocate_ip(elastic=True) if spec.elastic_ip else ""
        self._roll: list[Instance] = []  # a rolling replacement's queue (head: in progress)
        self._roll_new: Instance | None = None
        for k in range(spec.count):
            inst = self.new_instance(zones[k % len(zones)], purchase=spec.purchase)
            inst.running()
            self._assign_ip(inst)
        self._bind()

    def build(self) -> None:
        super().build()
        # With a one-cpu-step handler nothing downstream reads the request, so a workload
        # may send it bare (its start time); the instance's fast path takes either form.
        self.accepts_bare = self.fast is not None

    def _bind(self) -> None:
        """With one instance, callers reach it directly (one call frame less per request).

        Fault wrappers set their own ``handle`` and restore the previous one."""
        if len(self.instances) == 1 and "handle" not in self._wrapped:
            self.__dict__["handle"] = self.instances[0].handle

    def _assign_ip(self, inst: Instance) -> None:
        if self.eip and inst is self.instances[0]:
            inst.public_ip = self.eip
            self.sim.bind_ip(self.eip, inst)
        elif self.spec.public_ip:
            inst.public_ip = self.sim.allocate_ip()
            self.sim.bind_ip(inst.public_ip, inst)

    def handle(self, req: Request, op: str, done: Any, arg: Any = None) -> None:
        live = self.instances
        n = len(live)
        if n == 1:
            live[0].handle(req, op, done, arg)
            return
        self.rr = (self.rr + 1) % n
        live[self.rr].handle(req, op, done, arg)

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

    def _roll_next(self) -> None:
        """Take the next instance of a rolling replacement out of service."""
        while self._roll:
            old = self._roll[0]
            if old.state in ("running", "pending") and old in self.instances:
                self.sim.event("lifecycle", f"{old.iid} deregistering before stop/start")
                self.withdraw(old, partial(self._rolled_out, old))
                return
            self._roll.pop(0)

    def _rolled_out(self, old: Instance) -> None:
        note, self._roll_new = self._stop_start(old)
        self._bind()
        self.sim.event("lifecycle", note)

    def _started(self, inst: Instance) -> None:
        if inst.state != "pending":
            return  # stopped or terminated while it was booting
        inst.running()
        self._assign_ip(inst)
        self.announce(inst)
        self.sim.event("lifecycle", f"{inst.iid} running, public IP {inst.public_ip or 'none'}")
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
