"""CT-REL-024: private subnets of several zones leave the VPC through one zone's NAT gateway."""

from __future__ import annotations

from typing import Any

from cloudtwin.review.context import Context
from cloudtwin.review.evidence import az_outage, minutes, pct
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule
from cloudtwin.spec.vpc import NAT_PREFIX


class SharedNatGateway(Rule):
    id = "CT-REL-024"
    title = "Private subnets in several zones share one zone's NAT gateway"
    pillar = "reliability"
    best_practices = ("REL10-BP01",)
    severity = "high"
    dynamic = True
    description = ("A `vpc` whose route tables send the internet from a subnet in one zone to a NAT gateway in "
                   "another: a NAT gateway is zonal, so an outage of its zone cuts the other zones' instances off "
                   "the internet while they stay healthy, and every call crosses AZs (billed both ways).")

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for name, c in ctx.of_type("vpc"):
            nat_zone = {g: c.subnets[n.subnet].zone for g, n in c.nat_gateways.items() if n.subnet in c.subnets}
            foreign: dict[str, list[tuple[str, str, str]]] = {}  # nat -> (subnet, its zone, route table)
            for s, sub in c.subnets.items():
                target = c.internet_target(s) if sub.route_table in c.route_tables else ""
                nat = target[len(NAT_PREFIX):] if target.startswith(NAT_PREFIX) else ""
                if nat in nat_zone and nat_zone[nat] != sub.zone:
                    foreign.setdefault(nat, []).append((s, sub.zone, sub.route_table))
            for nat, subs in sorted(foreign.items()):
                zone = nat_zone[nat]
                rt = subs[0][2]
                dest = next(d for d, t in c.route_tables[rt].routes.items() if t == NAT_PREFIX + nat)
                listed = ", ".join(f"{s} (zone {z})" for s, z, _ in subs)
                ev = [Evidence("static", f"NAT gateway {nat!r} is in zone {zone} and is the internet route of "
                                         f"{listed}", {"nat_gateway": nat, "zone": zone,
                                                       "subnets": [s for s, _, _ in subs]})]
                ev.extend(_measured(ctx, name, nat, zone))
                others = sorted({z for _, z, _ in subs})
                out.append(self.finding(
                    ctx, ("components", name, "route_tables", rt, "routes", dest),
                    f"subnets in zone(s) {', '.join(others)} reach the internet through NAT gateway {nat!r} in "
                    f"zone {zone}: when zone {zone} fails, their instances stay healthy but every outbound call "
                    f"fails, and until then each call crosses AZs.",
                    "Create a NAT gateway in a public subnet of each zone and point each zone's private route "
                    "table at its own zone's NAT gateway.", component=name, evidence=ev))
        return out


def _measured(ctx: Context, vpc: str, nat: str, zone: str) -> list[Evidence]:
    s = az_outage(ctx)
    if s is None or s.window is None or s.zone != zone:
        return []
    comp: dict[str, Any] = s.component(vpc)
    lost = int((comp.get("failed") or {}).get("nat_down", 0))
    a = s.availability()
    text = (f"{lost} outbound calls failed with NAT gateway {nat!r} down during the zone-{zone} outage "
            f"({minutes(s.window)}, {s.description})")
    if a is not None:
        text += f"; availability {pct(a)} during it"
    return [Evidence("dynamic", text, {"scenario": s.name, "nat_down": lost, "zone": zone,
                                       "availability": None if a is None else round(a, 6)})]
