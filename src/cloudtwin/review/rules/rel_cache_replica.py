"""CT-REL-004: a cache that a single node failure empties."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class CacheWithoutReplica(Rule):
    id = "CT-REL-004"
    title = "The cache has no replica in another zone"
    pillar = "reliability"
    best_practices = ("REL10-BP01",)
    severity = "high"
    description = ("A Redis cluster with `replicas: 0`, or a Memcached cluster whose nodes all sit in one zone: "
                   "one node or zone failure empties the cache and sends every read to the database.")

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        stores = {w.sessions.store for w in ctx.arch.workloads.values() if w.sessions and w.sessions.store}
        for name, c in ctx.of_type("elasticache"):
            zones = c.zones or ctx.arch.zones
            if c.engine == "redis" and c.replicas == 0:
                path, why = ("components", name, "replicas"), "has no replica: a node failure loses its data"
                fix = "Set `replicas: 1` (or more) so a replica in another zone is promoted in seconds [aws-facts §11]."
            elif c.engine == "memcached" and (c.nodes < 2 or len(zones) < 2):
                path = ("components", name, "nodes")
                why = "keeps all its nodes in one zone" if c.nodes >= 2 else "is a single node"
                fix = "Spread two or more nodes over two zones, or use Redis with a replica."
            else:
                continue
            extra = " Sessions stored in it are lost with it." if name in stores else ""
            out.append(self.finding(
                ctx, path, f"{name!r} ({c.engine}) {why}; every read then misses and falls through to the "
                f"database.{extra}", fix, component=name,
                evidence=[Evidence("static", f"{name!r}: engine {c.engine}, replicas {c.replicas}, nodes {c.nodes}, "
                                   f"zones {list(zones)}")]))
        return out
