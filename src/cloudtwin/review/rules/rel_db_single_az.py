"""CT-REL-003: a relational database without a standby in another zone."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.evidence import az_availability
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class DatabaseSingleAz(Rule):
    id = "CT-REL-003"
    title = "The database has no standby in another Availability Zone"
    pillar = "reliability"
    best_practices = ("REL10-BP01",)
    severity = "high"
    dynamic = True
    description = ("An `rds` instance without `multi_az`, or an `aurora` cluster with neither `multi_az` nor a "
                   "read replica to promote.")

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for name, c in ctx.of_type("rds", "aurora"):
            if c.any_multi_az or (c.type == "aurora" and c.read_replicas > 0):
                continue
            zone = c.zone or ctx.arch.zones[0]
            if c.type == "rds":
                what = (f"a Single-AZ DB instance in zone {zone}: it is down for a whole outage of that zone, "
                        f"and every reboot or failure stops it")
                fix = ("Set `multi_az: true`: a synchronous standby in another zone takes over in 60-120 s "
                       "[aws-facts §11]; or `deployment: multi_az_cluster` (three zones): two readable "
                       "standbys, failover typically under 35 s [aws-facts §11].")
            else:
                what = ("an Aurora cluster with no replica: after a writer failure it is recreated, typically in "
                        "under 10 minutes [aws-facts §11]")
                fix = ("Add a replica in another zone (`read_replicas: 1` or `multi_az: true`); failover then "
                       "takes under 60 s.")
            ev = [Evidence("static", f"{name!r}: type {c.type}, multi_az false, read_replicas {c.read_replicas}")]
            got = az_availability(ctx)
            if got is not None and got[1].data.get("zone") == zone:
                ev.append(got[1])
            out.append(self.finding(ctx, ("components", name, "multi_az"), f"{name!r} is {what}.", fix,
                                    component=name, evidence=ev))
        return out
