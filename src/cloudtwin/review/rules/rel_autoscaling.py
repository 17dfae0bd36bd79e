"""CT-REL-018: compute that cannot follow demand."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.evidence import load_2x, spike, spike_hurts
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class NoAutoscaling(Rule):
    id = "CT-REL-018"
    title = "Compute does not scale with demand"
    pillar = "reliability"
    best_practices = ("REL07-BP01", "PERF02-BP05", "SUS02-BP01")
    severity = "high"
    dynamic = True
    description = ("A compute fleet in the request path with no dynamic scaling: standalone `ec2`, or an `asg` "
                   "with neither `target_cpu` nor step `policies`. With simulation, a fleet that does scale is "
                   "also flagged when the 2x load run shows it did not keep up (availability below 99% or p99 "
                   "above 3x its level before the spike) and the fleet itself was the limit (it reached its target "
                   "utilisation or its maximum size).")

    def check(self, ctx: Context) -> list[Finding]:
        got = spike(ctx)
        out: list[Finding] = []
        for name in ctx.fleets():
            c = ctx.comp(name)
            if ctx.scales(name):
                if got is None or not spike_hurts(*got[:3]) or not self._fleet_was_the_limit(ctx, name):
                    continue
                cap = c.capacity
                out.append(self.finding(
                    ctx, ("components", name, "scaling"),
                    f"{name!r} scales, but not fast or far enough: {got[3].text}.",
                    f"Scale earlier (a lower `target_cpu`, a short `warmup`), raise `max` (now {cap.top}), or keep "
                    f"more capacity in reserve.", component=name,
                    evidence=[Evidence("static", f"target_cpu {c.scaling.target_cpu}, capacity {cap.min}-{cap.top}"),
                              got[3]]))
                continue
            what = f"{ctx.instances(name)} standalone instance(s)" if c.type == "ec2" else \
                f"an Auto Scaling group fixed at {ctx.instances(name)} instance(s)"
            ev = [Evidence("static", f"{name!r}: {what}; no target tracking or step policy")]
            if got is not None:
                ev.append(got[3])
            out.append(self.finding(
                ctx, ("components", name, "scaling") if c.type == "asg" else ("components", name),
                f"{name!r} is {what} with no dynamic scaling: a surge above its capacity queues and fails, and "
                f"quiet hours pay (and burn power) for idle instances.",
                "Use an Auto Scaling group with target tracking (`scaling: {target_cpu: 50}`) and a `max` above "
                "the expected peak.", component=name, evidence=ev))
        return out

    @staticmethod
    def _fleet_was_the_limit(ctx: Context, name: str) -> bool:
        """Did the fleet itself run out of room during the spike? If it stayed below its target
        utilisation with room to grow, the damage came from elsewhere (a slow dependency)."""
        s = load_2x(ctx)
        if s is None:
            return True
        util = s.peak(name, "utilization")
        target = ctx.comp(name).scaling.target_cpu
        if util is None or target is None:
            return True
        in_service = s.peak(name, "in_service")
        at_max = in_service is not None and in_service >= ctx.comp(name).capacity.top
        return bool(at_max or util >= target / 100.0)

    def clean(self, ctx: Context) -> str | None:
        got = spike(ctx)
        if got is None or not ctx.fleets():
            return None
        return f"{got[3].text}: scaling kept up"
