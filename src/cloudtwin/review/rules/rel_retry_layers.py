"""CT-REL-008: retries at two layers of one call chain multiply."""

from __future__ import annotations

from cloudtwin.review.context import LBS, Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class RetryAmplification(Rule):
    id = "CT-REL-008"
    title = "Retries at several layers multiply"
    pillar = "reliability"
    best_practices = ("REL05-BP03",)
    severity = "high"
    description = ("A call that retries into a tier whose handler also retries its own calls: a failure at the "
                   "bottom is tried (r1 + 1) x (r2 + 1) times.")

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for outer in ctx.calls:
            if outer.step.retries == 0:
                continue
            tiers = _fleets_behind(ctx, outer.target)
            for tier in tiers:
                for inner in ctx.calls_from(tier):
                    if inner.step.retries == 0:
                        continue
                    tries = (outer.step.retries + 1) * (inner.step.retries + 1)
                    out.append(self.finding(
                        ctx, (*inner.path, "retries"),
                        f"{outer.caller!r} retries {outer.step.call} {outer.step.retries}x and {tier!r} retries "
                        f"{inner.step.call} {inner.step.retries}x: one failure of {inner.target!r} becomes up to "
                        f"{tries} calls.",
                        "Retry at one layer only (usually the one closest to the caller that can give up), and "
                        "let the others fail fast.",
                        component=tier, evidence=[Evidence("static", f"{tries} attempts per request at worst")]))
        return out


def _fleets_behind(ctx: Context, name: str) -> list[str]:
    kind = ctx.kind(name)
    if kind in ("ec2", "asg"):
        return [name]
    if kind in LBS:
        return list(ctx.comp(name).target_names)
    return []
