"""CT-SEC-006: a CloudFront origin is reachable from the internet around CloudFront."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule
from cloudtwin.spec.security_group import CLOUDFRONT_PREFIX_LIST


class OriginBypass(Rule):
    id = "CT-SEC-006"
    title = "A CloudFront origin is reachable around CloudFront"
    pillar = "security"
    best_practices = ("SEC05-BP01",)
    severity = "high"
    description = ("An internet-facing load balancer that is a CloudFront origin: whatever CloudFront blocks "
                   "(AWS WAF, geo restriction) can be sent to the load balancer directly unless it only takes "
                   "CloudFront's origin-facing addresses (a `security_group` allowing only the managed prefix "
                   "list) [aws-facts §13 Source IP seen at the origin]. The ip-block-cloudfront blueprint "
                   "measures it: every one of 60,277 attacker "
                   "requests sent to the ALB directly leaks while CloudFront blocks all 180,812 of its own.")

    def check(self, ctx: Context) -> list[Finding]:
        out = []
        # load balancers whose security group lets in nothing but CloudFront's origin-facing prefix list
        edge_only = {p for _, g in ctx.of_type("security_group")
                     if g.inbound and all(r.prefix_list == CLOUDFRONT_PREFIX_LIST for r in g.inbound)
                     for p in g.protects}
        for cdn, c in ctx.of_type("cloudfront"):
            for b in c.behaviors:
                lb = ctx.comp(b.origin)
                if (ctx.kind(b.origin) not in ("alb", "nlb", "clb") or not lb.internet_facing
                        or b.origin in edge_only):
                    continue
                out.append(self.finding(
                    ctx, ("components", b.origin, "internet_facing"),
                    f"{b.origin!r} is an origin of CloudFront {cdn!r} and internet-facing: clients can reach it "
                    f"directly, around the edge's web ACL and geo restriction.",
                    "Make the origin reachable only from CloudFront: a `security_group` on it allowing only the "
                    f"{CLOUDFRONT_PREFIX_LIST} prefix list, or an internal load balancer behind a CloudFront VPC "
                    "origin (`internet_facing: false`).",
                    component=b.origin,
                    evidence=[Evidence("static", f"{cdn} -> {b.origin} ({ctx.kind(b.origin)}), internet_facing")]))
        return out
