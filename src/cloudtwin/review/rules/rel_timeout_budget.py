"""CT-REL-010: an inner timeout budget longer than the caller is willing to wait."""

from __future__ import annotations

from cloudtwin.review.context import LBS, Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class TimeoutBudget(Rule):
    id = "CT-REL-010"
    title = "Inner timeouts outlast the caller's timeout"
    pillar = "reliability"
    best_practices = ("REL05-BP05",)
    severity = "high"
    description = ("The worst-case time a tier's handler waits on its calls (timeout x attempts plus backoff) "
                   "exceeds the timeout of whoever calls it: a workload's client `timeout`, or the calling step's.")

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for wname, w in ctx.arch.workloads.items():
            if w.timeout is None:
                continue
            for tier in _first_fleets(ctx, w.entry):
                budget = ctx.handler_budget(tier)
                if budget is not None and budget > w.timeout:
                    out.append(self._one(ctx, ("workloads", wname, "timeout"), f"workload {wname!r}", w.timeout,
                                         tier, budget))
        for call in ctx.calls:
            if call.step.timeout is None:
                continue
            for tier in _first_fleets(ctx, call.target):
                budget = ctx.handler_budget(tier)
                if budget is not None and budget > call.step.timeout:
                    out.append(self._one(ctx, (*call.path, "timeout"), f"{call.caller!r} ({call.step.call})",
                                         call.step.timeout, tier, budget))
        return out

    def _one(self, ctx: Context, path: tuple[str | int, ...], who: str, limit: float, tier: str,
             budget: float) -> Finding:
        return self.finding(
            ctx, path,
            f"{who} gives up after {limit:g}s, but {tier!r} may keep working on the request for {budget:g}s "
            f"(its calls' timeouts x attempts + backoff): the work after the caller left is wasted and adds load.",
            f"Make the inner budget fit: lower the timeouts or retries of {tier!r}'s calls, or raise the "
            f"caller's timeout above {budget:g}s.",
            component=tier, evidence=[Evidence("static", f"caller timeout {limit:g}s < inner budget {budget:g}s")])


def _first_fleets(ctx: Context, name: str, depth: int = 0) -> list[str]:
    kind = ctx.kind(name)
    if kind in ("ec2", "asg"):
        return [name]
    if kind in (*LBS, "route53") and depth < 5:
        return sorted({f for t in ctx.edges.get(name, ()) for f in _first_fleets(ctx, t, depth + 1)})
    return []
