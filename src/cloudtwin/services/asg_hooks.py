"""Auto Scaling lifecycle hooks, and the Elastic IP a group's new instance attaches.

Lifecycle hooks (``lifecycle_hooks:``)
--------------------------------------
* **Launching** (``autoscaling:EC2_INSTANCE_LAUNCHING``): a launched instance waits in
  ``Pending:Wait`` while it boots. The hook's action (the target a notification reaches, a
  Lambda function through EventBridge, say) runs for a draw of ``action_time`` from the
  launch and completes the hook with ``CONTINUE``; ``associate_address`` first moves the
  group's Elastic IP to the instance (:mod:`cloudtwin.services.eip`). The instance goes
  ``InService`` once it has booted *and* every launching hook has completed. A hook that
  nobody completes (``action: none``) ends after ``heartbeat_timeout`` (default 3,600 s,
  30-7,200 s) with its ``default_result`` (default ``ABANDON``) [aws-facts §2 Lifecycle-hook
  timeout, Lifecycle-hook default result]. On launch, ``ABANDON`` terminates the instance
  and the group launches a replacement; ``CONTINUE`` lets it go in service.
* **Terminating** (``autoscaling:EC2_INSTANCE_TERMINATING``): an instance leaving the group
  (deregistered and drained) waits in ``Terminating:Wait`` until the hook completes or times
  out; either result then terminates it [aws-facts §2 Lifecycle-hook default result]. The
  group's replacement does not wait for it.

Hooks on one transition run together; the instance waits for the last. Recording a
heartbeat (and so the 48 h / 100 x timeout cap) is left out: no action here records one.

Elastic IP by user data (``elastic_ip`` without an ``associate_address`` hook): the new
instance's user data calls AssociateAddress as it boots, which needs credentials on the
instance: with ``instance_role`` the address moves when the instance goes in service (plus
the association time); without one the call is refused and the address stays where it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudtwin.engine import make_sampler
from cloudtwin.services import eip as eips
from cloudtwin.services.instance import Instance

if TYPE_CHECKING:
    from cloudtwin.services.asg import ASG


class Hooks:
    """The lifecycle hooks of one group, and its Elastic IP's moves."""

    def __init__(self, group: ASG) -> None:
        self.group = group
        ctx = group.ctx
        specs = group.spec.lifecycle_hooks
        self.launching = [h for h in specs if h.transition == "launching"]
        self.terminating = [h for h in specs if h.transition == "terminating"]
        self.times = [make_sampler(h.action_time, ctx.stream(f"{group.name}.hook[{k}]")) for k, h in enumerate(specs)]
        self.index = {id(h): k for k, h in enumerate(specs)}
        self.by_hook = any(h.action == "associate_address" for h in self.launching)
        self.completed = self.abandoned = self.timed_out = 0
        self.denied = False

    # ---- launching ----------------------------------------------------------------------
    def launched(self, inst: Instance) -> None:
        """Start the launching hooks of a new instance (it waits in Pending:Wait)."""
        if not self.launching:
            return
        inst.meta["hooks"] = len(self.launching)
        eng = self.group.engine
        for h in self.launching:
            k = self.index[id(h)]
            if h.action != "none":
                eng.after(self.times[k](), self._act, (inst, h))
            eng.after(h.heartbeat_timeout, self._timeout, (inst, h))

    def holds(self, inst: Instance) -> bool:
        """At the end of the boot: True while a launching hook still holds ``inst`` in Pending:Wait."""
        inst.meta["booted"] = True
        return bool(inst.meta.get("hooks"))

    def _act(self, job: tuple[Instance, Any]) -> None:
        inst, hook = job
        if hook.action == "associate_address" and self._waiting(inst, hook):
            g = self.group
            eips.associate(g.ctx, g.eip, inst, f"{g.name} launch hook", lambda: self._complete(inst, hook, "CONTINUE"))
        else:
            self._complete(inst, hook, "CONTINUE")

    def _timeout(self, job: tuple[Instance, Any]) -> None:
        inst, hook = job
        if self._waiting(inst, hook):
            self.timed_out += 1
            self.group.ctx.event("lifecycle", f"{inst.iid}: launch hook timed out after "
                                 f"{hook.heartbeat_timeout:.0f} s, default result {hook.default_result}")
            self._complete(inst, hook, hook.default_result)

    def _waiting(self, inst: Instance, hook: Any) -> bool:
        done = inst.meta.setdefault("hooks_done", set())
        return id(hook) not in done and inst.meta.get("hooks", 0) > 0 and inst.state == "pending"

    def _complete(self, inst: Instance, hook: Any, result: str) -> None:
        if not self._waiting(inst, hook):
            return
        inst.meta["hooks_done"].add(id(hook))
        g = self.group
        if result == "ABANDON":  # on launch, ABANDON terminates and replaces [aws-facts §2]
            self.abandoned += 1
            inst.meta["hooks"] = 0
            g.ctx.event("lifecycle", f"{inst.iid}: launch abandoned, terminating and replacing it")
            g.retire(inst)
            g._reconcile()
            return
        self.completed += 1
        inst.meta["hooks"] -= 1
        if inst.meta["hooks"] == 0 and inst.meta.get("booted"):
            g._booted(inst)

    # ---- terminating ------------------------------------------------------------------------
    def leaving(self, inst: Instance, then: Any) -> None:
        """``inst`` is drained: ``then()`` once its terminating hooks completed or timed out."""
        if not self.terminating or inst.state != "running":
            then()
            return
        left = [len(self.terminating)]
        eng = self.group.engine

        def one(timed_out: bool) -> None:
            if timed_out:
                self.timed_out += 1
            else:
                self.completed += 1
            left[0] -= 1
            if left[0] == 0:
                then()

        for h in self.terminating:
            k = self.index[id(h)]
            took = h.heartbeat_timeout if h.action == "none" else self.times[k]()
            eng.after(min(took, h.heartbeat_timeout), one, took >= h.heartbeat_timeout)
        self.group.ctx.event("lifecycle", f"{inst.iid} in Terminating:Wait")

    # ---- the Elastic IP -----------------------------------------------------------------------
    def in_service(self, inst: Instance, *, initial: bool) -> None:
        """A new instance is in service: its user data moves the group's Elastic IP to it."""
        g = self.group
        if not g.eip or self.by_hook and not initial:
            return
        if initial:  # set up before the run starts
            eips.bind(g.ctx, g.eip, inst)
        elif g.spec.instance_role:
            eips.associate(g.ctx, g.eip, inst, f"user data of {inst.iid}")
        elif not self.denied:
            self.denied = True
            g.ctx.event("address", f"user data of {inst.iid}: AssociateAddress refused (no instance role); "
                        f"Elastic IP {g.eip} stays where it was", address=g.eip, instance=inst.iid)

    def stats(self) -> dict[str, int]:
        return {"completed": self.completed, "abandoned": self.abandoned, "timed_out": self.timed_out}
