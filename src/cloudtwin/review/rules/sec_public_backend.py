"""CT-SEC-004: back-end instances with public addresses."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class PublicBackend(Rule):
    id = "CT-SEC-004"
    title = "Instances behind a load balancer have public IPs"
    pillar = "security"
    best_practices = ("SEC05-BP01",)
    severity = "high"
    description = ("An `ec2` component with a public or Elastic IP that nobody reaches directly: it is a load "
                   "balancer target or is only called by other tiers, and no workload or DNS A record uses its "
                   "address.")

    def check(self, ctx: Context) -> list[Finding]:
        direct = {r.a for _, c in ctx.of_type("route53") for r in c.records if r.a}
        direct |= {w.entry for w in ctx.arch.workloads.values()}
        out = []
        for name, c in ctx.of_type("ec2"):
            if not (c.public_ip or c.elastic_ip) or name in direct or not ctx.senders(name):
                continue
            via = ctx.senders(name)
            key = "elastic_ip" if c.elastic_ip else "public_ip"
            out.append(self.finding(
                ctx, ("components", name, key),
                f"{name!r} is reached only through {', '.join(via)} yet each of its {c.count} instance(s) has a "
                f"public IPv4 address: an exposed surface that nothing needs (and $0.005 per address-hour "
                f"[aws-facts §3]).",
                "Put the instances in private subnets (`public_ip: false`, no Elastic IP) and let only the load "
                "balancer's security group reach them.",
                component=name, evidence=[Evidence("static", f"{key}: true; reached via {via}")]))
        return out
