"""CT-REL-001: a tier confined to one Availability Zone."""

from __future__ import annotations

from cloudtwin.review.context import LBS, Context
from cloudtwin.review.evidence import az_availability
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class SingleAzTier(Rule):
    id = "CT-REL-001"
    title = "A tier runs in a single Availability Zone"
    pillar = "reliability"
    best_practices = ("REL10-BP01",)
    severity = "high"
    dynamic = True
    description = ("Every compute fleet of two or more instances, every load balancer and every EFS file system "
                   "spans at least two Availability Zones.")

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for name in ctx.fleets():
            c = ctx.comp(name)
            if c.type == "ec2" and c.count < 2:
                continue  # one instance: CT-REL-002
            zones = ctx.fleet_zones(name)
            if len(zones) > 1:
                continue
            ev = [Evidence("static", f"all {ctx.instances(name)} instances of {name!r} are placed in zone {zones[0]}")]
            ev.extend(_measured(ctx, zones[0]))
            out.append(self.finding(
                ctx, ("components", name, "zones"),
                f"{name!r} runs only in zone {zones[0]}: an outage of that zone takes the whole tier down, and "
                f"there is nowhere to launch replacements.",
                "List at least two zones (`zones: [a, b]`) so instances are spread and survive the loss of one.",
                component=name, evidence=ev))
        for name, c in ctx.of_type(*LBS, "efs"):
            if not ctx.in_scope(name) and c.type != "efs":
                continue
            zones = c.zones or ctx.arch.zones
            if len(zones) > 1:
                continue
            what = "mount targets" if c.type == "efs" else "nodes"
            out.append(self.finding(
                ctx, ("components", name, "zones"),
                f"{name!r} ({c.type}) has {what} only in zone {zones[0]}.",
                f"Give it {what} in at least two zones.", component=name,
                evidence=[Evidence("static", f"zones: {list(zones)}"), *_measured(ctx, zones[0])]))
        return out


def _measured(ctx: Context, zone: str) -> list[Evidence]:
    got = az_availability(ctx)
    if got is None or got[1].data.get("zone") != zone:
        return []
    return [got[1]]
