"""Random failures: each instance (EC2 instance, Auto Scaling group member, ECS task, database
primary, cache shard primary) fails at exponentially distributed times with the spec's mean time
between failures (:mod:`cloudtwin.spec.failures`), so a long run shows the availability a design
reaches without scripted faults.

A component with ``n`` live instances fails at rate ``n / mtbf`` (a Poisson process). The wait is
drawn again at least every minute, so the rate follows the population as it scales (exact for a
population constant over each minute: the exponential is memoryless). A failure is what the
scripted fault of that type does:

* ``ec2``: the instance stops and starts again (down for a boot; AWS's automatic recovery
  moves a failed instance to another host). The model gives it a new public IP unless it has an
  Elastic IP, where real recovery keeps its addresses: a simplification.
* ``asg``: the instance dies; the group finds out at its next health check and replaces it.
* ``ecs``: the task stops; the service starts another.
* ``rds``/``aurora``: the primary fails; Multi-AZ fails over, Single-AZ reboots.
* ``elasticache``: a shard's primary fails; a replica is promoted, or the node is replaced empty.

Which instance fails: one drawn uniformly from the live ones; for fleets and ECS, the fault then
takes the first live instance in that instance's zone (the same in distribution). Each draw comes
from the named random stream ``failures.<component>``. Left out: standby and replica failures
(they change no request's outcome until a failover needs them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudtwin.engine import stream
from cloudtwin.spec.failures import mtbf_of

if TYPE_CHECKING:
    from cloudtwin.component import Component
    from cloudtwin.simulation import Simulation

RECHECK = 60.0  # seconds: the longest wait before the rate is drawn again


class _Process:
    """The failures of one component's instances."""

    def __init__(self, sim: Simulation, comp: Component, mtbf: float) -> None:
        self.sim, self.comp, self.mtbf = sim, comp, mtbf
        self.gen = stream(sim.seed, f"failures.{comp.name}")
        self.failures = 0
        self.exposure = 0.0  # instance-seconds at risk
        self._n = 0
        self._since = 0.0

    def _pool(self) -> list[Any]:
        c: Any = self.comp
        if c.kind in ("rds", "aurora"):
            return [c.primary] if c.primary.state == "up" else []
        if c.kind == "elasticache":
            return [s for s in c.shards if s.state == "up"]
        pool = c.tasks if c.kind == "ecs" else c.instances
        return [i for i in pool if i.state == "running"]

    def _count(self, n: int) -> None:
        now = self.sim.engine.now
        self.exposure += self._n * (now - self._since)
        self._n, self._since = n, now

    def next(self, _: object = None) -> None:
        n = len(self._pool())
        self._count(n)
        wait = self.gen.exponential(self.mtbf / n) if n else RECHECK + 1.0
        if wait > RECHECK:
            self.sim.engine.after(RECHECK, self.next)
        else:
            self.sim.engine.after(float(wait), self.fail)

    def fail(self, _: object = None) -> None:
        pool = self._pool()
        if pool:
            victim = pool[int(self.gen.integers(len(pool)))]
            self.failures += 1
            notes = self._act(victim)
            self.sim.event("failure", f"{self.comp.name}: instance failure (MTBF {self.mtbf / 3600:g} h): "
                           + "; ".join(notes))
        self.next()

    def _act(self, victim: Any) -> list[str]:
        c: Any = self.comp
        kind = c.kind
        if kind == "ec2":
            return c.stop(1, victim.zone, 0.0)  # type: ignore[no-any-return]
        if kind in ("asg", "ecs"):
            return c.terminate(1, victim.zone)  # type: ignore[no-any-return]
        if kind == "elasticache":
            return [c.primary_failure(victim.idx)]
        return c.failover("instance failure")  # type: ignore[no-any-return]

    def close(self) -> dict[str, Any]:
        self._count(self._n)
        return {"mtbf_h": round(self.mtbf / 3600, 6), "failures": self.failures,
                "instance_hours": round(self.exposure / 3600, 3),
                "expected": round(self.exposure / self.mtbf, 3)}


def schedule(sim: Simulation) -> None:
    """Start the failure process of every component the spec's ``failures`` covers."""
    procs: dict[str, _Process] = {}
    for name, comp in sim.components.items():
        mtbf = mtbf_of(sim.arch, name)
        if mtbf is not None:
            procs[name] = _Process(sim, comp, mtbf)
            procs[name].next()
    sim.failure_processes = procs


def summary(sim: Simulation) -> dict[str, Any]:
    """The results' ``failures`` key: per component, the MTBF, the failures, the instance-hours at
    risk and the failures expected from them (instance-hours / MTBF)."""
    by = {n: p.close() for n, p in sim.failure_processes.items()}
    return {"by_component": by, "total": sum(p["failures"] for p in by.values())}
