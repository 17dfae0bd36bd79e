"""CT-REL-016: a DNS A record pointing at an instance's ephemeral public IP."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule

DEFAULT_TTL = 300.0  # the A record TTL cloudtwin assumes when omitted (see docs/spec.md)


class ARecordToInstance(Rule):
    id = "CT-REL-016"
    title = "A DNS A record points at an instance's ephemeral IP"
    pillar = "reliability"
    best_practices = ("REL02-BP01",)
    severity = "high"
    description = ("A Route 53 `a:` record to an `ec2` instance without an Elastic IP: a stop/start gives the "
                   "instance a new public IP, and clients keep the old one for up to the record's TTL.")

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for name, c in ctx.of_type("route53"):
            for i, r in enumerate(c.records):
                target = ctx.comp(r.a or "")
                if target is None or target.elastic_ip:
                    continue
                ttl = r.ttl if r.ttl is not None else DEFAULT_TTL
                out.append(self.finding(
                    ctx, ("components", name, "records", i, "a"),
                    f"{r.name} is an A record to {r.a!r}'s ephemeral public IP: when the instance is stopped and "
                    f"started it comes back with a new address, and clients that cached the old one fail for up "
                    f"to the TTL ({ttl:g}s) after the record is updated.",
                    "Point an alias record at a load balancer in front of the instances; the alias follows the "
                    "load balancer's addresses [aws-facts §4].",
                    component=r.a, evidence=[Evidence("static", f"record {r.name}: a: {r.a}, ttl {ttl:g}s; "
                                                      f"{r.a!r} has no Elastic IP")]))
        return out
