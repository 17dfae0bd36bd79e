"""CT-REL-017: automated database backups turned off."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class DatabaseBackupsOff(Rule):
    id = "CT-REL-017"
    title = "Automated database backups are disabled"
    pillar = "reliability"
    best_practices = ("REL09-BP01", "REL09-BP03")
    severity = "high"
    description = ("An `rds`/`aurora` component with `backup_retention: 0`: no automated snapshots and no "
                   "point-in-time restore.")

    def check(self, ctx: Context) -> list[Finding]:
        return [self.finding(
            ctx, ("components", name, "backup_retention"),
            f"{name!r} keeps no automated backups: a bad write, a deleted table or a lost volume cannot be undone.",
            "Set `backup_retention:` to the days you need to go back (1-35), and test a restore.",
            component=name, evidence=[Evidence("static", "backup_retention: 0")])
            for name, c in ctx.of_type("rds", "aurora") if c.backup_retention == 0]
