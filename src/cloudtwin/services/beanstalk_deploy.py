"""Elastic Beanstalk deployments: the six policies as scheduled events on an environment's parts.

An instance being deployed to is out of service (its application restarts: requests
to it fail, in-flight ones too) for ``deploy_time``, bounded by the command
``Timeout`` [aws-facts §15 Option defaults]; past it the command fails, the instance
keeps the old version and the deployment fails. A batch must be healthy in the load
balancer within ``health_timeout`` (PT30M [aws-facts §15]) or the deployment fails.

* ``all_at_once``: every instance at once, still registered (short outage)
  [aws-facts §15 All at once].
* ``rolling``: batches of ``batch_size`` (percentage of the instances, rounded up, or
  fixed): each batch is deregistered and drained, deployed, registered again, and the
  next starts once it is healthy; capacity drops by one batch [aws-facts §15 Rolling].
* ``rolling_with_additional_batch``: a new batch is launched first (boot time counts)
  and is healthy before any instance leaves service; then rolling over the old
  instances; then the group scales back in [aws-facts §15].
* ``immutable``: a temporary group: one new instance first, the rest (as many as the
  original) once it is healthy; when all are healthy the old instances are
  deregistered, drained and terminated [aws-facts §15 Immutable]. The temporary group's
  instances are modelled as members of the environment's group that the old ones
  leave room for (the "transfer" of AWS's description), so capacity doubles.
* ``traffic_splitting``: a full new set in the standby group; once healthy it gets
  ``new_version_percent`` of the ALB's traffic (weighted target groups) for
  ``evaluation_time``, then all of it, and the old set is terminated [aws-facts §15].
* ``blue_green``: the clone environment gets a full set of the new version; once it is
  healthy the CNAME is swapped. Clients keep the old answer until their cached TTL
  runs out, so the old environment is kept ``terminate_after`` (default: the CNAME's
  TTL) [aws-facts §15 Blue/green].

Each deployment is watched every second from its start: the minimum number of
instances taking traffic, the seconds with none (downtime), the environment's failed
requests until it ends (blue/green: until the last cached answer expires too), and the
instance-hours above the ones running at its start. Left out: rollbacks, enhanced
health (12 checks over 2 min), ``IgnoreHealthCheck``, and time-based rolling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.engine import make_sampler
from cloudtwin.services.asg_scaling import GONE, IN_SERVICE, LEAVING
from cloudtwin.spec.beanstalk import batch_count, policy_of

if TYPE_CHECKING:
    from cloudtwin.services.asg import ASG
    from cloudtwin.services.beanstalk import Beanstalk, EnvALB
    from cloudtwin.services.instance import Instance
    from cloudtwin.spec.beanstalk import Deployment

TICK: Final = 1.0  # how often a deployment is watched (and waits are re-checked), in seconds


def take_down(inst: Instance) -> None:
    """The application restarts: the instance answers nothing, queued work is refused."""
    inst.live = inst.up = False
    inst._drop_queue()


def bring_up(inst: Instance) -> None:
    inst.live = inst.up = inst.state == "running" and inst.zone_ok


class Deploy:
    """One deployment of one environment."""

    def __init__(self, env: Beanstalk, d: Deployment, index: int) -> None:
        self.env, self.d, self.index = env, d, index
        spec = env.spec
        self.policy = policy_of(spec, d)
        self.size_type = d.batch_size_type or spec.batch_size_type
        self.size = d.batch_size or spec.batch_size
        self.split = d.traffic_split or spec.traffic_split
        self.keep = spec.cname_ttl if d.terminate_after is None else d.terminate_after
        self.draw = make_sampler(spec.deploy_time, env.ctx.stream(f"{env.name}.deploy[{index}]"))
        self.status = "scheduled"
        self.t0 = self.t1 = self.until = 0.0
        self.err0 = self.failed = 0
        self.baseline = self.min_cap = self.instances0 = self.batch = self.max_instances = 0
        self.downtime = 0.0
        self.waiting: tuple[Callable[[], bool], Callable[[], None], float, str] | None = None
        self.closed = False
        self.share: float | None = None
        self.swap_at: float | None = None
        self.extra_lb_s = 0.0
        self._served0: dict[str, int] = {}

    # ---- the watch ----------------------------------------------------------------
    def begin(self, _: object = None) -> None:
        env = self.env
        busy = [r for r in env.runs if r.status == "in_progress"]
        if busy:  # an environment takes one operation at a time
            self.status = f"refused: the deployment of {busy[0].d.version} is in progress"
            self._event(f"deployment of {self.d.version} {self.status}")
            return
        self.t0 = env.engine.now
        self.err0 = env.errors
        self.baseline = self.min_cap = env.capacity()
        self.instances0 = self.max_instances = self._running()
        self.status = "in_progress"
        env.engine.after(TICK, self._tick)
        getattr(self, f"_{self.policy}")()

    def _running(self) -> int:
        return sum(1 for i in self._all() if i.state in ("pending", "running"))

    def _all(self) -> list[Instance]:
        return [i for f in self.env.fleets() for i in f.launched]

    def _event(self, detail: str, **extra: Any) -> None:
        self.env.ctx.event("deployment", f"{self.env.name}: {detail}", component=self.env.name, **extra)

    def _tick(self, _: object = None) -> None:
        cap = self.env.capacity()
        self.min_cap = min(self.min_cap, cap)
        if cap == 0:
            self.downtime += TICK
        if self.status == "in_progress":
            self.max_instances = max(self.max_instances, self._running())
        w = self.waiting
        if w is not None:
            if w[0]():
                self.waiting = None
                w[1]()
            elif self.env.engine.now - w[2] > self.env.spec.health_timeout:
                self.waiting = None
                self._fail(f"{w[3]} not healthy within {self.env.spec.health_timeout:.0f} s")
        if self.status != "in_progress" and self.env.engine.now >= self.until:
            self._close()
            return
        self.env.engine.after(TICK, self._tick)

    def _wait(self, pred: Callable[[], bool], then: Callable[[], None], what: str) -> None:
        self.waiting = (pred, then, self.env.engine.now, what)

    def _finish(self, until: float | None = None) -> None:
        if self.status == "in_progress":
            self.status = "completed"
            self.env.version = self.d.version
        self.t1 = self.env.engine.now
        self.until = max(self.t1, until or 0.0)
        self._event(f"deployment of {self.d.version} {self.status} ({self.policy}, {self.t1 - self.t0:.0f} s)")

    def _fail(self, why: str) -> None:
        self.status = f"failed: {why}"
        self._finish()

    def _close(self) -> None:
        self.closed = True
        self.failed = self.env.errors - self.err0

    # ---- instances ---------------------------------------------------------------------
    def _deploy_to(self, inst: Instance, then: Callable[[], None]) -> None:
        t = self.draw()
        limit = self.env.spec.command_timeout
        take_down(inst)
        self.env.engine.after(min(t, limit), lambda _: self._deployed(inst, t > limit, then))

    def _deployed(self, inst: Instance, timed_out: bool, then: Callable[[], None]) -> None:
        bring_up(inst)
        if timed_out:
            self._fail(f"command timed out on {inst.iid} after {self.env.spec.command_timeout:.0f} s")
            return
        inst.meta["version"] = self.d.version
        then()

    def _all_then(self, insts: list[Instance], each: Callable[[Instance, Callable[[], None]], None],
                  then: Callable[[], None]) -> None:
        """``each(inst, done)`` for every instance at once; ``then()`` when all are done."""
        left = [len(insts)]

        def one() -> None:
            left[0] -= 1
            if left[0] == 0 and self.status == "in_progress":
                then()

        if not insts:
            then()
        for inst in insts:
            each(inst, one)

    def _healthy(self, insts: list[Instance], lbs: list[Any]) -> Callable[[], bool]:
        def pred() -> bool:
            return all(i.state in ("stopped", "terminated")
                       or (i.up and all(lb.target_state(i) == "healthy" for lb in lbs)) for i in insts)
        return pred

    def _serving(self, g: ASG) -> list[Instance]:
        return [m for m in g.members if m.meta["life"] == IN_SERVICE and m.state == "running"]

    def _launched(self, insts: list[Instance]) -> list[Instance]:
        for i in insts:
            i.meta["version"] = self.d.version
        return insts

    def _gone(self, insts: list[Instance]) -> Callable[[], bool]:
        return lambda: all(i.meta.get("life") == GONE or i.state == "terminated" for i in insts)

    # ---- the policies ------------------------------------------------------------------
    def _all_at_once(self) -> None:
        insts = [i for f in self.env.fleets() for i in f.instances if i.state == "running"]
        self._event(f"deploying {self.d.version} to all {len(insts)} instance(s) at once")
        self._all_then(insts, self._deploy_to, self._finish)

    def _rolling(self, olds: list[Instance] | None = None, then: Callable[[], None] | None = None) -> None:
        g = self.env.groups[0]
        olds = self._serving(g) if olds is None else olds
        b = self.batch = batch_count(self.size_type, self.size, len(olds))
        batches = [olds[k:k + b] for k in range(0, len(olds), b)]
        self._event(f"deploying {self.d.version} in {len(batches)} batch(es) of up to {b}", batch=b)
        self._next_batch(g, batches, then or self._finish)

    def _next_batch(self, g: ASG, batches: list[list[Instance]], then: Callable[[], None]) -> None:
        if not batches:
            then()
            return
        batch = batches.pop(0)

        def drained_then_deploy(inst: Instance, done: Callable[[], None]) -> None:
            g.withdraw(inst, lambda: self._deploy_to(inst, done))

        def back() -> None:
            for inst in batch:
                g.announce(inst)
            self._wait(self._healthy(batch, g.balancers), lambda: self._next_batch(g, batches, then),
                       "batch " + ", ".join(i.iid for i in batch))

        self._event("batch out of service: " + ", ".join(i.iid for i in batch))
        self._all_then(batch, drained_then_deploy, back)

    def _rolling_with_additional_batch(self) -> None:
        g = self.env.groups[0]
        olds = self._serving(g)
        n = len(olds)
        b = batch_count(self.size_type, self.size, n)
        top = g.max_size
        g.max_size = max(top, n + b)  # the extra batch may exceed the group's maximum for the deployment
        extra = self._launched(g.set_desired(n + b, f"deployment {self.d.version}: additional batch"))

        def scale_back() -> None:
            g.max_size = top
            going = [m for m in g.members if m.meta["life"] in (IN_SERVICE, LEAVING)]
            g.set_desired(n, f"deployment {self.d.version}: additional batch done")
            left = [m for m in going if m.meta["life"] not in (IN_SERVICE, LEAVING)]
            self._wait(self._gone(left), self._finish, "scale-in")

        self._wait(self._healthy(extra, g.balancers), lambda: self._rolling(olds, scale_back), "additional batch")

    def _immutable(self) -> None:
        g = self.env.groups[0]
        olds = self._serving(g)
        if not olds:
            self._finish()
            return
        self._event(f"temporary Auto Scaling group: launching 1 instance of {self.d.version}, then "
                    f"{len(olds) - 1} more once it is healthy")
        before = set(map(id, g.members))
        olds[0].meta["life"] = LEAVING  # room for one new instance; the old one keeps serving
        g.set_desired(g.desired, f"deployment {self.d.version}: immutable, first instance", always=True)
        first = self._launched([m for m in g.members if id(m) not in before])

        def rest() -> None:
            seen = set(map(id, g.members))
            for o in olds[1:]:
                if o.meta["life"] == IN_SERVICE:  # one the group terminated meanwhile stays gone
                    o.meta["life"] = LEAVING
            g.set_desired(g.desired, f"deployment {self.d.version}: immutable, the rest", always=True)
            new = first + self._launched([m for m in g.members if id(m) not in seen])
            self._wait(self._healthy(new, g.balancers), retire, "new instances")

        def retire() -> None:
            self._event(f"all new instances healthy: terminating the {len(olds)} old ones")
            for o in olds:
                if o.meta["life"] in (IN_SERVICE, LEAVING):
                    g.retire(o)
            self._wait(self._gone(olds), self._finish, "old instances' termination")

        self._wait(self._healthy(first, g.balancers), rest, "first new instance")

    def _traffic_splitting(self) -> None:
        env = self.env
        old, new = env.groups[0], env.groups[1]
        lb: EnvALB = env.pairs[0][0]
        n = len(self._serving(old))
        new.max_size = max(new.max_size, n)
        fresh = self._launched(new.set_desired(n, f"traffic splitting: {self.d.version}"))
        pct = self.split.new_version_percent
        w = lb.weights
        assert w is not None
        k_old, k_new = lb.group_of[id(old)], lb.group_of[id(new)]

        def split() -> None:
            w[k_old], w[k_new] = 100 - pct, pct
            self._served0 = lb.served_by()
            self._event(f"{pct} % of traffic to {self.d.version} for {self.split.evaluation_time:.0f} s")
            env.engine.after(self.split.evaluation_time, lambda _: shift())

        def shift() -> None:
            if self.status != "in_progress":
                return
            self.share = self._new_share(lb)
            w[k_old], w[k_new] = 0, 100
            lb.rebuild()
            olds = self._serving(old)
            old.min_size = 0
            old.set_desired(0, f"traffic splitting: {self.d.version} takes all traffic")
            new.min_size = env.spec.capacity.min
            env.groups.reverse()
            self._wait(self._gone(olds), self._finish, "old instances' termination")

        self._wait(self._healthy(fresh, [lb]), split, "new instances")

    def _new_share(self, lb: EnvALB) -> float:
        now = lb.served_by()
        version = {i.iid: i.meta.get("version") for i in self._all()}
        total = new = 0
        for iid, n in now.items():
            d = n - self._served0.get(iid, 0)
            total += d
            if version.get(iid) == self.d.version:
                new += d
        return new / total if total else 0.0

    def _blue_green(self) -> None:
        env = self.env
        (blue_lb, blue), (green_lb, green) = env.pairs[0], env.pairs[1]
        n = len(self._serving(blue))
        green_lb.provision(True)
        green.max_size = max(green.max_size, n)
        fresh = self._launched(green.set_desired(n, f"blue/green: clone environment for {self.d.version}"))

        def swap() -> None:
            assert env.cname is not None
            env.cname.records[0].target = green_lb
            self.swap_at = env.engine.now
            self._event(f"CNAME swap to {green_lb.name}; clients keep the old answer up to "
                        f"{env.spec.cname_ttl:.0f} s; old environment kept {self.keep:.0f} s")
            env.engine.after(self.keep, lambda _: retire())

        def retire() -> None:
            olds = self._serving(blue)
            blue.min_size = 0
            blue.set_desired(0, "blue/green: old environment terminated")
            green.min_size = env.spec.capacity.min

            def gone() -> None:
                self.extra_lb_s = green_lb.alive_hours() * 3600.0
                blue_lb.provision(False)
                env.pairs.reverse()
                env.groups[0] = green
                assert self.swap_at is not None
                self._finish(until=self.swap_at + env.spec.cname_ttl)

            self._wait(self._gone(olds), gone, "old environment's termination")

        self._wait(self._healthy(fresh, [green_lb]), swap, "clone environment")

    # ---- results -----------------------------------------------------------------------
    def extra_instance_hours(self) -> float:
        t0, t1 = self.t0, self.t1 if self.status != "in_progress" else self.env.engine.now
        secs = 0.0
        for i in self._all():
            end = i.ended_at if i.ended_at is not None else t1
            secs += max(0.0, min(end, t1) - max(i.launched_at, t0))
        return max(0.0, secs - self.instances0 * (t1 - t0)) / 3600.0

    def outcome(self) -> dict[str, Any]:
        if self.status == "scheduled" or self.status.startswith("refused"):
            return {"at": self.d.at, "version": self.d.version, "policy": self.policy, "status": self.status}
        out: dict[str, Any] = {
            "at": self.d.at, "version": self.d.version, "policy": self.policy, "status": self.status,
            "duration_s": round((self.t1 if self.status != "in_progress" else self.env.engine.now) - self.t0, 3),
            "downtime_s": self.downtime, "capacity_before": self.baseline, "min_capacity": self.min_cap,
            "failed_requests": self.failed if self.closed else self.env.errors - self.err0,
            "extra_instance_hours": round(self.extra_instance_hours(), 6),
            "instances_before": self.instances0, "max_instances": self.max_instances,
        }
        if self.batch:
            out["batch"] = self.batch
        if self.share is not None:
            out["new_version_share"] = round(self.share, 4)
        if self.swap_at is not None:
            out["swap_at"] = round(self.swap_at, 3)
            out["extra_lb_hours"] = round(self.extra_lb_s / 3600.0, 6)
        return out
