"""Usage measured by a run, per component, in billing units.

Instance-hours count time from launch until stop or termination (the time an
instance is billed, per second with a 60 s minimum [aws-facts §3/§19, third
party]), split by purchase option: on-demand, reserved (on-demand hours covered
by a reservation) and spot. Public IPv4 addresses are billed per IP-hour whether
in use or idle [aws-facts §3]. A component may also report its own usage with a
``usage()`` method returning ``{usage_type: quantity}``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudtwin.simulation import Simulation

PURCHASE_PREFIX = {"on_demand": "BoxUsage", "reserved": "ReservedUsage", "spot": "SpotUsage"}
EC2_MINIMUM_S = 60.0


def _fleet_usage(comp: Any, now: float) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    itype = comp.spec.instance_type
    for inst in comp.instances:
        end = inst.ended_at if inst.ended_at is not None else now
        seconds = max(end - inst.launched_at, EC2_MINIMUM_S)
        out[f"{PURCHASE_PREFIX.get(inst.purchase, 'BoxUsage')}:{itype}"] += seconds / 3600.0
        if inst.public_ip and not inst.public_ip.startswith("198.51."):
            out["PublicIPv4:InUseAddress"] += seconds / 3600.0
    if getattr(comp, "eip", ""):
        out["PublicIPv4:InUseAddress"] += now / 3600.0  # an Elastic IP is billed while allocated
    return dict(out)


def usage_of(sim: Simulation) -> dict[str, dict[str, float]]:
    """``{component: {usage_type: quantity}}`` for the run so far."""
    now = sim.engine.now
    out: dict[str, dict[str, float]] = {}
    for name, comp in sim.components.items():
        own = getattr(comp, "usage", None)
        if own is not None:
            out[name] = dict(own())
        elif hasattr(comp, "instances") and hasattr(comp.spec, "instance_type"):
            out[name] = _fleet_usage(comp, now)
        else:
            out[name] = {}
    return out
