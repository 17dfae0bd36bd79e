"""CT-REL-015: more Elastic IPs than the Region's default quota."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule

EIP_QUOTA = 5  # Elastic IPs per Region by default [aws-facts §3]


class ElasticIpQuota(Rule):
    id = "CT-REL-015"
    title = "More Elastic IPs than the default quota of 5 per Region"
    pillar = "reliability"
    best_practices = ("REL01-BP01",)
    severity = "high"
    description = (f"The spec allocates more than {EIP_QUOTA} Elastic IPs in its Region (an `ec2` with "
                   f"`elastic_ip` counts `count`, an `asg` one): beyond the default quota [aws-facts §3] the "
                   f"allocation fails at deploy time.")

    def check(self, ctx: Context) -> list[Finding]:
        total = 0
        users: list[str] = []
        over: str | None = None
        for name, c in ctx.of_type("ec2", "asg"):
            if c.elastic_ip:
                total += c.count if c.type == "ec2" else 1
                users.append(name)
                if total > EIP_QUOTA and over is None:
                    over = name
        if over is None:
            return []
        return [self.finding(
            ctx, ("components", over, "elastic_ip"),
            f"the spec needs {total} Elastic IPs in {ctx.arch.region}; the default quota is {EIP_QUOTA} per Region, "
            f"so allocating them fails unless the quota was raised.",
            "Drop the Elastic IPs (a load balancer or DNS name does not need them), or request a quota increase "
            "before deploying.",
            component=over, evidence=[Evidence("static", f"Elastic IPs: {total} ({', '.join(users)}); "
                                               f"quota {EIP_QUOTA} per Region [aws-facts §3]",
                                               {"elastic_ips": total, "quota": EIP_QUOTA})])]
