"""CT-REL-012: can the zones that are left carry the load without launching anything?"""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.evidence import AVAILABLE, az_availability, az_outage
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule

LIMIT = 0.9  # busy share of the remaining slots above which queues grow without bound in practice


class StaticStability(Rule):
    id = "CT-REL-012"
    title = "The remaining zones cannot carry the load after losing one"
    pillar = "reliability"
    best_practices = ("REL11-BP05",)
    severity = "medium"
    dynamic = True
    description = ("For every multi-AZ compute fleet: at desired capacity, the instances outside the busiest zone "
                   f"must carry the workloads' peak below {LIMIT:.0%} utilisation without launching anything. With "
                   f"simulation, the measured availability during an AZ outage decides (below {AVAILABLE:.0%} fails).")

    def check(self, ctx: Context) -> list[Finding]:
        measured = az_availability(ctx)
        out: list[Finding] = []
        for name, util, ev in self._fleets(ctx):
            bad = util > LIMIT
            if measured is not None and not self._single_zone_blame(ctx):
                bad = measured[0] < AVAILABLE
                ev.append(measured[1])
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
                avail = measured[0] if measured is not None else 1.0
                msg = (f"the instances of {name!r} left after losing a zone could carry the peak ({util:.0%} busy), "
                       f"yet availability fell to {avail:.1%} during the outage: "
                       f"requests kept going to the lost zone until health checks took it out.")
                fix = ("Detect the loss sooner: a shorter load balancer health-check interval and unhealthy "
                       "threshold, and retries with backoff on idempotent calls.")
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

    def _single_zone_blame(self, ctx: Context) -> bool:
        """A single-zone component in the failed zone explains a bad measurement (other rules' finding)."""
        s = az_outage(ctx)
        if s is None:
            return False
        for name in ctx.reached or set(ctx.arch.components):
            c = ctx.comp(name)
            if c.type in ("ec2", "asg") and ctx.fleet_zones(name) == [s.zone]:
                return True
            if c.type == "rds" and not c.multi_az and (c.zone or ctx.arch.zones[0]) == s.zone:
                return True
        return False

    def clean(self, ctx: Context) -> str | None:
        measured = az_availability(ctx)
        if measured is None or not self._fleets(ctx) or measured[0] < AVAILABLE:
            return None
        return f"{measured[1].text}: the zones left carried the load (static stability holds)"
