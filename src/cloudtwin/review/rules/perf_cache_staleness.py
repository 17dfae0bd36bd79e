"""CT-PERF-007: a cache keeps answers longer than the data behind them stays current.

A copy cached for a TTL T of data that changes every U seconds is out of date for the
part of its life after the first change: hits spread evenly over the copy's life find it
stale with probability min(age / U, 1), so the stale share of the hits is T / (2U) for
T <= U and 1 - U / (2T) above: more than half once T > U. Statically the rule flags the
layers whose TTL exceeds their declared update period (CloudFront behaviors and API
Gateway stage caches, ``update_every``); with simulation the measured stale share at each
cache layer (the results' ``cache_layers``, counted by the layers themselves) decides,
for ElastiCache and DAX too (their sources' writes), above :data:`STALE`, when the run
lasted at least the TTL (a shorter one cannot hold a copy long enough to show it).
"""

from __future__ import annotations

from typing import Any

from cloudtwin.review.context import Context
from cloudtwin.review.evidence import spec_run
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule
from cloudtwin.spec.apigateway import update_every
from cloudtwin.spec.cloudfront_behavior import edge_ttl
from cloudtwin.spec.loader import Path

STALE = 0.5  # stale share of the hits above which it fires: where TTL = the update period (1 - U/2T)


def expected_share(ttl: float, every: float) -> float:
    """The stale share of hits spread evenly over a copy's life (module notes)."""
    return ttl / (2 * every) if ttl <= every else 1 - every / (2 * ttl)


def declared(ctx: Context) -> list[tuple[str, Path, float, float]]:
    """(layer, spec path, TTL, update period) of each layer whose TTL exceeds its update period."""
    out: list[tuple[str, Path, float, float]] = []
    for name, c in ctx.of_type("cloudfront"):
        for i, b in enumerate(c.behaviors):
            ttl = edge_ttl(b.min_ttl, b.ttl, b.max_ttl, b.cache_control) if b.cache else 0.0
            if b.update_every is not None and ttl > b.update_every:
                out.append((name, ("components", name, "behaviors", i, "ttl"), ttl, float(b.update_every)))
    for name, c in ctx.of_type("apigateway"):
        every = update_every(ctx.arch, name) if c.cache is not None else None
        if every is not None and c.cache.ttl > every:
            out.append((name, ("components", name, "cache", "ttl"), float(c.cache.ttl), every))
    return out


class CacheOutlivesItsData(Rule):
    id = "CT-PERF-007"
    title = "A cache keeps answers longer than the data behind them stays current"
    pillar = "performance_efficiency"
    best_practices = ("PERF03-BP05",)
    severity = "medium"
    dynamic = True
    description = ("A CloudFront behavior or an API Gateway stage cache whose TTL is longer than `update_every`, "
                   "how often its data changes at the origin: more than half of its hits then serve an answer "
                   "older than the origin's (1 - update_every / (2 x TTL) of them). With simulation the stale "
                   "share measured at every cache layer (ElastiCache and DAX against their sources' writes "
                   "too) decides, above 50%, when the run lasted at least the TTL.")

    def check(self, ctx: Context) -> list[Finding]:
        s = spec_run(ctx)
        data = s.data if s is not None and not s.skipped else None
        layers = {x["layer"]: x for x in (data.get("cache_layers") or {}).get("layers", [])} if data else {}
        out: list[Finding] = []
        seen: set[str] = set()
        for name, path, ttl, every in declared(ctx):
            ev = [Evidence("static", f"TTL {ttl:g} s over an update period of {every:g} s: about "
                           f"{expected_share(ttl, every):.0%} of the hits stale once the cache is in steady state")]
            got = _observed(data, layers, name, path)
            if got is not None:
                ran = float(data["simulated_s"]) if data else 0.0
                if ran >= ttl and got["stale_share"] <= STALE:
                    continue  # a run as long as the TTL measured it: the measurement decides
                ev.append(self._measured(got) if ran >= ttl else Evidence(
                    "dynamic", f"the spec's {ran:g} s run, shorter than the TTL, measured {got['stale_share']:.1%} "
                    "of the hits stale: copies are never older than the run, so it cannot show the steady state",
                    {"scenario": "spec", "stale_share": got["stale_share"], "simulated_s": ran}))
            seen.add(name)
            out.append(self._finding(ctx, name, path, ttl, ev))
        for name, got in layers.items():
            if name not in seen and got["stale_share"] > STALE and got["stale_reads"]:
                out.append(self._finding(ctx, name, ("components", name), got["max_ttl_s"], [self._measured(got)]))
        return out

    @staticmethod
    def _measured(got: dict[str, Any]) -> Evidence:
        return Evidence("dynamic", f"the spec's scenario measured {got['stale_reads']:,} stale reads at "
                        f"{got['layer']!r}, {got['stale_share']:.0%} of its hits (against {got['stale_basis']}), up to "
                        f"{got['max_stale_age_s']:.0f} s out of date",
                        {"scenario": "spec", "stale_reads": got["stale_reads"], "stale_share": got["stale_share"],
                         "max_stale_age_s": got["max_stale_age_s"]})

    def _finding(self, ctx: Context, name: str, path: Path, ttl: Any, ev: list[Evidence]) -> Finding:
        return self.finding(
            ctx, path,
            f"{name!r} keeps answers for {'ever' if ttl is None else f'{ttl:g} s'}, longer than the data behind it "
            "stays current: most of its "
            "hits serve an out-of-date copy.",
            "Cache for less than the data's update period (a shorter `ttl`, or the origin's `max_age`), or "
            "invalidate on change (CloudFront `invalidations`, an API cache `invalidate` call, an ElastiCache "
            "`delete` or `set` after the write).",
            component=name, evidence=ev)


def _observed(data: dict[str, Any] | None, layers: dict[str, dict[str, Any]], name: str,
              path: Path) -> dict[str, Any] | None:
    """The measured stale reads of the declared layer at ``path``: a CloudFront behavior's own
    counters (its distribution's row mixes behaviors), else the layer's row."""
    if data is None:
        return None
    if path[2] == "behaviors":
        b = data["components"][name]["behaviors"][path[3]]
        return {"layer": f"{name} {b['path']}", "stale_reads": b["stale_reads"], "stale_share": b["stale_share"],
                "max_stale_age_s": b["max_stale_age_s"], "stale_basis": "update_every"}
    return layers.get(name)
