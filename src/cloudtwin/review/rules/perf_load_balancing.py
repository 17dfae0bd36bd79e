"""CT-PERF-002: a fleet of several instances reached without a load balancer."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class NoLoadBalancer(Rule):
    id = "CT-PERF-002"
    title = "Traffic reaches a fleet without a load balancer"
    pillar = "performance_efficiency"
    best_practices = ("PERF04-BP04",)
    severity = "high"
    description = ("A workload entry, DNS A record or handler call that targets an `asg`, or an `ec2` component "
                   "with more than one instance, directly: nothing spreads requests by health and load.")

    def check(self, ctx: Context) -> list[Finding]:
        out = []

        def fleet(name: str) -> bool:
            c = ctx.comp(name)
            return c is not None and (c.type == "asg" or (c.type == "ec2" and c.count > 1))

        def one(path: tuple[str | int, ...], name: str, via: str) -> None:
            out.append(self.finding(
                ctx, path,
                f"{via} sends requests straight to {name!r} ({ctx.instances(name)} instance(s) at desired "
                f"capacity): nothing spreads them by health and load, and instances that come and go are not "
                f"picked up.",
                f"Put an Application Load Balancer in front of {name!r} and send traffic to it.",
                component=name, evidence=[Evidence("static", f"{via} -> {name} ({ctx.kind(name)}), no load balancer")]))

        for wname, w in ctx.arch.workloads.items():
            if fleet(w.entry):
                one(("workloads", wname, "entry"), w.entry, f"workload {wname!r}")
        for rname, c in ctx.of_type("route53"):
            for i, r in enumerate(c.records):
                if r.a and fleet(r.a):
                    one(("components", rname, "records", i, "a"), r.a, f"record {r.name}")
        for call in ctx.calls:
            if fleet(call.target):
                one(call.path, call.target, f"{call.caller!r}")
        return out
