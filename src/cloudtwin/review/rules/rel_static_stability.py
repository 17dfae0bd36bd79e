"""CT-REL-012: can the zones that are left carry the load without launching anything?"""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.evidence import AVAILABLE, az_availability, az_outage
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule

LIMIT = 0.9  # busy share of the remaining slots above which queues grow without bound in practice
# Until the loss is detected (ALB: 2 failed checks 30 s apart; the group's own check), requests
# still go to the lost zone whatever the capacity left: that is detection (REL11-BP01), not
# static stability, so the measurement is judged after this much of the outage.
DETECTION_S = 120.0


class StaticStability(Rule):
    id = "CT-REL-012"
    title = "The remaining zones cannot carry the load after losing one"
    pillar = "reliability"
    best_practices = ("REL11-BP05",)
    severity = "medium"
    dynamic = True
    description = ("For every multi-AZ compute fleet: at desired capacity, the instances outside the busiest zone "
                   f"must carry the workloads' peak below {LIMIT:.0%} utilisation without launching anything. With "
                   f"simulation, the measured availability during an AZ outage, after its first {DETECTION_S:.0f} s "
                   f"(detection), decides (below {AVAILABLE:.0%} fails).")

    def check(self, ctx: Context) -> list[Finding]:
        measured = az_availability(ctx)
        after = self._after_detection(ctx)
        out: list[Finding] = []
        for name, util, ev in self._fleets(ctx):
            bad = util > LIMIT
            if measured is not None and after is not None and not self._single_zone_blame(ctx):
                bad = after < AVAILABLE
                ev.append(measured[1])
                ev.append(Evidence("dynamic", f"availability {after:.1%} once the loss was detected "
                                   f"(the outage after its first {DETECTION_S:.0f} s)",
                                   {"availability_after_detection": round(after, 6)}))
            if not bad:
                continue
            path = ("components", name, "capacity") if ctx.kind(name) == "asg" else ("components", name, "count")
            if util > LIMIT:
                msg = (f"after losing one zone, {name!r} must serve the peak with the instances left, at "
                       f"{util:.0%} of their capacity; until replacements boot (minutes, and only if launches "
                       f"succeed during the outage) requests queue and fail.")
                fix = ("Provision so that the zones left can carry the peak: raise desired capacity (e.g. by "
                       "1/(zones-1)), or spread over three zones.")
            else:
                avail = after if after is not None else 1.0
                msg = (f"the instances of {name!r} left after losing a zone should carry the peak ({util:.0%} busy "
                       f"by their slots), yet availability was only {avail:.1%} after the loss was detected: "
                       f"something else on the path (a dependency in the lost zone, queues that built up) "
                       f"did not hold.")
                fix = ("Find the tier that failed during the outage in the run's report (per-component errors) and "
                       "make it multi-AZ with capacity to spare in the zones left.")
            out.append(self.finding(ctx, path, msg, fix, component=name, evidence=ev))
        return out

    def _fleets(self, ctx: Context) -> list[tuple[str, float, list[Evidence]]]:
        out = []
        for name in ctx.fleets():
            per_zone = ctx.per_zone(name)
            if len(per_zone) < 2 or name not in ctx.loads:
                continue
            worst = max(per_zone, key=lambda z: per_zone[z])
            left = sum(per_zone.values()) - per_zone[worst]
            util = ctx.utilisation(name, left)
            ev = [Evidence("static", f"{name!r}: {per_zone} instances per zone at desired capacity; without zone "
                           f"{worst}, {left} instance(s) x {ctx.slots(name)} slots at {util:.0%} busy at the peak",
                           {"utilisation_after_loss": round(util, 4) if util != float("inf") else None})]
            out.append((name, util, ev))
        return out

    def _after_detection(self, ctx: Context) -> float | None:
        s = az_outage(ctx)
        return None if s is None else s.availability(skip=DETECTION_S)

    def _single_zone_blame(self, ctx: Context) -> bool:
        """A single-zone component in the failed zone explains a bad measurement (other rules' finding), and
        so does a workload sent straight to a multi-AZ fleet: with no load balancer nothing detects the lost
        instances, so the measurement is detection (REL11-BP01, CT-PERF-002), not static stability."""
        s = az_outage(ctx)
        if s is None:
            return False
        for w in ctx.arch.workloads.values():
            if ctx.kind(w.entry) in ("ec2", "asg") and s.zone in ctx.fleet_zones(w.entry):
                return True
        for name in ctx.reached or set(ctx.arch.components):
            c = ctx.comp(name)
            if c.type in ("ec2", "asg") and ctx.fleet_zones(name) == [s.zone]:
                return True
            if c.type == "rds" and not c.any_multi_az and (c.zone or ctx.arch.zones[0]) == s.zone:
                return True
        return False

    def clean(self, ctx: Context) -> str | None:
        measured = az_availability(ctx)
        after = self._after_detection(ctx)
        if measured is None or after is None or not self._fleets(ctx) or after < AVAILABLE:
            return None
        if measured[0] < AVAILABLE:
            return (f"{measured[1].text}, {after:.1%} once the loss was detected: the zones left carried the load "
                    f"(static stability holds); the dip is detection time (REL11-BP01)")
        return f"{measured[1].text}: the zones left carried the load (static stability holds)"
