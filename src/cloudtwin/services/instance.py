"""An EC2 instance: worker slots, an accept queue, its lifecycle and addresses.

An :class:`Instance` serves requests by running its owner's compiled handler.
It has ``slots`` workers (the instance type's vCPUs, or ``workers:``); a ``cpu``
step holds one for the drawn time and otherwise waits in a FIFO accept queue of
at most ``backlog`` entries, past which the connection is refused
(``unavailable``). Busy slot-seconds and time in system are integrated exactly
(end times minus start times), so utilisation is busy time over available time,
as CloudWatch's CPUUtilization averages it.

A burstable instance held to its baseline (standard mode with its CPU credits spent:
:mod:`cloudtwin.services.cpu_credits`) runs slower: ``speed`` below 1 stretches each cpu
step's time (the one-step fast path gets a stretched sampler instead).

Left out: EBS-optimised bandwidth, ENA limits,
and the fact that an in-service request on a killed instance fails at the end
of its current CPU step rather than at the instant of the kill.
"""

from __future__ import annotations

from heapq import heappush
from typing import Any, Final

from cloudtwin.engine.resources import Workers
from cloudtwin.guard import through
from cloudtwin.handler import CStep, Probe, Run
from cloudtwin.metrics import BATCH
from cloudtwin.request import SESSION_LOST, UNAVAILABLE

COOKIE_LIMIT: Final = 4096  # bytes a browser keeps per cookie

class Instance(Workers):
    """One EC2 instance: worker slots and an accept queue (:class:`Workers`), its lifecycle and addresses."""

    __slots__ = (
        "ctx", "owner", "iid", "zone", "state", "zone_ok", "public_ip", "steps", "launched_at", "in_service_at",
        "active", "purchase", "cpu_done", "fast", "fast_done", "meta", "ended_at", "occ", "live", "up", "speed",
        "screen_plan",
    )

    def __init__(self, owner: Any, iid: str, zone: str, *, purchase: str = "on_demand") -> None:
        ctx = owner.ctx
        super().__init__(ctx.engine, owner.slots, owner.spec.backlog)
        self.ctx = ctx
        self.owner = owner
        self.iid = iid
        self.zone = zone
        self.steps: tuple[CStep, ...] = owner.steps
        self.state = "pending"  # pending | running | stopped | terminated
        self.zone_ok = ctx.zone_up(zone)
        self.live = False  # running and its zone up: the one flag the hot path reads
        self.up = False  # the same flag, for callers (a plain attribute: read per handler step)
        self.public_ip = ""
        self.launched_at = self.engine.now
        self.in_service_at: float | None = None
        self.ended_at: float | None = None  # when it stopped or terminated (billing ends)
        self.active = 0
        self.occ = 0.0  # exit times minus entry times: in-system seconds = occ + active * now
        owner.launched.append(self)
        # the filters in front of its fleet (Fleet.screen), None when there are none (an ECS task's)
        self.screen_plan: tuple[tuple[Any, bool, Any], ...] | None = getattr(owner, "screen_plan", None) or None
        self.purchase = purchase
        self.cpu_done = self._cpu_done
        self.fast_done = self._fast_done
        self.fast = owner.fast  # the sampler when the handler is a single cpu step
        self.speed = 1.0  # CPU speed: below 1 while a burstable instance is held to its baseline
        self.meta: dict[str, Any] = {}

    # ---- lifecycle ----------------------------------------------------------
    def running(self) -> None:
        """Boot finished: the instance serves from now on."""
        if self.state == "pending":
            self.state = "running"
            self.live = self.up = self.zone_ok and "impaired" not in self.meta
            self.in_service_at = self.engine.now

    def kill(self, state: str = "terminated") -> None:
        """Stop serving now: queued work is refused, in-service work fails."""
        self.state = state
        self.live = self.up = False
        self.ended_at = self.engine.now
        self._drop_queue()
        if self.public_ip:
            self.ctx.addresses.release(self.public_ip, self)

    def set_zone(self, ok: bool) -> None:
        self.zone_ok = ok
        self.live = self.up = ok and self.state == "running" and "impaired" not in self.meta
        if not ok:
            self._drop_queue()

    def set_impaired(self, why: str | None) -> None:
        """A failed status check (``why``: ``"system"`` or ``"instance"``) stops it answering,
        though it keeps running, billing and holding its addresses; None clears it."""
        if why is None:
            self.meta.pop("impaired", None)
        else:
            self.meta["impaired"] = why
        self.live = self.up = self.zone_ok and self.state == "running" and why is None
        if why is not None:
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
        """Serve ``req`` (a :class:`Request`, or a bare start time from a simple workload), once
        the fleet's filters in front of it (if any: its network ACL, security group, VPC routes)
        have let it in."""
        if self.screen_plan is not None:  # one test, no call, when nothing is in front (almost always)
            done = through(self.screen_plan, self, req, done)
            if done is None:
                return
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

    def probe(self, req: Any, done: Any) -> None:
        """A load balancer's HTTP health check: the injected faults and the health handler run
        here like a request (it takes a worker for its cpu steps and waits in the accept
        queue), and ``done(req, err)`` says whether it succeeded. Not one of the fleet's requests."""
        if not self.live:
            done(req, UNAVAILABLE)
            return
        self.active += 1
        self.occ -= self.engine.now
        Probe(self, req, done, self.owner.probe_steps, self.engine.now).advance()

    def cpu(self, run: Run, seconds: float) -> None:
        """A cpu step: :meth:`Workers.start` inlined (a free worker, else the accept queue, else refused)."""
        seconds = seconds / self.speed
        if self.busy < self.slots:
            now = self.engine.now
            self.bacc -= now
            self.busy += 1
            heap, seq = self.hot
            heappush(heap, (now + seconds, next(seq), self.cpu_done, run))
        elif len(self.queue) < self.backlog:
            self.queue.append((self.cpu_done, run, seconds))
        else:
            self.finish(run, UNAVAILABLE)

    def _cpu_done(self, run: Run) -> None:
        """A cpu step's end: :meth:`Workers.release` inlined (a dead instance's queue was dropped;
        nothing more starts), then the run goes on."""
        q = self.queue
        if q and self.live:
            cb, nxt, t = q.popleft()
            heap, seq = self.hot
            heappush(heap, (self.engine.now + t, next(seq), cb, nxt))
        else:
            self.bacc += self.engine.now
            self.busy -= 1
        run.advance()

    def _fast_done(self, job: tuple[Any, Any, float]) -> None:
        now = self.engine.now
        q = self.queue
        live = self.live
        if q and live:  # Workers.release(), inlined on the hot path
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
        if run.__class__ is Probe:  # a health check: no request, latency or error of the fleet
            run.done(run.req, err)
            return
        owner = self.owner
        owner.requests += 1
        req: Any = run.req  # a Request, or a bare start time (see handle)
        if err is None:
            b = owner.lat_buf  # owner.latency.record(...), inlined
            b.append(self.engine.now - run.t_in)
            if len(b) >= BATCH:
                owner.latency.flush()
            s = None if req.__class__ is float else req.session  # a bare request carries none
            if s is not None and not s.has_state:
                s.has_state = True
                s.home = self
        else:
            owner.errors += 1
        run.done(req, err)

    # ---- metrics ------------------------------------------------------------
    def in_system_seconds(self) -> float:
        """Integral over time of ``active`` (requests queued or being served here), up to now."""
        now: float = self.engine.now
        return self.occ + self.active * now


