"""CT-PERF-003: a small gp2 volume with a low IOPS baseline."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule

GP3_BASELINE = 3000  # gp3 IOPS without provisioning (assumption, docs/spec.md)


class SmallGp2Volume(Rule):
    id = "CT-PERF-003"
    title = "A gp2 volume gets fewer IOPS than gp3 would give"
    pillar = "performance_efficiency"
    best_practices = ("PERF03-BP02",)
    severity = "medium"
    description = (f"An `ebs` volume of type gp2 smaller than 1,000 GiB: its baseline is 3 IOPS per GiB, below the "
                   f"{GP3_BASELINE:,} IOPS a gp3 volume of any size gets.")

    def check(self, ctx: Context) -> list[Finding]:
        out = []
        for name, v in ctx.of_type("ebs"):
            iops = max(100, int(3 * v.size_gb))
            if v.volume_type != "gp2" or iops >= GP3_BASELINE:
                continue
            out.append(self.finding(
                ctx, ("components", name, "volume_type"),
                f"{name!r} is a {v.size_gb:g} GiB gp2 volume with a {iops:,}-IOPS baseline; gp3 gives "
                f"{GP3_BASELINE:,} IOPS at any size.",
                "Use `volume_type: gp3`.", component=name,
                evidence=[Evidence("static", f"gp2, {v.size_gb:g} GiB -> {iops:,} IOPS (3 per GiB)")]))
        return out
