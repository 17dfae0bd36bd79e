"""CT-COST-001: more instances than the load needs."""

from __future__ import annotations

import math

from cloudtwin.review.context import Context
from cloudtwin.review.evidence import spec_run
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule

IDLE = 0.2  # below this busy share at the peak, instances mostly wait
TARGET = 0.6  # utilisation a right-sized fleet would run at


class OverProvisioned(Rule):
    id = "CT-COST-001"
    title = "A fleet is over-provisioned"
    pillar = "cost_optimization"
    best_practices = ("COST06-BP02",)
    severity = "medium"
    dynamic = True
    description = (f"A compute fleet whose always-on instances (min for a scaling group, else the fixed count) "
                   f"exceed one per zone and stay under {IDLE:.0%} busy even at the peak (on_miss work included). "
                   f"With simulation, the measured utilisation in the spec's own scenario decides.")

    def check(self, ctx: Context) -> list[Finding]:
        out = []
        for name, util, need, ev in self._fleets(ctx):
            if util >= IDLE:
                continue
            floor = ctx.floor(name)
            key = "capacity" if ctx.kind(name) == "asg" else "count"
            out.append(self.finding(
                ctx, ("components", name, key),
                f"{name!r} keeps {floor} instances running but is only {util:.0%} busy at the peak: about {need} "
                f"would carry it at {TARGET:.0%} and still leave one per zone.",
                f"Lower the always-on count to about {need} (and scale out on demand), or use a smaller "
                f"instance type.", component=name, evidence=ev))
        return out

    def _fleets(self, ctx: Context) -> list[tuple[str, float, int, list[Evidence]]]:
        s = spec_run(ctx)
        out = []
        for name in ctx.fleets():
            if name not in ctx.loads:
                continue
            floor = ctx.floor(name)
            zones = len(ctx.fleet_zones(name))
            busy = ctx.loads[name].busy_high
            need = max(zones, math.ceil(busy / (ctx.slots(name) * TARGET)))
            if floor <= max(zones, need, 1):
                continue
            util = ctx.utilisation(name, floor, bound="high")
            ev = [Evidence("static", f"at most {busy:.2f} busy slots at the peak over {floor} x {ctx.slots(name)} "
                                     f"slots = {util:.0%}")]
            if s is not None and "utilization" in s.component(name):
                util = float(s.component(name)["utilization"])
                ev.append(Evidence("dynamic", f"measured utilisation {util:.0%} in the spec's scenario",
                                   {"scenario": "spec", "utilization": util}))
            out.append((name, util, need, ev))
        return out

    def clean(self, ctx: Context) -> str | None:
        got = [(n, u) for n, u, _, ev in self._fleets(ctx) if any(e.kind == "dynamic" for e in ev)]
        if not got:
            return None
        return "measured utilisation in the spec's scenario: " + ", ".join(f"{n} {u:.0%}" for n, u in got)
