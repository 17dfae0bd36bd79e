"""CT-PERF-001: a read-heavy database with no cache in front.

The notes: "S3 and database have no caching abilities".
"""

from __future__ import annotations

from cloudtwin.review.context import READ_OPS, Context
from cloudtwin.review.evidence import spec_run
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class ReadHeavyStoreWithoutCache(Rule):
    id = "CT-PERF-001"
    title = "A read-heavy database has no cache in front"
    pillar = "performance_efficiency"
    best_practices = ("PERF03-BP05",)
    severity = "medium"
    dynamic = True
    description = ("An `rds`/`aurora` component that handlers read directly (`query`/`read` calls that are not "
                   "the `on_miss` of a cache get) at least as often as they write: the database has no cache of "
                   "its own, so every read costs a query.")

    def check(self, ctx: Context) -> list[Finding]:
        out = []
        for name, _ in ctx.of_type("rds", "aurora"):
            reads = [c for c in ctx.calls_to(name) if (c.op or "query") in READ_OPS]
            direct = [c for c in reads if not c.on_miss]
            if not direct:
                continue
            writes = [c for c in ctx.calls_to(name) if c.op == "write"]
            r_rate = sum(_rate(ctx, c.caller) for c in direct)
            w_rate = sum(_rate(ctx, c.caller) for c in writes)
            if r_rate < w_rate or (r_rate == w_rate == 0 and len(direct) < len(writes)):
                continue
            ev = [Evidence("static", f"{len(direct)} uncached read call(s) ({', '.join(c.caller for c in direct)}); "
                                     f"about {r_rate:,.0f} reads/s against {w_rate:,.0f} writes/s at the peak")]
            s = spec_run(ctx)
            if s is not None:
                db = s.component(name)
                if db:
                    ev.append(Evidence("dynamic", f"the spec's scenario sent {db.get('reads', 0):,} reads to "
                                       f"{name!r} (utilisation {db.get('utilization', 0):.0%})",
                                       {"scenario": "spec", "reads": db.get("reads"),
                                        "utilization": db.get("utilization")}))
            first = direct[0]
            out.append(self.finding(
                ctx, first.path,
                f"{name!r} serves every read itself ({first.caller!r} calls {first.step.call} directly): a database "
                f"has no cache of its own, so repeated reads cost a query each and the database becomes the "
                f"bottleneck as traffic grows.",
                "Put ElastiCache in front (cache-aside: `call: cache.get` with `on_miss: [db.query, cache.set "
                "with ttl]`), or add read replicas.",
                component=name, evidence=ev))
        return out


def _rate(ctx: Context, caller: str) -> float:
    load = ctx.loads.get(caller)
    return load.rate if load else 0.0
