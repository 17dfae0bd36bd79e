"""CT-REL-014: an Elastic IP (the notes: "usually indicator of bad design")."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class ElasticIpDesign(Rule):
    id = "CT-REL-014"
    title = "Elastic IP used as the public endpoint"
    pillar = "reliability"
    best_practices = ("REL02-BP01",)
    severity = "high"
    description = ("An `ec2` or `asg` with `elastic_ip: true`: clients are pinned to one address on one instance "
                   "at a time, so the endpoint is only as available as that instance.")

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for name, c in ctx.of_type("ec2", "asg"):
            if not c.elastic_ip:
                continue
            n = c.count if c.type == "ec2" else 1
            out.append(self.finding(
                ctx, ("components", name, "elastic_ip"),
                f"{name!r} uses {n} Elastic IP(s) as its public address. An Elastic IP keeps an address alive, "
                f"not the service: while its instance is down or being moved, every client fails. It is usually "
                f"a sign of a design that should sit behind a load balancer or DNS.",
                "Put the instances behind a load balancer with a Route 53 alias record (no public IPs at all), "
                "or use the ephemeral public IP with a DNS record.",
                component=name, evidence=[Evidence("static", f"elastic_ip: true ({n} address(es)); Elastic IPs "
                                                   f"are limited to 5 per Region by default [aws-facts §3]")]))
        return out
