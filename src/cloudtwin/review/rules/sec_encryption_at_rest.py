"""CT-SEC-001: data stored unencrypted."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule

STORES = ("rds", "aurora", "elasticache", "efs", "ebs")


class EncryptionAtRest(Rule):
    id = "CT-SEC-001"
    title = "Data at rest is not encrypted"
    pillar = "security"
    best_practices = ("SEC08-BP02",)
    severity = "high"
    description = "An `rds`, `aurora`, `elasticache`, `efs` or `ebs` component without `encrypted: true`."

    def check(self, ctx: Context) -> list[Finding]:
        return [self.finding(
            ctx, ("components", name, "encrypted"),
            f"{name!r} ({c.type}) stores data unencrypted: its volumes, snapshots and backups can be read by "
            f"anyone who gets hold of them.",
            "Set `encrypted: true` (KMS encryption at rest; it can only be chosen when the store is created).",
            component=name, evidence=[Evidence("static", f"{c.type} {name!r}: encrypted false")])
            for name, c in ctx.of_type(*STORES) if not c.encrypted]
