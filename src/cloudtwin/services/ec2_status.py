"""EC2 status checks, and the two EC2 actions a CloudWatch alarm may take on an instance.

* ``status_check_failure`` fault (:func:`impair`): the host under an instance fails, so
  its **system** status check fails (``StatusCheckFailed_System`` = 1,
  ``StatusCheckFailed`` = 1). The instance stops answering (connections fail
  ``unavailable``) but stays ``running``: it is still billed and keeps its addresses, so
  clients of its Elastic IP keep reaching a dead host until the address moves. With a
  ``duration`` the host comes back on its own, else only a recovery (or replacement) ends it.
* **Recover** (:func:`recover`): the instance is moved to new hardware and restarted; the
  recovered instance keeps its instance ID, private and Elastic IP addresses and metadata
  (EC2 user guide, "Recover your instance"; not in aws-facts). It is down for one draw of
  the fleet's ``boot_time`` (assumption: a recovery takes a boot), then healthy.
* **Reboot** (:func:`reboot`): the instance restarts in place, down for one draw of
  ``boot_time`` (assumption). A reboot fixes an *instance* status-check failure but not a
  *system* one, which needs AWS to repair the host or the instance to move (stop/start or
  recover) (EC2 user guide, "Status checks for your instances"; not in aws-facts), so an
  impaired instance comes back still impaired.

What the metric reads (:func:`status_check_failed`): 1 when an instance of the fleet is
running with a failed check at the end of the minute, 0 when every running instance
passes, and no data (missing) when no instance is running (a stopped or terminated
instance reports no status checks).

Left out: EC2's *simplified automatic recovery*, on by default for supported instance types
(EC2 API ModifyInstanceMaintenanceOptions, ``AutoRecovery: default | disabled``): here an
impaired instance stays impaired unless an alarm's ``ec2:recover`` or a replacement ends it,
as with ``AutoRecovery: disabled`` or an unsupported type. Also the instance status check's
own causes (exhausted memory, a corrupt file system), scheduled events, and the 1-minute lag
of the status-check metric itself.
"""

from __future__ import annotations

from typing import Any

from cloudtwin.services.instance import Instance


def _running(fleet: Any) -> list[Instance]:
    return [i for i in fleet.instances if i.state == "running"]


def impair(fleet: Any, count: int, duration: float | None) -> list[str]:
    """``count`` running instances fail their system status check, for ``duration`` or until fixed."""
    victims = [i for i in _running(fleet) if "impaired" not in i.meta][:count]
    for inst in victims:
        inst.set_impaired("system")
        if duration is not None:
            fleet.engine.after(duration, _host_back, inst)
    if hasattr(fleet, "note"):
        fleet.note()
    return [f"{', '.join(i.iid for i in victims) or 'nothing'} failed its system status check"]


def _host_back(inst: Instance) -> None:
    if inst.meta.get("impaired") == "system" and inst.state == "running":
        inst.set_impaired(None)
        inst.ctx.event("recovery", f"{inst.iid} passes its status checks again")


def status_check_failed(fleet: Any) -> float | None:
    """``StatusCheckFailed_System`` of the fleet now: 1, 0, or None (no running instance)."""
    running = _running(fleet)
    if not running:
        return None
    return 1.0 if any(i.meta.get("impaired") == "system" for i in running) else 0.0


def recover(fleet: Any) -> list[str]:
    """Recover every running instance whose system status check fails."""
    out = []
    for inst in _running(fleet):
        if inst.meta.get("impaired") != "system" or inst.meta.get("recovering"):
            continue
        inst.meta["recovering"] = True
        delay = fleet.boot()
        fleet.engine.after(delay, _recovered, inst)
        out.append(f"recovering {inst.iid} on new hardware (back in {delay:.0f} s, same ID and addresses)")
    return out or ["recover: no instance with a failed system status check"]


def _recovered(inst: Instance) -> None:
    inst.meta.pop("recovering", None)
    if inst.state != "running":
        return
    inst.set_impaired(None)
    inst.ctx.event("lifecycle", f"{inst.iid} recovered, public IP {inst.public_ip or 'none'}")


def reboot(fleet: Any) -> list[str]:
    """Reboot every running instance: down for a boot time; a system failure outlives it."""
    out = []
    for inst in _running(fleet):
        if inst.meta.get("rebooting"):
            continue
        was = inst.meta.get("impaired")
        inst.meta["rebooting"] = True
        inst.set_impaired("reboot" if was is None else was)
        delay = fleet.boot()
        fleet.engine.after(delay, _rebooted, inst)
        out.append(f"rebooting {inst.iid} (back in {delay:.0f} s" + (", host still impaired)" if was else ")"))
    return out or ["reboot: no running instance"]


def _rebooted(inst: Instance) -> None:
    inst.meta.pop("rebooting", None)
    if inst.state != "running":
        return
    if inst.meta.get("impaired") == "reboot":
        inst.set_impaired(None)
        inst.ctx.event("lifecycle", f"{inst.iid} rebooted")
    else:
        inst.ctx.event("lifecycle", f"{inst.iid} rebooted; its system status check still fails")
