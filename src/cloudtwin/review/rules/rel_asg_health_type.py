"""CT-REL-013: an Auto Scaling group behind a load balancer that ignores the load balancer's health checks."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class AsgIgnoresElbHealth(Rule):
    id = "CT-REL-013"
    title = "Auto Scaling group behind a load balancer uses EC2 health checks only"
    pillar = "reliability"
    best_practices = ("REL11-BP01",)
    severity = "high"
    description = ("An `asg` that is a load balancer target with `health_check.type: ec2` (the default): an "
                   "instance whose application fails the load balancer's checks stays in the group forever "
                   "[aws-facts §2 health-check type].")

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for name, c in ctx.of_type("asg"):
            lbs = ctx.lbs_targeting(name)
            if not lbs or c.health_check.type != "ec2":
                continue
            out.append(self.finding(
                ctx, ("components", name, "health_check", "type"),
                f"{name!r} is behind {', '.join(lbs)} but only replaces instances that fail EC2 status checks: "
                f"an instance whose application is broken is taken out of the load balancer and never replaced, "
                f"so the group silently runs short.",
                "Set `health_check: {type: elb, grace_period: 300s}` so the group replaces instances the load "
                "balancer reports unhealthy.",
                component=name, evidence=[Evidence("static", f"health_check.type: ec2; targeted by {lbs}")]))
        return out
