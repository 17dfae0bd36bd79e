"""Usage measured by a run, per component, in billing units: what the bill prices.

Each component reports its own usage (:meth:`cloudtwin.component.Component.usage`):
- EC2/ASG instance-hours by purchase option and public IPv4 hours
  (:mod:`cloudtwin.services.fleet`); load balancers their hours and capacity units
  (:mod:`cloudtwin.services.elb`); Route 53 its zone, health checks and queries;
  the serverless and data services their requests, GB-seconds, bytes...;
- a component that reports nothing bills its configured size over the window
  (:mod:`cloudtwin.pricing.meters`): caches, databases and storage.

``(network)`` is the run's own line: GB sent to the internet = each workload's
successful replies x its ``response_size`` (inbound is free [aws-facts §19]; error
replies are assumed to carry no body); cross-AZ GB = the ``size`` of every handler
call that crossed zones, billed once leaving one zone and once entering the other
("$0.01/GB each direction", see prices.csv), so 2 x the bytes.

Pricing (:mod:`cloudtwin.pricing`) is then a pure function of this usage and the
price table; nothing in ``pricing/`` reads a live model.

Left out: an unused reservation's hours (AWS bills a reservation for its whole
term), traffic between a load balancer and its targets (free across zones for
an ALB; an NLB's cross-zone traffic is billed), RDS and ElastiCache replication
traffic, and the 100 GB/month of free internet egress.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudtwin.pricing.lcu import GIB
from cloudtwin.pricing.meters import configured

if TYPE_CHECKING:
    from cloudtwin.pricing.table import PriceTable
    from cloudtwin.simulation import Simulation

NETWORK = "(network)"  # not a valid component name, so it cannot clash with one


def _network_usage(sim: Simulation) -> tuple[dict[str, float], list[dict[str, Any]]]:
    out: dict[str, float] = {}
    unmeasured: list[dict[str, Any]] = []
    egress = 0.0
    for name, w in sim.workloads.items():
        if w.entry.bills_egress:
            continue  # the entry (e.g. CloudFront) bills its own transfer out
        size = w.spec.response_size
        if size is None:
            if w.succeeded:
                unmeasured.append({"component": NETWORK, "usage_type": "DataTransfer-Out-Bytes",
                                   "reason": f"workload {name} has no response_size: its "
                                             f"{w.succeeded} replies to the internet are not counted"})
            continue
        egress += w.succeeded * size
    if egress > 0:
        out["DataTransfer-Out-Bytes"] = egress / GIB
    net = sim.network
    if net.cross_az_bytes > 0:
        out["DataTransfer-Regional-Bytes"] = 2.0 * net.cross_az_bytes / GIB
    unsized = net.cross_az_unsized
    if unsized:
        unmeasured.append({"component": NETWORK, "usage_type": "DataTransfer-Regional-Bytes",
                           "reason": f"{unsized} cross-AZ calls have no `size:`, so their bytes are not counted"})
    return out, unmeasured


def usage_of(sim: Simulation) -> dict[str, dict[str, float]]:
    """``{component: {usage_type: quantity}}`` for the run so far."""
    return measured(sim)[0]


def measured(sim: Simulation) -> tuple[dict[str, dict[str, float]], list[dict[str, Any]], list[str]]:
    """Usage per component for the run so far, what could not be measured (with why), and notes."""
    hours = sim.engine.now / 3600.0
    out: dict[str, dict[str, float]] = {}
    unmeasured: list[dict[str, Any]] = []
    notes: list[str] = []
    for name, comp in sim.components.items():
        own = comp.usage()
        out[name] = dict(own) if own is not None else configured(comp.spec, sim.arch, hours)
        unmeasured.extend({"component": name, **u} for u in comp.unmeasured())
        notes.extend(comp.usage_notes())
    net, missing = _network_usage(sim)
    if net:
        out[NETWORK] = net
    unmeasured.extend(missing)
    return out, unmeasured, notes


def bill(sim: Simulation, prices: PriceTable | None = None) -> dict[str, Any]:
    """The usage-based cost of the run so far (the results' ``cost`` block)."""
    from cloudtwin.pricing import bill_usage, builtin

    usage, unmeasured, notes = measured(sim)
    return bill_usage(usage, sim.engine.now / 3600.0, prices or sim.prices or builtin(), sim.arch.region,
                      unmeasured=unmeasured, notes=notes)
