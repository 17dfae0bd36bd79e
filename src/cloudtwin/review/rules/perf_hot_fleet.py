"""CT-PERF-004: a fleet that runs too hot at the workloads' peak."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.evidence import spec_run
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule

HOT = 0.85  # busy share of the worker slots above which queueing delay grows steeply


class HotFleet(Rule):
    id = "CT-PERF-004"
    title = "A fleet is sized too small for the peak"
    pillar = "performance_efficiency"
    best_practices = ("PERF02-BP04",)
    severity = "medium"
    dynamic = True
    description = (f"A compute fleet whose peak load, at the most instances it can have (max for a scaling group, "
                   f"else the fixed count), keeps its worker slots more than {HOT:.0%} busy. With simulation, the "
                   f"measured utilisation in the spec's own scenario decides.")

    def check(self, ctx: Context) -> list[Finding]:
        out = []
        for name, util, ev in self._fleets(ctx):
            if util <= HOT:
                continue
            top = ctx.instances(name, at="max" if ctx.scales(name) else "desired")
            out.append(self.finding(
                ctx, ("components", name, "instance_type"),
                f"{name!r} runs at {util:.0%} of its {top} x {ctx.slots(name)} worker slots at the peak: requests "
                f"queue, latency climbs steeply, and there is no headroom for a spike or a lost instance.",
                "Right-size: a larger instance type, more instances (a higher `max`), or less work per request.",
                component=name, evidence=ev))
        return out

    def _fleets(self, ctx: Context) -> list[tuple[str, float, list[Evidence]]]:
        s = spec_run(ctx)
        out = []
        for name in ctx.fleets():
            if name not in ctx.loads:
                continue
            top = ctx.instances(name, at="max" if ctx.scales(name) else "desired")
            util = ctx.utilisation(name, top)
            ev = [Evidence("static", f"{ctx.loads[name].busy_low:.2f} busy slots at the peak over {top} x "
                                     f"{ctx.slots(name)} slots = {util:.0%}")]
            if s is not None and "utilization" in s.component(name):
                util = float(s.component(name)["utilization"])
                ev.append(Evidence("dynamic", f"measured utilisation {util:.0%} in the spec's scenario",
                                   {"scenario": "spec", "utilization": util}))
            out.append((name, util, ev))
        return out

    def clean(self, ctx: Context) -> str | None:
        got = [(n, u) for n, u, ev in self._fleets(ctx) if any(e.kind == "dynamic" for e in ev)]
        if not got:
            return None
        return "measured utilisation in the spec's scenario: " + ", ".join(f"{n} {u:.0%}" for n, u in got)
