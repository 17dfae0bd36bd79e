"""CT-COST-002: a steady baseline bought on demand (the notes: "Reserve capacity for cost optimization + on demand")."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class OnDemandBaseline(Rule):
    id = "CT-COST-002"
    title = "A steady baseline runs on on-demand pricing"
    pillar = "cost_optimization"
    best_practices = ("COST07-BP01",)
    severity = "high"
    description = ("A compute fleet whose always-on instances (min for a scaling group, else the fixed count) are "
                   "all on-demand: no reserved capacity (or Savings Plan) and no spot.")

    def check(self, ctx: Context) -> list[Finding]:
        out = []
        for name in ctx.fleets():
            c = ctx.comp(name)
            floor = ctx.floor(name)
            if floor < 1:
                continue
            if c.type == "ec2":
                if c.purchase != "on_demand":
                    continue
                path: tuple[str | int, ...] = ("components", name, "purchase")
            else:
                if c.purchase.reserved or c.purchase.spot:
                    continue
                path = ("components", name, "purchase")
            out.append(self.finding(
                ctx, path,
                f"{name!r} runs {floor} instance(s) around the clock, all at the on-demand rate: a steady "
                f"baseline is the cheapest capacity to commit to.",
                f"Cover the {floor} always-on instance(s) with reserved capacity or a Savings Plan "
                f"(`purchase: {{reserved: {floor}}}`) and keep on-demand (or spot) for what scaling adds.",
                component=name, evidence=[Evidence("static", f"always-on instances {floor}; purchase all on-demand")]))
        return out
