"""ECS on Fargate or EC2: a service of long-running tasks, one-off tasks, and scaling on a queue.

What is modelled
----------------
* Tasks. A task has worker slots (``workers``, default the whole vCPUs of ``cpu``, at
  least 1) and runs the component's ``handler``. It starts a draw of ``startup_time``
  after it is launched (image pull and start; assumption) and is billed from launch to
  stop. Tasks are placed in the available zone with the fewest tasks; with
  ``fargate_spot`` that share of launches goes to Fargate Spot.
* A service keeps ``desired`` tasks running: a task that stops (killed, its AZ down) is
  replaced at once in a zone that is up. With ``consumes`` each task runs one worker loop
  per slot that long-polls the queue (:mod:`cloudtwin.services.ecs_tasks`).
* Scaling (``scaling``): target tracking on the queue's backlog per task, the 1-minute
  ``ApproximateNumberOfMessagesVisible`` divided by the running tasks. After 3 minutes
  above the target it scales out to ``ceil(visible / target)``; after 15 minutes below
  90 % of it, in by at most max(1, 10 %) of desired per action, never below
  ``ceil(visible / target)`` (the alarm periods and steps are the same assumptions as the
  Auto Scaling group's). ``scale_out_cooldown`` and ``scale_in_cooldown`` space the
  actions; ``min`` and ``max`` bound desired.
* One-off tasks (RunTask, from an EventBridge target or a handler's ``call: <ecs>.run_task``)
  carry one event: the task runs the handler once and stops. The event is delivered when
  the run succeeds; a failed run loses it (``ecs_task_failed``), and so does a task killed
  under it (``ecs_task_stopped``): EventBridge's retries end once RunTask has accepted.
  RunTask is refused ``throttled`` when ``max_tasks`` tasks are active (the cluster's
  capacity; a Fargate quota) and ``unavailable`` when no zone is up; EventBridge retries
  both. With ``overlap: skip`` a run that starts while another one-off run is still
  running exits at once (counted ``skipped``, the event delivered).
* Stopping: a scaled-in task gets SIGTERM: its workers finish the message in hand and
  exit; after ``stop_timeout`` (default 30 s, at most 120 s) it is killed (SIGKILL). A
  Fargate Spot interruption (the ``spot_interruption`` fault) is a 2-minute warning with
  SIGTERM at once [aws-facts §16]; the service launches the replacement at the warning
  (assumption). Messages a stopped worker held come back after their visibility timeout.
* Usage: Fargate vCPU-hours and GB-hours (Spot apart; prices.csv has Fargate in us-east-1
  and no Fargate Spot); the EC2 launch type's container instances are not modelled.

Left out: deployments (minimumHealthyPercent/maximumPercent), load balancer targets,
container health checks, placement strategies and constraints, task-state-change events
to EventBridge, Fargate's 1-minute billing minimum, and capacity provider base counts.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component
from cloudtwin.engine import make_sampler
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.handler import CPU, CStep, compile_steps
from cloudtwin.messaging import Message, MessageFactory, Pattern, ledger_of
from cloudtwin.metrics import Histogram
from cloudtwin.request import THROTTLED, UNAVAILABLE, Done, Request
from cloudtwin.services.asg_scaling import HIGH_PERIODS, LOW_FRACTION, LOW_PERIODS, SCALE_IN_STEP
from cloudtwin.services.ecs_tasks import OneOff, Worker
from cloudtwin.services.instance import Instance

if TYPE_CHECKING:
    from cloudtwin.context import Context

SPOT_WARNING: Final = 120.0  # Fargate Spot interruption notice [aws-facts §16]
GIB: Final = 1024.0**3


class ECS(Component):
    """One ECS service (or task definition run as one-off tasks) and its tasks."""
    # what an instance sets, as slots: past 29 attributes in its __dict__ every access slows
    # (tests/test_attribute_layout.py); the base's __dict__ takes the rest
    __slots__ = ('name', 'spec', 'ctx', 'engine', 'requests', 'errors', 'latency', 'injected', 'ledger',
                 'slots', 'steps', 'fast', 'lat_buf', 'launched', 'tasks', 'startup', 'u', 'factory',
                 'zone_list', 'zone_tasks', 'desired', 'queue', 'batch_size', 'wait', 'holding', '_seq',
                 '_placed', 'high',
                 'low', 'last_out', 'last_in', 'received', 'processed', 'failed_messages', 'accepted',
                 'refused_capacity', 'refused_unavailable', 'completed', 'failed_runs', 'skipped',
                 'stopped_runs', 'stopped', 'killed', 'spot_interruptions', 'scale_actions', 'start_delay',
                 'e2e', 'task_seconds', '_busy_done', '_busy_prev', 'per_minute', 'min_running', 'max_running',
                 'poison')

    kind = "ecs"

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.ledger = ledger_of(ctx)
        self.slots: int = spec.slots
        self.steps: tuple[CStep, ...] = ()
        self.fast: Any = None
        self.poison: Pattern | None = None  # the poison rule, worked out in build
        self.lat_buf = self.latency.buffer
        self.launched: list[Instance] = []  # tasks not yet folded into the totals (Instance appends)
        self.tasks: dict[Instance, None] = {}  # pending, running or stopping, in launch order
        self.startup = make_sampler(spec.startup_time, ctx.stream(f"{name}.startup"))
        self.u = uniform_sampler(ctx.stream(f"{name}.errors"))
        self.factory = MessageFactory(None, ctx.seed, f"{name}.message")
        self.zone_list: list[str] = list(spec.zones or ctx.arch.zones)
        self.zone_tasks: dict[str, int] = {}  # zone -> tasks of self.tasks placed in it
        self.desired: int = spec.desired
        self.queue: Any = None
        c = spec.consumes
        self.batch_size: int = c.batch_size if c else 1
        self.wait: float = c.wait if c else 0.0
        self.holding: dict[int, Message] = {}  # one-off tasks' events
        self._seq = self._placed = 0
        self.high = self.low = 0
        self.last_out = self.last_in = -math.inf
        self.received = self.processed = self.failed_messages = 0
        self.accepted = self.refused_capacity = self.refused_unavailable = 0
        self.completed = self.failed_runs = self.skipped = self.stopped_runs = 0
        self.stopped = self.killed = self.spot_interruptions = self.scale_actions = 0
        self.start_delay = Histogram()  # event time to the one-off task running
        self.e2e = Histogram()  # event time to the one-off run's end
        self.task_seconds = {"fargate": 0.0, "fargate_spot": 0.0, "ec2": 0.0}
        self._busy_done = self._busy_prev = 0.0  # busy slot-seconds of tasks already folded; at the last minute
        self.per_minute: dict[str, list[float]] = {"running": [], "desired": [], "backlog_per_task": [],
                                                   "utilization": []}
        self.min_running: int | None = None
        self.max_running = 0

    def build(self) -> None:
        self.steps = compile_steps(self.spec.handler, self.ctx, self.name)
        self.poison = Pattern(self.spec.poison) if self.spec.poison is not None else None
        one = self.steps[0] if len(self.steps) == 1 else None
        self.fast = one.sample if one is not None and one.kind == CPU else None
        if self.spec.consumes is not None:
            self.queue = self.ctx.components[self.spec.consumes.queue]

    def start(self) -> None:
        self.reconcile()

    # ---- placement and lifecycle ------------------------------------------------
    def _zone(self) -> str | None:
        zone_up, count = self.ctx.zone_up, self.zone_tasks
        best: str | None = None
        fewest = 0
        for z in self.zone_list:  # the first of the available zones with the fewest tasks
            if zone_up(z):
                n = count.get(z, 0)
                if best is None or n < fewest:
                    best, fewest = z, n
        return best

    def _launch(self, role: str, msg: Message | None = None, zone: str | None = None) -> Instance | None:
        """Start a task in ``zone`` (RunTask has just chosen it), or in :meth:`_zone`'s choice."""
        if zone is None:
            zone = self._zone()
        if zone is None:
            return None
        purchase = self.spec.launch_type
        share = self.spec.fargate_spot
        if share and math.floor((self._placed + 1) * share) > math.floor(self._placed * share):
            purchase = "fargate_spot"
        self._placed += 1
        self._seq += 1
        task = Instance(self, f"{self.name}-{self._seq}", zone, purchase=purchase)
        task.meta = {"role": role, "msg": msg, "stopping": False, "loops": 0, "busy": False}
        self.tasks[task] = None
        self.zone_tasks[zone] = self.zone_tasks.get(zone, 0) + 1
        self.engine.after(self.startup(), self._started, task)
        return task

    def _started(self, task: Instance) -> None:
        if task.state != "pending":
            return  # stopped while it was starting
        task.running()
        meta = task.meta
        now = self.engine.now
        if meta["role"] == "service":
            if self.queue is not None and not meta["stopping"]:
                meta["loops"] = self.slots
                for _ in range(self.slots):
                    Worker(self, task).poll()
            elif meta["stopping"]:
                self.stopped_gracefully(task)
            return
        msg = meta["msg"]
        self.start_delay.record(now - msg.t0)
        if self.spec.overlap == "skip" and any(t is not task and t.meta["busy"] for t in self.tasks):
            self.skipped += 1
            if self.skipped <= 20:
                self.ctx.event("lifecycle", f"ecs {self.name}: {task.iid} skips its run (overlap: skip; the "
                               "previous run is still going)")
            self._settle(task, None, skipped=True)
            return
        meta["busy"] = True
        task.handle(Request(now, None, None), "", OneOff(self, task).done)

    def run_ended(self, task: Instance, err: str | None) -> None:
        """A one-off run finished (``err`` None: the handler succeeded)."""
        msg: Message = task.meta["msg"]
        if self.holding.get(msg.mid) is not msg:
            return  # the task was killed first; its event is already written off
        if err is None and self.fails(msg):
            err = "server_error"
        self._settle(task, err)

    def _settle(self, task: Instance, err: str | None, *, skipped: bool = False) -> None:
        msg = task.meta["msg"]
        del self.holding[msg.mid]
        task.meta["busy"] = False
        if err is None:
            if self.ledger.deliver(msg) and not skipped:
                self.completed += 1
                self.e2e.record(self.engine.now - msg.t0)
        else:
            self.failed_runs += 1
            self.ledger.lose(msg, "ecs_task_failed")
        self._end(task)

    def fails(self, msg: Message) -> bool:
        """Does processing ``msg`` fail although every step succeeded (poison rule, error_rate)?"""
        p = self.poison
        if p is not None and msg.attrs is not None and p(msg.attrs):
            return True
        return bool(self.spec.error_rate) and self.u() < self.spec.error_rate

    def _end(self, task: Instance, state: str = "stopped") -> None:
        if task in self.tasks:
            del self.tasks[task]
            self.zone_tasks[task.zone] -= 1
            task.kill(state)
            self.stopped += 1

    def stopped_gracefully(self, task: Instance) -> None:  # every worker of a stopping task has exited
        self._end(task)

    def _kill(self, task: Instance, why: str) -> None:
        """Stop ``task`` at once; a one-off task's event is lost."""
        if task not in self.tasks:
            return
        msg: Message | None = task.meta["msg"]
        if msg is not None and self.holding.get(msg.mid) is msg:
            del self.holding[msg.mid]
            self.stopped_runs += 1
            self.ledger.lose(msg, "ecs_task_stopped")
        self.killed += 1
        self._end(task)
        self.ctx.event("lifecycle", f"ecs {self.name}: {task.iid} stopped ({why})")

    def _sigterm(self, task: Instance) -> None:
        meta = task.meta
        if meta["stopping"]:
            return
        meta["stopping"] = True
        if task.state == "pending":
            self._end(task)
            return
        if meta["role"] == "service" and meta["loops"] == 0:
            self._end(task)
            return
        self.engine.after(self.spec.stop_timeout, self._sigkill, task)

    def _sigkill(self, task: Instance) -> None:
        if task in self.tasks:
            self._kill(task, f"SIGKILL after stop_timeout {self.spec.stop_timeout:g}s")

    def reconcile(self) -> None:
        """Start or stop service tasks until ``desired`` are pending or running."""
        svc = [t for t in self.tasks if t.meta["role"] == "service" and not t.meta["stopping"]]
        cap = self.spec.max_tasks
        while len(svc) < self.desired and (cap is None or len(self.tasks) < cap):
            t = self._launch("service")
            if t is None:
                break
            svc.append(t)
        if len(svc) > self.desired:
            svc.sort(key=lambda t: (t.state != "pending", -t.launched_at, t.iid))
            for t in svc[: len(svc) - self.desired]:
                self._sigterm(t)

    # ---- RunTask ------------------------------------------------------------------
    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        """RunTask with one event: an EventBridge target, or ``call: <ecs>.run_task``. (``requests`` and
        ``errors`` count handler runs, as for a service; RunTask calls are counted under ``run_task``.)"""
        cap = self.spec.max_tasks
        if cap is not None and len(self.tasks) >= cap:
            self.refused_capacity += 1
            done(req, THROTTLED)
            return
        zone = self._zone()
        if zone is None:
            self.refused_unavailable += 1
            done(req, UNAVAILABLE)
            return
        msg = arg if isinstance(arg, Message) else (
            arg if isinstance(arg, MessageFactory) else self.factory).make(self.ledger, self.engine.now)
        self.accepted += 1
        self.holding[msg.mid] = msg
        self._launch("oneoff", msg, zone)  # nothing between changes the zones' task counts
        done(req, None)

    # ---- faults -------------------------------------------------------------------
    def zone_outage(self, zone: str, down: bool) -> None:
        if down:
            for t in [t for t in self.tasks if t.zone == zone]:
                self._kill(t, f"zone {zone} down")
        self.reconcile()

    def terminate(self, count: int, zone: str | None) -> list[str]:
        victims = [t for t in self.tasks if zone is None or t.zone == zone][:count]
        for t in victims:
            self._kill(t, "terminated")
        self.reconcile()
        return [f"stopped {t.iid}" for t in victims]

    def spot_interruption(self, count: int) -> list[str]:
        spot = [t for t in self.tasks if t.purchase == "fargate_spot" and t.state == "running"
                and not t.meta["stopping"]][:count]
        if not spot:
            return ["no Fargate Spot task is running: nothing to interrupt"]
        for t in spot:
            self.spot_interruptions += 1
            self._sigterm(t)  # SIGTERM with the warning; SIGKILL by stop_timeout (<= the 2 minutes)
        self.reconcile()
        return [f"Fargate Spot interruption warning for {t.iid} (SIGTERM now, reclaimed within "
                f"{SPOT_WARNING:.0f} s)" for t in spot]

    # ---- scaling and metrics --------------------------------------------------------
    def on_minute(self, now: float) -> None:
        running = service = 0  # tasks running, and of those a service's: one walk, no generators
        for t in self.tasks:
            if t.state == "running":
                running += 1
                if t.meta["role"] == "service":
                    service += 1
        self._fold(now)
        self.per_minute["running"].append(float(running))
        self.min_running = running if self.min_running is None else min(self.min_running, running)
        self.max_running = max(self.max_running, running)
        backlog = 0.0
        if self.queue is not None:
            backlog = self.queue.visible_count() / max(service, 1)
            self._track(now, backlog)
        self.per_minute["backlog_per_task"].append(round(backlog, 3))
        self.per_minute["desired"].append(float(self.desired))
        self.reconcile()

    def _track(self, now: float, backlog: float) -> None:
        s = self.spec.scaling
        if s is None:
            return
        target = s.target_backlog_per_task
        self.high = self.high + 1 if backlog > target else 0
        self.low = self.low + 1 if backlog < LOW_FRACTION * target else 0
        wanted = math.ceil(round(self.queue.visible_count() / target, 6))
        if self.high >= HIGH_PERIODS and wanted > self.desired and now - self.last_out >= s.scale_out_cooldown:
            self.last_out = now
            self._set_desired(min(s.max, wanted), f"backlog per task {backlog:.0f} > {target:g}")
        elif (self.low >= LOW_PERIODS and not s.disable_scale_in and now - self.last_in >= s.scale_in_cooldown
              and now - self.last_out >= s.scale_out_cooldown):
            new = max(s.min, wanted, self.desired - max(1, int(SCALE_IN_STEP * self.desired)))
            if new < self.desired:
                self.last_in = now
                self._set_desired(new, f"backlog per task {backlog:.1f} < {LOW_FRACTION * target:g} "
                                  f"for {self.low} min")

    def _set_desired(self, n: int, why: str) -> None:
        if n != self.desired:
            self.scale_actions += 1
            self.ctx.event("scaling", f"ecs {self.name}: desired {self.desired} -> {n} ({why})")
            self.desired = n

    def _fold(self, now: float) -> None:
        """Close one minute: utilisation, and fold stopped tasks into the totals."""
        busy = self._busy_done
        avail = 0.0
        keep: list[Instance] = []
        for t in self.launched:
            busy += t.busy_seconds()
            if t.in_service_at is not None:
                end = t.ended_at if t.ended_at is not None else now
                avail += max(0.0, end - max(t.in_service_at, now - 60.0)) * self.slots
            if t.ended_at is None:
                keep.append(t)
            else:
                self._busy_done += t.busy_seconds()
                self.task_seconds[t.purchase] += t.ended_at - t.launched_at
        self.per_minute["utilization"].append(round((busy - self._busy_prev) / avail, 4) if avail > 0 else 0.0)
        self._busy_prev = busy
        self.launched = keep

    def held_messages(self) -> Any:
        return self.holding.values()

    def periodic_events_per_second(self) -> float:
        """Idle workers poll: about one receive per long-poll wait (or per second when short polling)."""
        return self.spec.desired * self.slots / max(self.wait, 1.0) if self.queue is not None else 0.0

    def series(self) -> dict[str, list[float]]:
        return self.per_minute

    def usage(self) -> dict[str, float]:
        now = self.engine.now
        secs = dict(self.task_seconds)
        for t in self.launched:
            secs[t.purchase] += (t.ended_at if t.ended_at is not None else now) - t.launched_at
        gb = self.spec.memory / GIB
        out: dict[str, float] = {}
        for purchase, prefix in (("fargate", ""), ("fargate_spot", "SpotUsage-")):
            if secs[purchase] > 0:
                out[f"{prefix}Fargate-vCPU-Hours:perCPU"] = secs[purchase] / 3600.0 * self.spec.cpu
                out[f"{prefix}Fargate-GB-Hours"] = secs[purchase] / 3600.0 * gb
        return out

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        util = self.per_minute["utilization"]
        out.update({
            "launch_type": self.spec.launch_type, "desired": self.desired, "active_tasks": len(self.tasks),
            "running": {"min": self.min_running or 0, "max": self.max_running},
            "launched": self._seq, "stopped": self.stopped, "killed": self.killed,
            "spot_interruptions": self.spot_interruptions, "scale_actions": self.scale_actions,
            "utilization": round(sum(util) / len(util), 4) if util else 0.0,
            "service": {"received": self.received, "processed": self.processed,
                        "failed_messages": self.failed_messages},
            "run_task": {"accepted": self.accepted, "refused_capacity": self.refused_capacity,
                         "refused_unavailable": self.refused_unavailable, "completed": self.completed,
                         "failed": self.failed_runs, "skipped": self.skipped, "stopped": self.stopped_runs,
                         "running": len(self.holding), "start_delay_ms": self.start_delay.summary_ms(),
                         "end_to_end_ms": self.e2e.summary_ms()},
        })
        return out
