"""Per-layer cache accounting: what each cache on a read path did for the layer behind it.

:func:`cache_layers` reads a run's component results and the architecture and gives the
results' ``cache_layers`` block: for every cache layer (CloudFront, an API Gateway stage
cache, ElastiCache, DAX) the requests it saw, its lookups, hits, misses and hit ratio, the
requests it passed to the next layer and the load it removed from it, its TTL, the latency
its hits saved and its stale reads (count, share of hits, largest and mean age, and what
the staleness is measured against); and for every store without a cache of its own (S3,
RDS/Aurora, DynamoDB) the requests that reached it, all served there (hit ratio 0).

Latency saved is measured in the run: CloudFront, API Gateway and DAX time their own hits
and misses (hits x (mean time of a miss - mean time of a hit)); ElastiCache cannot see the
cache-aside miss path (the handler runs it), so its hits are credited with the mean
latency of the store a miss reads in the same run (a lower bound: the ``set`` after that
read is not counted).

Stale reads are counted by the layers themselves (:mod:`cloudtwin.services.cache_stale`):
against a declared update process (CloudFront, API Gateway) or the keyed writes of the
source (ElastiCache, DAX). ``stale_basis`` says which; "none declared" means the spec
changes nothing behind the layer, so none of its reads can be stale. The block is present
only when the spec has a cache layer; it holds counters, never a record per request.
"""

from __future__ import annotations

from typing import Any, Final

from cloudtwin.spec.elasticache import miss_targets, ttl_sets

STORES = ("s3", "rds", "aurora", "dynamodb")  # no cache of their own
MEASURED: Final = "hits x (mean time of a miss - mean time of a hit), both measured at this layer"


def _mean_s(comps: dict[str, Any], name: str | None) -> float:
    if name is None or name not in comps:
        return 0.0
    return float(comps[name].get("latency_ms", {}).get("mean") or 0.0) / 1000.0


def _row(name: str, kind: str, s: dict[str, Any], *, requests: int, hits: int, misses: int, passed: int,
         removed: int, nxt: list[str], ttl: Any, max_ttl: float | None, saved: float, saved_by: str,
         basis: str) -> dict[str, Any]:
    looked = hits + misses
    return {"layer": name, "type": kind, "requests": requests, "lookups": looked, "hits": hits, "misses": misses,
            "hit_ratio": round(hits / looked, 6) if looked else 0.0, "passed_on": passed, "load_removed": removed,
            "next": nxt, "ttl_s": ttl, "max_ttl_s": max_ttl, "latency_saved_s": round(saved, 6),
            "latency_saved_by": saved_by, "stale_reads": s.get("stale_reads", 0),
            "stale_share": s.get("stale_share", 0.0), "max_stale_age_s": s.get("max_stale_age_s", 0.0),
            "mean_stale_age_s": s.get("mean_stale_age_s", 0.0), "stale_basis": basis}


def _cloudfront(name: str, spec: Any, s: dict[str, Any]) -> dict[str, Any]:
    ttl = {b["path"]: b["ttl"] for b in s["behaviors"]}
    every = sorted({b.update_every for b in spec.behaviors if b.update_every is not None})
    basis = ("update_every " + ", ".join(f"{e:g}s" for e in every)) if every else "none declared"
    stale = {"stale_reads": s["stale_reads"], "max_stale_age_s": s["max_stale_age_s"]}
    served = s["hits"] + s["shield_hits"]
    stale["stale_share"] = round(s["stale_reads"] / served, 6) if served else 0.0
    ages = sum(b["mean_stale_age_s"] * b["stale_reads"] for b in s["behaviors"])
    stale["mean_stale_age_s"] = round(ages / s["stale_reads"], 6) if s["stale_reads"] else 0.0
    return _row(name, "cloudfront", stale, requests=s["requests"], hits=s["hits"], misses=s["misses"],
                passed=s["origin_requests"], removed=served + s["collapsed"],
                nxt=sorted({b.origin for b in spec.behaviors}), ttl=ttl, max_ttl=max(ttl.values(), default=0.0),
                saved=s["latency_saved_s"], saved_by=MEASURED, basis=basis)


def _apigateway(name: str, spec: Any, s: dict[str, Any]) -> dict[str, Any]:
    c = s["cache"]
    target = spec.integration.target
    every = c["update_every_s"]
    return _row(name, "apigateway", c, requests=s["requests"], hits=c["hits"], misses=c["misses"],
                passed=c["misses"] + c["invalidations"], removed=c["hits"], nxt=[target], ttl=c["ttl_s"],
                max_ttl=c["ttl_s"], saved=c["latency_saved_s"], saved_by=MEASURED,
                basis=f"update_every {every:g}s" if every is not None else "none declared")


def _elasticache(arch: Any, name: str, s: dict[str, Any], comps: dict[str, Any]) -> dict[str, Any]:
    targets = miss_targets(arch, name)
    ttls = sorted({ttl for _, _, ttl in ttl_sets(arch, name)})
    first = targets[0] if targets else None
    unseen = [t for t in targets if t not in s["sources"]]
    basis = "writes to " + ", ".join(s["sources"]) if s["sources"] else "none declared"
    if unseen:
        basis += f" (writes to {', '.join(unseen)} not observed)"
    return _row(name, "elasticache", s, requests=s["requests"], hits=s["hits"], misses=s["misses"],
                passed=s["misses"], removed=s["hits"], nxt=targets, ttl=ttls[0] if len(ttls) == 1 else ttls,
                max_ttl=ttls[-1] if ttls else None, saved=s["hits"] * _mean_s(comps, first),
                saved_by=f"hits x the mean latency of {first} in this run (the read a hit skips)" if first
                else "no store behind it", basis=basis)


def _dax(name: str, spec: Any, s: dict[str, Any]) -> dict[str, Any]:
    ttls = [t for t in (spec.item_ttl, spec.query_ttl) if t]
    ttl = {"item": spec.item_ttl, "query": spec.query_ttl}
    return _row(name, "dax", s, requests=s["requests"], hits=s["hits"], misses=s["misses"],
                passed=s["misses"] + s["pass_through"], removed=s["hits"], nxt=[spec.table], ttl=ttl,
                max_ttl=max(ttls) if len(ttls) == 2 else None, saved=s["latency_saved_s"], saved_by=MEASURED,
                basis=f"writes to {spec.table}")


def cache_layers(arch: Any, results: Any) -> dict[str, list[dict[str, Any]]]:
    """``{"layers": [...], "no_cache": [...]}`` for the run's ``results`` (a dict or Results);
    both empty when the spec has no cache layer."""
    comps: dict[str, Any] = results["components"]
    layers: list[dict[str, Any]] = []
    stores: list[dict[str, Any]] = []
    for name, spec in arch.components.items():
        s = comps.get(name)
        if s is None:
            continue
        t = spec.type
        if t == "cloudfront":
            layers.append(_cloudfront(name, spec, s))
        elif t == "apigateway" and s.get("cache"):
            layers.append(_apigateway(name, spec, s))
        elif t == "elasticache":
            layers.append(_elasticache(arch, name, s, comps))
        elif t == "dax":
            layers.append(_dax(name, spec, s))
        elif t in STORES:
            stores.append({"layer": name, "component": name, "type": t, "requests": s["requests"], "hits": 0,
                           "hit_ratio": 0.0, "cached": 0, "note": "no cache of its own: every request served here"})
    if not layers:
        return {"layers": [], "no_cache": []}
    return {"layers": layers, "no_cache": stores}
