"""CT-COST-003: read replicas that no handler reads from."""

from __future__ import annotations

from cloudtwin.review.context import READ_OPS, Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class IdleReadReplicas(Rule):
    id = "CT-COST-003"
    title = "Read replicas that nothing reads"
    pillar = "cost_optimization"
    best_practices = ("COST06-BP02",)
    severity = "medium"
    description = ("An `rds` instance with `read_replicas` that no handler sends a `query` or `read` to (Aurora "
                   "replicas are failover targets and are not counted).")

    def check(self, ctx: Context) -> list[Finding]:
        out = []
        for name, c in ctx.of_type("rds"):
            if c.read_replicas == 0:
                continue
            if any((k.op or "query") in READ_OPS for k in ctx.calls_to(name)):
                continue
            out.append(self.finding(
                ctx, ("components", name, "read_replicas"),
                f"{name!r} pays for {c.read_replicas} read replica(s) but no handler reads from it: they are "
                f"idle instances.",
                "Remove the replicas, or send reads to them (`call: db.query` / `db.read`); for availability use "
                "`multi_az: true` instead.",
                component=name, evidence=[Evidence("static", f"read_replicas {c.read_replicas}; calls to {name!r}: "
                                                   f"{[k.step.call for k in ctx.calls_to(name)] or 'none'}")]))
        return out
