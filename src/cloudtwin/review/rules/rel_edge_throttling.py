"""CT-REL-011: internet traffic reaches the fleet with nothing to throttle it."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.evidence import spike
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule

THROTTLES = ("apigateway",)  # component types that throttle at the edge themselves


class NoEdgeThrottling(Rule):
    id = "CT-REL-011"
    title = "No throttling at the edge"
    pillar = "reliability"
    best_practices = ("REL05-BP02",)
    severity = "high"
    dynamic = True
    description = ("A workload enters through an internet-facing component (a Route 53 name, an internet-facing "
                   "load balancer, a public instance) and no component on its path throttles (API Gateway, a WAF "
                   "rate-based rule): a surge or an abusive client takes all the capacity.")

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        # what a web ACL with a rate-based rule protects (a waf is not on the call path: it sits in front)
        rated = {p for _, g in ctx.of_type("waf") if any(r.rate is not None for r in g.rules) for p in g.protects}
        for wname, w in ctx.arch.workloads.items():
            if not ctx.internet_entry(w.entry):
                continue
            path = ctx.reached_from(w.entry)
            if any(ctx.kind(n) in THROTTLES or n in rated for n in path):
                continue
            ev = [Evidence("static", f"entry {w.entry!r} ({ctx.kind(w.entry)}) is internet-facing; no throttling "
                                     f"component on the path {sorted(path)}")]
            for tier in sorted(n for n in path if n in ctx.loads):
                top = ctx.instances(tier, at="max")
                load = ctx.loads[tier]
                per_req = load.busy_low / load.rate if load.rate else 0.0
                if per_req > 0:
                    ceiling = top * ctx.slots(tier) / per_req
                    ev.append(Evidence("static", f"{tier!r} saturates near {ceiling:,.0f} requests/s at its maximum "
                                       f"of {top} instances; the workloads' peak is {load.rate:,.0f}/s",
                                       {"ceiling_rps": round(ceiling, 1), "peak_rps": round(load.rate, 1)}))
            got = spike(ctx)
            if got is not None:
                ev.append(got[3])
            out.append(self.finding(
                ctx, ("workloads", wname, "entry"),
                f"workload {wname!r} reaches the application from the internet with no throttling: beyond the "
                f"fleet's capacity, requests queue and fail for everyone instead of being refused early.",
                "Put API Gateway (with stage/usage-plan throttles) or AWS WAF with a rate-based rule in front, "
                "so excess requests get a fast 429 and the fleet keeps serving the rest.",
                component=w.entry, evidence=ev))
        return out
