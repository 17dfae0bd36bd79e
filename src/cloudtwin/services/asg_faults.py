"""Faults on an EC2 Auto Scaling group: abrupt termination, planned replacement, spot interruption.

* ``terminate``: instances die at once; the group only finds out at its next
  health check, then terminates and replaces them. A ``sessions`` timeline entry
  per victim gives the live sessions whose in-memory state dies with it.
* ``replace``: one instance at a time, launch a replacement, wait until it is in
  service and healthy in the group's load balancers, then deregister, drain and
  terminate the old one, and go on with the next.
* ``spot_interruption``: a 2-minute notice, then termination [aws-facts §3]. With
  ``capacity_rebalance`` the group launches a replacement on the notice (the
  rebalance recommendation always comes first [aws-facts §3]) and drains the old
  instance once the new one is healthy, or at the latest when it is interrupted
  [aws-facts §2 capacity rebalancing]. Without it the instance is replaced only
  after it is gone and has failed a health check.

Left out: termination lifecycle hooks, and the check that the new spot pool is at
least as available as the old one.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Final

from cloudtwin.services.asg_scaling import IN_SERVICE, LEAVING
from cloudtwin.services.instance import Instance

if TYPE_CHECKING:
    from cloudtwin.services.asg import ASG

SPOT_NOTICE: Final = 120.0  # 2-minute interruption notice [aws-facts §3]


class Disruptions:
    """The fault hooks of one group."""

    def __init__(self, group: ASG) -> None:
        self.group = group
        self.queue: deque[Instance] = deque()  # a planned replacement's instances, oldest first

    def _serving(self) -> list[Instance]:
        return [m for m in self.group.members if m.meta["life"] == IN_SERVICE and m.state == "running"]

    def terminate(self, count: int, zone: str | None) -> list[str]:
        g = self.group
        victims = [m for m in g.members if m.meta["life"] in (IN_SERVICE, LEAVING) and m.state == "running"
                   and (zone is None or m.zone == zone)][:count]
        for v in victims:
            self._note_sessions(v)
            v.kill("terminated")  # abrupt: the group finds out at its next health check
        g.note()
        return [f"terminated {', '.join(v.iid for v in victims) or 'nothing'}"]

    def _note_sessions(self, inst: Instance) -> None:
        """Timeline: the live sessions whose in-memory state dies with ``inst``."""
        ctx = self.group.ctx
        for w in ctx.workloads.values():
            ss = w.spec.sessions
            if ss is None or ss.state != "instance":
                continue
            pinned, live = w.pinned_to(inst), len(w.live_sessions)
            ctx.event("sessions", f"{inst.iid} holds the state of {pinned} of {live} live sessions of {w.name}",
                      workload=w.name, instance=inst.iid, pinned=pinned, live=live)

    def replace(self) -> list[str]:
        todo = self._serving()
        self.queue.extend(todo)
        self._next()
        return [f"replacing {len(todo)} instance(s) one at a time"]

    def _next(self) -> None:
        q = self.queue
        while q:
            old = q.popleft()
            if old.meta["life"] == IN_SERVICE and old.state == "running":
                break
        else:
            return
        g = self.group
        new = g.launch_replacement(old, old.purchase)
        if new is None:
            q.clear()
            return
        old.meta["on_gone"] = self._next
        g.ctx.event("lifecycle", f"replacing {old.iid} ({old.zone}): launching {new.iid} ({new.zone})")

    def spot_interruption(self, count: int) -> list[str]:
        g = self.group
        out = []
        for old in [m for m in self._serving() if m.purchase == "spot"][:count]:
            g.engine.after(SPOT_NOTICE, self._interrupted, old)
            new = g.launch_replacement(old, "spot") if g.spec.capacity_rebalance else None
            out.append(f"{old.iid} notice, terminates in {SPOT_NOTICE:.0f} s"
                       + (f", replacement {new.iid} launching ({new.zone})" if new else ""))
        return out or ["no spot instance in service"]

    def _interrupted(self, inst: Instance) -> None:
        if inst.state != "running":
            return
        g = self.group
        inst.kill("terminated")
        g.note()
        g.ctx.event("lifecycle", f"{inst.iid} spot instance interrupted (terminated)")
        if inst.meta["life"] == LEAVING:  # its replacement is not healthy yet: leave now
            g.retire(inst)
