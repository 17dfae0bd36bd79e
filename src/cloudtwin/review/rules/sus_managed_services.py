"""CT-SUS-001: a data tier run by hand on EC2."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class SelfManagedDataTier(Rule):
    id = "CT-SUS-001"
    title = "A self-managed data tier on EC2"
    pillar = "sustainability"
    best_practices = ("SUS05-BP03",)
    severity = "medium"
    description = ("An `ec2`/`asg` component that keeps data on an EBS volume and is only called by other tiers "
                   "(not a workload entry or load balancer target): a database or file server run by hand.")

    def check(self, ctx: Context) -> list[Finding]:
        out = []
        for name, c in ctx.of_type("ec2", "asg"):
            vols = [m for m in c.mounts if ctx.kind(m) == "ebs"]
            callers = ctx.senders(name)
            if not vols or not callers or ctx.entry_of(name) or ctx.lbs_targeting(name):
                continue
            if any(ctx.kind(s) not in ("ec2", "asg") for s in callers):
                continue
            out.append(self.finding(
                ctx, ("components", name, "mounts"),
                f"{name!r} is a back-end tier keeping its data on EBS ({', '.join(vols)}), called by "
                f"{', '.join(callers)}: a self-managed data store, always on and sized for its peak.",
                "Use a managed service for it (RDS or Aurora for a database, ElastiCache for a cache, EFS for "
                "shared files): shared, right-sized infrastructure with replication and backups built in.",
                component=name, evidence=[Evidence("static", f"mounts {vols}; called by {callers}")]))
        return out
