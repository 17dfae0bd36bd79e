"""CT-REL-002: a standalone EC2 instance that the workload depends on (unless a warm standby in another
zone takes over its Elastic IP when a CloudWatch alarm on it fires: the ec2-ha-cloudwatch design)."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.evidence import az_availability
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule
from cloudtwin.spec.cloudwatch import Alarm
from cloudtwin.spec.ec2 import EC2


class SingleInstance(Rule):
    id = "CT-REL-002"
    title = "A single EC2 instance is a single point of failure"
    pillar = "reliability"
    best_practices = ("REL10-BP01", "REL11-BP03")
    severity = "high"
    description = ("A standalone `ec2` component with one instance in the request path: nothing replaces it "
                   "when it or its zone fails. (A warm standby in another zone that takes over its Elastic IP "
                   "when a CloudWatch alarm on it fires counts as a replacement.)")

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for name in ctx.fleets():
            c = ctx.comp(name)
            if c.type != "ec2" or c.count != 1 or _has_standby(ctx, name):
                continue
            if isinstance(c, EC2) and c.takes_elastic_ip and _has_standby(ctx, c.takes_elastic_ip):
                continue  # the warm standby of such a pair: the pair is the unit, and it has two zones
            zone = ctx.fleet_zones(name)[0]
            ev = [Evidence("static", f"{name!r}: type ec2, count 1, zone {zone}; no Auto Scaling group replaces it")]
            got = az_availability(ctx)
            if got is not None and got[1].data.get("zone") == zone:
                ev.append(got[1])
            out.append(self.finding(
                ctx, ("components", name),
                f"{name!r} is one EC2 instance: when it fails, or its zone does, every request that needs it fails "
                f"until someone replaces it by hand.",
                "Run it as an Auto Scaling group (`type: asg`, `capacity: {min: 2}`) across two or more zones "
                "behind a load balancer, so a failed instance is replaced automatically.",
                component=name, evidence=ev))
        return out


def _has_standby(ctx: Context, name: str) -> bool:
    zones = set(ctx.fleet_zones(name))
    standby = alarmed = False
    for n, c in ctx.arch.components.items():
        if isinstance(c, EC2) and c.takes_elastic_ip == name and not zones >= set(ctx.fleet_zones(n)):
            standby = True
        if isinstance(c, Alarm) and c.component == name and c.alarm_actions:
            alarmed = True
    return standby and alarmed
