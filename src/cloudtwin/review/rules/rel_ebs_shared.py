"""CT-REL-005: an EBS volume used as shared state (the notes: "EBS is not suitable for distributed system")."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class EbsSharedState(Rule):
    id = "CT-REL-005"
    title = "An EBS volume is shared state for several instances or zones"
    pillar = "reliability"
    best_practices = ("REL10-BP01",)
    severity = "high"
    description = ("An `ebs` volume mounted by an Auto Scaling group, by several instances without multi-attach, "
                   "or by several components. A volume lives in one zone [aws-facts §3]: instances in other zones "
                   "cannot attach it, and losing its zone loses the state.")

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for vol, v in ctx.of_type("ebs"):
            vzone = v.zone or ctx.arch.zones[0]
            users = [(n, c) for n, c in ctx.of_type("ec2", "asg") if vol in c.mounts]
            for n, c in users:
                zones = ctx.fleet_zones(n)
                reasons = []
                if c.type == "asg":
                    reasons.append(f"{n!r} is an Auto Scaling group in zones {zones}; instances it launches "
                                   f"outside zone {vzone} cannot attach the volume")
                elif ctx.instances(n) > 1 and not v.multi_attach:
                    reasons.append(f"{n!r} has {ctx.instances(n)} instances but the volume attaches to one")
                if len(users) > 1:
                    reasons.append(f"{len(users)} components mount it ({', '.join(u for u, _ in users)})")
                if not reasons:
                    continue
                i = c.mounts.index(vol)
                out.append(self.finding(
                    ctx, ("components", n, "mounts", i),
                    f"EBS volume {vol!r} (zone {vzone}) is used as shared state: {'; '.join(reasons)}. EBS is "
                    f"bound to one AZ and is not for distributed systems.",
                    "Keep shared files on EFS (a mount target per zone), or state in a database or cache; use "
                    "EBS only for one instance's own disk.",
                    component=n, evidence=[Evidence("static", f"mounts of {vol!r}: {[u for u, _ in users]}; "
                                                    f"volume zone {vzone}, multi_attach {v.multi_attach}")]))
        return out
