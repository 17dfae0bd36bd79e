"""Usage measured by a run, per component, in billing units.

- EC2/ASG instance-hours count time from launch until stop or termination (the
  time an instance is billed, per second with a 60 s minimum [aws-facts §3/§19,
  third party]), split by purchase option: on-demand, reserved (on-demand hours
  covered by a reservation) and spot. Public IPv4 addresses are billed per
  IP-hour whether in use or idle [aws-facts §3]; an Elastic IP for the whole
  window it is allocated.
- Load balancers: LB-hours and public IPs over the window, plus LCU-hours from
  the requests they carried (:mod:`cloudtwin.pricing.lcu`).
- Route 53: the hosted zone and health checks over the window, and the queries
  resolvers sent it (a client's cached answer sends none). Queries answered
  from an alias record are free [aws-facts §4].
- Caches, databases and storage bill their configured size over the window
  (:mod:`cloudtwin.pricing.meters`); RDS with its 10-minute minimum.
- ``(network)``: GB sent to the internet = each workload's successful replies x
  its ``response_size`` (inbound is free [aws-facts §19]; error replies are
  assumed to carry no body); cross-AZ GB = the ``size`` of every handler call
  that crossed zones, billed once leaving one zone and once entering the other
  ("$0.01/GB each direction", see prices.csv), so 2 x the bytes.

A component may report its own usage with a ``usage()`` method returning
``{usage_type: quantity}``; that replaces the meters here.

Left out: an unused reservation's hours (AWS bills a reservation for its whole
term), traffic between a load balancer and its targets (free across zones for
an ALB; an NLB's cross-zone traffic is billed), RDS and ElastiCache replication
traffic, and the 100 GB/month of free internet egress.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from cloudtwin.pricing.lcu import GIB, lb_bytes, lb_traffic
from cloudtwin.pricing.meters import LB_KINDS, PUBLIC_IP, PURCHASE_PREFIX, configured, lb_hours

if TYPE_CHECKING:
    from cloudtwin.simulation import Simulation

EC2_MINIMUM_S = 60.0
NETWORK = "(network)"  # not a valid component name, so it cannot clash with one


def _fleet_usage(comp: Any, now: float) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    itype = comp.spec.instance_type
    for inst in comp.instances:
        end = inst.ended_at if inst.ended_at is not None else now
        seconds = max(end - inst.launched_at, EC2_MINIMUM_S)
        out[f"{PURCHASE_PREFIX.get(inst.purchase, 'BoxUsage')}:{itype}"] += seconds / 3600.0
        if inst.public_ip and not inst.public_ip.startswith("198.51."):
            out[PUBLIC_IP] += seconds / 3600.0
    if getattr(comp, "eip", ""):
        out[PUBLIC_IP] += now / 3600.0  # an Elastic IP is billed while allocated
    return dict(out)


def _route53_usage(comp: Any, hours: float) -> dict[str, float]:
    out = configured(comp.spec, comp.sim.arch, hours)
    alias = getattr(comp, "alias_queries", 0)
    if comp.queries - alias > 0:
        out["DNS-Queries"] = float(comp.queries - alias)
    if alias:
        out["DNS-Queries-Alias"] = float(alias)
    return out


def _network_usage(sim: Simulation) -> tuple[dict[str, float], list[dict[str, Any]]]:
    out: dict[str, float] = {}
    unmeasured: list[dict[str, Any]] = []
    egress = 0.0
    for name, w in sim.workloads.items():
        if getattr(w.entry, "bills_egress", False):
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
    now = sim.engine.now
    hours = now / 3600.0
    out: dict[str, dict[str, float]] = {}
    unmeasured: list[dict[str, Any]] = []
    notes: list[str] = []
    per_request, unsized = lb_bytes(sim)
    for name, comp in sim.components.items():
        own = getattr(comp, "usage", None)
        kind = getattr(comp.spec, "type", "")
        if own is not None:
            out[name] = dict(own())
        elif hasattr(comp, "instances") and hasattr(comp.spec, "instance_type"):
            out[name] = _fleet_usage(comp, now)
        elif kind in LB_KINDS:
            u = lb_hours(comp.spec, list(getattr(comp, "node_zones", [])), hours)
            traffic, note = lb_traffic(comp, per_request.get(name, 0.0))
            u.update(traffic)
            out[name] = u
            if note:
                notes.append(note)
            if comp.requests and (unsized.get(name) or name not in per_request):
                who = ", ".join(unsized.get(name, [])) or "callers that are not workloads"
                unmeasured.append({"component": name, "usage_type": "processed bytes",
                                   "reason": f"requests from {who} have no request_size/response_size; "
                                             "capacity units count their connections only"})
        elif kind == "route53":
            out[name] = _route53_usage(comp, hours)
        else:
            out[name] = configured(comp.spec, sim.arch, hours)
    net, missing = _network_usage(sim)
    if net:
        out[NETWORK] = net
    unmeasured.extend(missing)
    return out, unmeasured, notes
