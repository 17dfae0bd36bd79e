"""CT-SEC-003: a database reachable from the internet."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class PublicDatabase(Rule):
    id = "CT-SEC-003"
    title = "A data store is reachable from the internet"
    pillar = "security"
    best_practices = ("SEC05-BP01",)
    severity = "high"
    description = "An `rds`/`aurora` component with `publicly_accessible: true`."

    def check(self, ctx: Context) -> list[Finding]:
        return [self.finding(
            ctx, ("components", name, "publicly_accessible"),
            f"{name!r} has a public endpoint: the database is one security-group mistake away from the internet, "
            f"and its port can be scanned and brute-forced.",
            "Set `publicly_accessible: false` and keep it in private subnets, reachable only from the application "
            "tier's security group.",
            component=name, evidence=[Evidence("static", "publicly_accessible: true")])
            for name, c in ctx.of_type("rds", "aurora") if c.publicly_accessible]
