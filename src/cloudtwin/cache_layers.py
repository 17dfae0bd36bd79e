"""Per-layer cache accounting: what each cache on a read path did for the layer behind it.

:func:`cache_layers` reads a run's component results and the architecture and gives, for
every cache layer (CloudFront, an API Gateway stage cache, ElastiCache, DAX): hits,
misses, hit ratio, the requests it passed to the next layer, the load it removed from
that layer (its hits), its TTL, the latency its hits saved and its stale reads; and for
every store without a cache of its own (S3, RDS/Aurora, DynamoDB) the requests that
reached it, all of them served there.

Latency saved: CloudFront measures it (hits x (mean time of a miss - mean time of a
hit)); for the other layers it is estimated as hits x the next layer's mean latency in
the same run (what a hit did not wait for). Stale reads: CloudFront counts hits on a
copy older than the object's last change at the origin (``update_every``); DAX counts
hits after a write that bypassed it; API Gateway and ElastiCache do not model the
origin's changes, so theirs are ``None`` (not counted) with their TTL as the bound.
"""

from __future__ import annotations

from typing import Any

from cloudtwin.spec.elasticache import ttl_sets

STORES = ("s3", "rds", "aurora", "dynamodb")  # no cache of their own


def _mean_s(comps: dict[str, Any], name: str | None) -> float:
    if name is None or name not in comps:
        return 0.0
    return float(comps[name].get("latency_ms", {}).get("mean") or 0.0) / 1000.0


def _miss_target(arch: Any, cache: str) -> str | None:
    """The component a handler calls when a ``get`` on ``cache`` misses (cache-aside)."""
    for c in arch.components.values():
        for st in getattr(c, "handler", None) or []:
            if getattr(st, "target", None) == cache and st.on_miss:
                for inner in st.on_miss:
                    target = getattr(inner, "target", None)
                    if target is not None and target != cache:
                        return str(target)
    return None


def _row(name: str, kind: str, hits: int, misses: int, passed: int, nxt: list[str], ttl: Any,
         saved: float, stale: int | None) -> dict[str, Any]:
    looked = hits + misses
    return {"layer": name, "type": kind, "hits": hits, "misses": misses,
            "hit_ratio": round(hits / looked, 6) if looked else 0.0, "passed_on": passed,
            "load_removed": hits, "next": nxt, "ttl_s": ttl, "latency_saved_s": round(saved, 6),
            "stale_reads": stale}


def cache_layers(arch: Any, results: Any) -> dict[str, list[dict[str, Any]]]:
    """``{"layers": [...], "no_cache": [...]}`` for the run's ``results``."""
    comps: dict[str, Any] = results["components"]
    layers: list[dict[str, Any]] = []
    stores: list[dict[str, Any]] = []
    for name, spec in arch.components.items():
        s = comps.get(name)
        if s is None:
            continue
        t = spec.type
        if t == "cloudfront":
            nxt = sorted({b.origin for b in spec.behaviors})
            ttl = {b["path"]: b["ttl"] for b in s["behaviors"]}
            layers.append(_row(name, t, s["hits"], s["misses"], s["origin_requests"], nxt, ttl,
                               s["latency_saved_s"], s["stale_reads"]))
        elif t == "apigateway" and spec.cache is not None and s.get("cache"):
            target = spec.integration.target if spec.integration is not None else None
            h, m = s["cache"]["hits"], s["cache"]["misses"]
            layers.append(_row(name, t, h, m, m, [target] if target else [], spec.cache.ttl,
                               h * _mean_s(comps, target), None))
        elif t == "elasticache":
            target = _miss_target(arch, name)
            ttls = sorted({ttl for _, _, ttl in ttl_sets(arch, name)})
            layers.append(_row(name, t, s["hits"], s["misses"], s["misses"], [target] if target else [],
                               ttls[0] if len(ttls) == 1 else ttls, s["hits"] * _mean_s(comps, target), None))
        elif t == "dax":
            layers.append(_row(name, t, s["hits"], s["misses"], s["misses"] + s["pass_through"], [spec.table],
                               spec.item_ttl, s["hits"] * _mean_s(comps, spec.table), s["stale_reads"]))
        elif t in STORES:
            stores.append({"component": name, "type": t, "requests": s["requests"], "cached": 0})
    return {"layers": layers, "no_cache": stores}
