"""CT-OPS-001: connection draining that does not match how long requests last."""

from __future__ import annotations

from cloudtwin.review.context import LBS, Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class DrainingMismatch(Rule):
    id = "CT-OPS-001"
    title = "Deregistration delay does not match request durations"
    pillar = "operational_excellence"
    best_practices = ("OPS06-BP03",)
    severity = "medium"
    description = ("A load balancer's `deregistration_delay` is 0, or shorter than the longest a request may last "
                   "(the client `timeout` of a workload through it, else its targets' call budget): deployments, "
                   "replacements and scale-in cut requests in flight. (A long delay costs nothing when requests "
                   "are short: deregistration ends as soon as nothing is in flight [aws-facts §1].)")

    def check(self, ctx: Context) -> list[Finding]:
        out = []
        for name, c in ctx.of_type(*LBS):
            delay = c.deregistration_delay
            timeouts = [w.timeout for w in ctx.arch.workloads.values()
                        if w.timeout is not None and name in ctx.reached_from(w.entry)]
            longest = max(timeouts) if timeouts else _budget(ctx, c.target_names)
            path = ("components", name, "deregistration_delay")
            ev = [Evidence("static", f"deregistration_delay {delay:g}s; longest request "
                                     f"{'unknown' if longest is None else f'{longest:g}s'}")]
            if delay == 0:
                msg = (f"{name!r} deregisters targets at once (delay 0): every deployment, replacement or "
                       f"scale-in cuts the requests in flight, which fail with 5xx.")
            elif longest is not None and delay < longest:
                msg = (f"{name!r} drains targets for {delay:g}s but a request may last {longest:g}s: requests "
                       f"still running when draining ends are cut during deployments and scale-in.")
            else:
                continue
            fix = ("Set `deregistration_delay:` a little above the longest request (the client timeout), "
                   f"{'e.g. ' + format(longest * 1.5, 'g') + 's' if longest else 'e.g. 30s'}.")
            out.append(self.finding(ctx, path, msg, fix, component=name, evidence=ev))
        return out


def _budget(ctx: Context, targets: list[str]) -> float | None:
    """The longest handler call budget among the targets; None if unknown (a call without timeout, or no calls)."""
    budgets = [ctx.handler_budget(t) for t in targets if ctx.kind(t) in ("ec2", "asg")]
    if not budgets or any(b is None for b in budgets):
        return None
    top = max(b for b in budgets if b is not None)
    return top if top > 0 else None
