"""Live model of ``batch``: an AWS Batch job queue over one compute environment.

What is modelled
----------------
* Job states as the Batch API names them: SUBMITTED -> PENDING -> RUNNABLE (no dependencies,
  so the first two pass at once) -> STARTING (its instances launch: ``startup``, assumption)
  -> RUNNING -> SUCCEEDED or FAILED. A job is RUNNABLE until its nodes' vCPUs fit under the
  compute environment's ``max_vcpus``; the queue is scanned in submission order and every job
  that fits starts (so a small job may pass a large one that does not fit yet).
* Kinds: a single job (one node); an array job of ``size`` children (2-10,000, Batch API
  ``arrayProperties``), each child a single-node job with its own attempts; a multi-node
  parallel job of ``size`` nodes that starts only when all its nodes are up and fails as a
  whole when any node fails.
* Run time: the stated model of :mod:`cloudtwin.services.batch_time` (Amdahl compute, ring
  allreduce over ENA or EFA, I/O bounded by the storage's IOPS and throughput).
* Spot: each node of an attempt is interrupted after an exponential time at
  ``spot_interruptions_per_hour`` (a Poisson rate per instance-hour: assumption; the Spot
  Instance Advisor publishes only monthly bands). The notice comes 2 minutes before
  [aws-facts §3 Spot interruption notice]; nothing is checkpointed, so at the interruption the
  attempt fails with the status reason ``Host EC2 (instance i-...) terminated.`` and the other
  nodes are released. On-demand nodes are not interrupted.
* retryStrategy (Batch API RetryStrategy): ``attempts`` 1-10 moves of the job to RUNNABLE; after
  a failed attempt the first ``evaluate_on_exit`` rule whose ``on_reason`` glob matches the status
  reason decides RETRY or EXIT, and when none matches the job is retried while attempts remain.
  An application error (``error_rate``, assumption) fails an attempt at its end with the reason
  ``Essential container in task exited``.
* A cluster placement group's launch fails for lack of capacity with ``capacity_error_rate``
  (assumption; AWS warns of insufficient-capacity errors in cluster placement groups); the
  job stays RUNNABLE and tries again ``capacity_retry`` later, using no attempt.
* ``min_vcpus`` keeps ``min_vcpus // vCPUs-per-instance`` instances running (billed for the
  whole run); a job that fits on idle ones starts without ``startup``.

Bill: instance-hours by purchase option (``BoxUsage:``/``SpotUsage:`` + type) from launch to
release, per second; EBS volumes (one per node, ``size``) for the same node-hours as
GB-months, with io2 IOPS and gp3 IOPS above its free 3,000 as IOPS-months; EFS and FSx for
Lustre storage over the run (Lustre: unpriced, no sourced price). Left out: warm instances'
own interruptions, Batch's scale-down delay, job dependencies, fair-share scheduling, several
compute environments per queue, and checkpoint/restart.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.services.batch_time import Phases, fabric, phases, storage_limits
from cloudtwin.spec.batch import GP3_IOPS, BatchJob
from cloudtwin.spec.batch import Batch as BatchSpec
from cloudtwin.units import GIB, HOURS_PER_MONTH, MIB, SECONDS_PER_HOUR

if TYPE_CHECKING:
    from cloudtwin.context import Context

NOTICE_S: Final = 120.0  # the Spot interruption notice [aws-facts §3]
SPOT_REASON: Final = "Host EC2 (instance {id}) terminated."
APP_REASON: Final = "Essential container in task exited"
PREFIX = {"on_demand": "BoxUsage", "spot": "SpotUsage"}


class _Unit:
    """One schedulable job: a single job, an array child or a multi-node job."""

    __slots__ = ("job", "state", "attempts", "submitted", "queued_at", "runnable_s", "token", "launched",
                 "running_at", "warm", "ended", "not_before")

    def __init__(self, job: BatchJob, now: float) -> None:
        self.job = job
        self.state = "RUNNABLE"  # SUBMITTED and PENDING pass at once: no dependencies
        self.attempts = 0
        self.submitted = self.queued_at = now
        self.runnable_s = 0.0
        self.token = 0
        self.launched = self.running_at = self.ended = 0.0
        self.warm = False
        self.not_before = 0.0


class Batch(Component):
    kind = "batch"

    def __init__(self, name: str, spec: BatchSpec, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        ce = spec.compute_environment
        self.ce = ce
        self.vcpus = ce.vcpus
        self.warm_total = ce.min_vcpus // ce.vcpus
        self.warm_free = self.warm_total
        self.used_vcpus = 0
        self.queue: list[_Unit] = []
        self.units: list[_Unit] = []
        self.phases: dict[str, Phases] = {j.name: phases(j, ce, spec.storage) for j in spec.jobs}
        self.rng_spot = ctx.stream(f"{name}.spot")
        self.u_err = uniform_sampler(ctx.stream(f"{name}.errors"))
        self.u_cap = uniform_sampler(ctx.stream(f"{name}.capacity"))
        self.count: dict[str, dict[str, int]] = {
            j.name: dict.fromkeys(("attempts", "retries", "interruptions", "app_errors", "capacity_errors",
                                   "notices"), 0) for j in spec.jobs}
        self.node_s = 0.0  # instance-seconds of launched (not warm) nodes
        self.busy_node_s = 0.0  # node-seconds of attempts, warm or not (the EBS volumes' life)
        self.spot_exposure_s = 0.0  # spot node-seconds at risk of interruption
        self.instance_seq = 0
        self.scan_pending = False

    # ---- submissions -------------------------------------------------------------
    def start(self) -> None:
        for job in self.spec.jobs:
            for k in range(job.count):
                self.engine.at(job.at + k * job.every, self._submit, job)

    def _submit(self, job: BatchJob) -> None:
        now = self.engine.now
        for _ in range(job.size if job.kind == "array" else 1):
            unit = _Unit(job, now)
            self.units.append(unit)
            self.queue.append(unit)
        self._scan(None)

    # ---- scheduling -------------------------------------------------------------
    def _scan(self, _: Any) -> None:
        """Start every RUNNABLE job that fits, in submission order."""
        self.scan_pending = False
        now = self.engine.now
        waiting: list[_Unit] = []
        for unit in self.queue:
            need = unit.job.nodes * self.vcpus
            if unit.not_before > now or self.used_vcpus + need > self.ce.max_vcpus:
                waiting.append(unit)
                continue
            if self.ce.placement_group == "cluster" and self.ce.capacity_error_rate > 0 \
                    and self.u_cap() < self.ce.capacity_error_rate:
                self.count[unit.job.name]["capacity_errors"] += 1
                unit.not_before = now + self.ce.capacity_retry
                self.engine.at(unit.not_before, self._scan, None)
                waiting.append(unit)
                continue
            self._launch(unit, need)
        self.queue = waiting

    def _launch(self, unit: _Unit, need: int) -> None:
        now, job, c = self.engine.now, unit.job, self.count[unit.job.name]
        n = job.nodes
        self.used_vcpus += need
        unit.warm = self.warm_free >= n
        if unit.warm:
            self.warm_free -= n
        unit.runnable_s += now - unit.queued_at
        unit.attempts += 1
        c["attempts"] += 1
        unit.token += 1
        unit.state = "STARTING"
        unit.launched = now
        unit.running_at = now + (0.0 if unit.warm else self.ce.startup)
        end = unit.running_at + self.phases[job.name].total
        hit = self._spot_interruption(n, end - now)
        if hit is not None:
            self.engine.at(max(now, now + hit - NOTICE_S), self._notice, (unit, unit.token))
            self.engine.at(now + hit, self._interrupted, (unit, unit.token))
        else:
            self.engine.at(end, self._finished, (unit, unit.token))

    def _spot_interruption(self, nodes: int, span: float) -> float | None:
        """Seconds from launch to the first interruption among ``nodes`` spot nodes, if within ``span``."""
        rate = self.ce.spot_interruptions_per_hour
        if self.ce.purchase != "spot" or rate <= 0:
            return None
        first = float(self.rng_spot.exponential(SECONDS_PER_HOUR / (rate * nodes)))
        return first if first < span else None

    def _release(self, unit: _Unit) -> None:
        now, n = self.engine.now, unit.job.nodes
        self.used_vcpus -= n * self.vcpus
        held = n * (now - unit.launched)
        self.busy_node_s += held
        if self.ce.purchase == "spot":
            self.spot_exposure_s += held
        if unit.warm:
            self.warm_free += n
        else:
            self.node_s += held
        if not self.scan_pending:  # one scan per instant, after every release at that instant
            self.scan_pending = True
            self.engine.at(now, self._scan, None)

    # ---- ends of attempts ----------------------------------------------------------
    def _notice(self, arg: tuple[_Unit, int]) -> None:
        unit, token = arg
        if token == unit.token and unit.state in ("STARTING", "RUNNING"):
            self.count[unit.job.name]["notices"] += 1

    def _interrupted(self, arg: tuple[_Unit, int]) -> None:
        unit, token = arg
        if token != unit.token:
            return
        self.count[unit.job.name]["interruptions"] += 1
        self.instance_seq += 1
        self._release(unit)
        self._failed(unit, SPOT_REASON.format(id=f"i-{self.instance_seq:017x}"))

    def _finished(self, arg: tuple[_Unit, int]) -> None:
        unit, token = arg
        if token != unit.token:
            return
        self._release(unit)
        if unit.job.error_rate > 0 and self.u_err() < unit.job.error_rate:
            self.count[unit.job.name]["app_errors"] += 1
            self._failed(unit, APP_REASON)
            return
        unit.state = "SUCCEEDED"
        unit.ended = self.engine.now

    def _failed(self, unit: _Unit, reason: str) -> None:
        job = unit.job
        if unit.attempts < job.retry.attempts and retry_action(job, reason) == "retry":
            self.count[job.name]["retries"] += 1
            unit.state = "RUNNABLE"
            unit.queued_at = self.engine.now
            unit.not_before = 0.0
            self.queue.append(unit)
            return
        unit.state = "FAILED"
        unit.ended = self.engine.now
        self.ctx.event("batch_job_failed", f"{self.name}: job {job.name} FAILED after {unit.attempts} "
                       f"attempt(s): {reason}")

    # ---- results -------------------------------------------------------------------
    def _state(self, unit: _Unit) -> str:
        if unit.state == "STARTING" and self.engine.now >= unit.running_at:
            return "RUNNING"
        return unit.state

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        now = self.engine.now
        jobs: dict[str, Any] = {}
        for job in self.spec.jobs:
            units = [u for u in self.units if u.job is job]
            states = [self._state(u) for u in units]
            done = [u for u in units if u.state in ("SUCCEEDED", "FAILED")]
            waits = [u.runnable_s + (now - u.queued_at if u.state == "RUNNABLE" else 0.0) for u in units]
            ph = self.phases[job.name]
            jobs[job.name] = {
                "kind": job.kind, "nodes": job.nodes, "submitted": len(units),
                **{s.lower(): states.count(s) for s in ("SUCCEEDED", "FAILED", "RUNNABLE", "STARTING", "RUNNING")},
                **self.count[job.name],
                "phases_s": {"compute": round(ph.compute, 3), "comm": round(ph.comm, 3), "io": round(ph.io, 3),
                             "total": round(ph.total, 3)},
                "makespan_s": round(max(u.ended for u in done) - min(u.submitted for u in units), 3) if done else None,
                "runnable_s_mean": round(sum(waits) / len(waits), 3) if waits else 0.0,
            }
        lat, bps = fabric(self.ce)
        iops, tput, shared = storage_limits(self.spec.storage)
        total = {k: sum(j[k] for j in jobs.values()) for k in
                 ("submitted", "succeeded", "failed", "runnable", "starting", "running", "attempts", "retries",
                  "interruptions", "notices", "app_errors", "capacity_errors")}
        node_h = self._node_seconds() / SECONDS_PER_HOUR
        out.update({
            "jobs": jobs, **total,
            "instance_hours": {self.ce.purchase: round(node_h, 6)},
            "vcpu_hours": {self.ce.purchase: round(node_h * self.vcpus, 6)},
            "spot_exposure_hours": round(self._exposure_s() / SECONDS_PER_HOUR, 6),
            "fabric": {"latency_us": round(lat * 1e6, 3), "bandwidth_gbps": round(bps / 1e9, 3),
                       "efa": self.ce.efa, "placement_group": self.ce.placement_group},
            "storage": {"kind": self.spec.storage.kind, "iops": iops, "throughput_mibps": round(tput / MIB, 3),
                        "shared": shared},
        })
        return out

    def _in_flight(self) -> list[_Unit]:
        return [u for u in self.units if u.state == "STARTING"]

    def _node_seconds(self) -> float:
        """Instance-seconds billed so far: released launched nodes, running ones, and the warm pool."""
        now = self.engine.now
        live = sum(u.job.nodes * (now - u.launched) for u in self._in_flight() if not u.warm)
        return self.node_s + live + self.warm_total * now

    def _exposure_s(self) -> float:
        if self.ce.purchase != "spot":
            return 0.0
        now = self.engine.now
        return self.spot_exposure_s + sum(u.job.nodes * (now - u.launched) for u in self._in_flight())

    def usage(self) -> dict[str, float]:
        now = self.engine.now
        u: dict[str, float] = {}
        node_h = self._node_seconds() / SECONDS_PER_HOUR
        if node_h > 0:
            u[f"{PREFIX[self.ce.purchase]}:{self.ce.instance_type}"] = node_h
        st = self.spec.storage
        busy_h = (self.busy_node_s + sum(x.job.nodes * (now - x.launched) for x in self._in_flight())) \
            / SECONDS_PER_HOUR
        months = busy_h / HOURS_PER_MONTH  # volume-months: one volume per node while it runs
        window = now / SECONDS_PER_HOUR / HOURS_PER_MONTH
        gb = st.size / GIB
        if st.kind == "gp3" and months > 0:
            u["EBS:VolumeUsage.gp3"] = gb * months
            if st.iops and st.iops > GP3_IOPS[0]:
                u["EBS:VolumeP-IOPS.gp3"] = (st.iops - GP3_IOPS[0]) * months
        elif st.kind == "io2" and months > 0:
            u["EBS:VolumeUsage.io2"] = gb * months
            u["EBS:VolumeP-IOPS.io2"] = float(st.iops or 0) * months
        elif st.kind == "efs":
            u["TimedStorage-ByteHrs"] = gb * window
        elif st.kind == "fsx_lustre":
            u[f"FSxLustre-GB-Month:{st.lustre_deployment}"] = gb * window
        return {k: v for k, v in u.items() if v > 0}

    def usage_notes(self) -> list[str]:
        return [f"{self.name}: instance-hours from launch to release per node, {self.warm_total} warm instance(s) "
                "for the whole run; EBS one volume per node while it runs"]


def retry_action(job: BatchJob, reason: str) -> str:
    """``retry`` or ``exit`` for a failed attempt with status reason ``reason``: the first matching
    ``evaluate_on_exit`` rule, else retry (Batch API RetryStrategy: "If none of the listed
    conditions match, then the job is retried")."""
    for rule in job.retry.evaluate_on_exit:
        if fnmatchcase(reason, rule.on_reason):
            return rule.action
    return "retry"
