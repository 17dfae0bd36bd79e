"""CT-REL-019: DNS failover records that cannot see failure."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class FailoverWithoutHealthCheck(Rule):
    id = "CT-REL-019"
    title = "DNS failover without health checks"
    pillar = "reliability"
    best_practices = ("REL11-BP02",)
    severity = "high"
    description = ("A Route 53 record with `routing: failover` that has no `health_check` (and, for an alias, no "
                   "`evaluate_target_health`): Route 53 treats it as always healthy and never fails over.")

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for name, c in ctx.of_type("route53"):
            for i, r in enumerate(c.records):
                if r.routing != "failover" or r.health_check or (r.alias and r.evaluate_target_health):
                    continue
                out.append(self.finding(
                    ctx, ("components", name, "records", i),
                    f"failover record {r.name} ({r.failover}) has no health check: Route 53 considers it healthy "
                    f"even when its target is down, so traffic never moves to the other record.",
                    "Add `health_check: true` (or, on an alias to a load balancer, `evaluate_target_health: true`).",
                    component=name, evidence=[Evidence("static", f"routing failover, health_check false, "
                                                       f"evaluate_target_health {r.evaluate_target_health}")]))
        return out
