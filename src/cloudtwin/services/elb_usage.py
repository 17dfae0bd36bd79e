"""What a load balancer bills over a run: LB-hours and public IPs, and the capacity units its
requests used (bytes per request from the workloads that enter it, directly, through a Route 53
alias or an Elastic Beanstalk environment), with what could not be measured."""

from __future__ import annotations

from typing import Any

from cloudtwin.pricing.lcu import lb_traffic
from cloudtwin.pricing.meters import lb_hours
from cloudtwin.spec.route53 import Route53 as Route53Spec

__all__ = ["lb_usage"]


def _bytes_per_request(lb: Any) -> tuple[float, list[str], bool]:
    """Mean bytes per request of the workloads that enter ``lb`` (directly or through a Route 53
    record aliasing it), weighted by their requests; the workloads without sizes; whether any
    workload reaches it at all."""
    comps = lb.ctx.arch.components
    total = weight = 0.0
    unsized: list[str] = []
    reached = False
    for name, w in lb.ctx.workloads.items():
        spec = comps[w.spec.entry]
        if w.spec.entry == lb.name:
            hit = True
        elif isinstance(spec, Route53Spec):
            host = w.spec.host or spec.records[0].name
            hit = any(r.name == host and r.alias == lb.name for r in spec.records)
        elif spec.type == "beanstalk":  # an Elastic Beanstalk environment's own load balancer
            hit = lb.name.startswith(f"{w.spec.entry}.")
        else:
            hit = False
        if not hit:
            continue
        reached = True
        req, resp = w.spec.request_size, w.spec.response_size
        weight += w.requests
        if req is None and resp is None:
            unsized.append(name)
        total += w.requests * ((req or 0.0) + (resp or 0.0))
    return (total / weight if weight else 0.0), unsized, reached


def lb_usage(lb: Any) -> tuple[dict[str, float], list[dict[str, Any]], list[str]]:
    """LB-hours and public IPs over the window, and the capacity units its requests used
    (:mod:`cloudtwin.pricing.lcu`), with what could not be measured and a note."""
    u = lb_hours(lb.spec, list(lb.node_zones), lb.engine.now / 3600.0)
    per_request, unsized, reached = _bytes_per_request(lb)
    traffic, note = lb_traffic(lb.name, lb.spec.type, lb.requests, lb.latency.mean(), per_request)
    u.update(traffic)
    missing = []
    if lb.requests and (unsized or not reached):
        who = ", ".join(unsized) or "callers that are not workloads"
        missing.append({"usage_type": "processed bytes",
                        "reason": f"requests from {who} have no request_size/response_size; "
                                  "capacity units count their connections only"})
    return u, missing, [note] if note else []
