"""The edge: CloudFront distributions, their origins (buckets, load balancers, APIs and instances
of the template) and cache behaviours with their TTLs."""

from __future__ import annotations

from typing import Any

from cloudtwin.importers.mapping import Ctx
from cloudtwin.spec.cloudfront import ORIGIN_TYPES

# AWS's managed cache policies (CloudFront guide, "Using the managed cache policies"): id -> default TTL
# in seconds, None for CachingDisabled (every request goes to the origin)
_MANAGED = {"658327ea-f89d-4fab-a63d-7e88639e58f6": 86_400.0,  # CachingOptimized
            "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": 86_400.0,  # CachingOptimizedForUncompressedObjects
            "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": None}  # CachingDisabled


def _secs(v: float) -> str:
    return f"{int(v)}s" if float(v).is_integer() else f"{v}s"


def _ttl(ctx: Ctx, d: str, where: str, b: dict[str, Any], out: dict[str, Any]) -> None:
    """A behaviour's cache: its cache policy (managed, or one of the template), else the legacy
    DefaultTTL, else AWS's default of 24 h."""
    pol = b.get("CachePolicyId")
    if isinstance(pol, str) and pol in _MANAGED:
        ttl = _MANAGED[pol]
        if ttl is None:
            out["cache"] = False
        else:
            out["ttl"] = _secs(ttl)
        return
    res = ctx.target(pol)
    if res is not None and ctx.res_type(res) == "AWS::CloudFront::CachePolicy":
        cfg = ctx.tpl.props(res).get("CachePolicyConfig") or {}
        ctx.fold(res, ctx.names[d])
        v = ctx.num(res, cfg, "DefaultTTL", structural=False)
        if v is not None:
            if v == 0 and not ctx.num(res, cfg, "MaxTTL", structural=False):
                out["cache"] = False
            else:
                out["ttl"] = _secs(v)
            return
    elif pol is not None:
        ctx.assume(f"{ctx.names[d]}: {where}'s cache policy {pol} is not in the template: its TTL is taken as "
                   "AWS's default")
    v = ctx.num(d, b, "DefaultTTL", structural=False)
    if v is not None:
        out["ttl"] = _secs(v)
    else:
        ctx.default(d, f"{where}.DefaultTTL", "ttl", "24h", "AWS's default [aws-facts §13 TTLs]")


def distribution(ctx: Ctx, d: str) -> None:
    cfg = ctx.tpl.props(d).get("DistributionConfig") or {}
    name = ctx.names[d]
    origins: dict[str, str] = {}
    raw: dict[str, dict[str, Any]] = {}
    for o in cfg.get("Origins") or []:
        if not isinstance(o, dict):
            continue
        comp = ctx.comp(o.get("DomainName"))
        kind = ctx.components.get(comp or "", {}).get("type")
        if comp is not None and kind in ORIGIN_TYPES:
            origins[str(o.get("Id"))] = comp
            raw[str(o.get("Id"))] = o
        else:
            res = ctx.target(o.get("DomainName"))
            what = f"{res}, which is not mapped" if res is not None and comp is None else str(o.get("DomainName"))
            ctx.assume(f"{name}: origin {o.get('Id')} ({what}) is not a bucket, API, load balancer or instance of the "
                       "template that cloudtwin maps: the behaviours to it are left out")
    behaviors: list[dict[str, Any]] = []
    default = cfg.get("DefaultCacheBehavior")
    for where, b in [("DefaultCacheBehavior", default),
                     *((f"CacheBehaviors[{i}]", x) for i, x in enumerate(cfg.get("CacheBehaviors") or []))]:
        if not isinstance(b, dict) or str(b.get("TargetOriginId")) not in origins:
            continue
        out: dict[str, Any] = {"path": str(b.get("PathPattern", "/*")), "origin": origins[str(b["TargetOriginId"])]}
        _ttl(ctx, d, where, b, out)
        behaviors.append(out)
    if not behaviors:
        ctx.leave(d, "none of its cache behaviours goes to an origin cloudtwin maps")
        return
    n = len(behaviors)
    for b in behaviors:
        b["share"] = 1.0 / n if n > 1 else 1.0
    if n > 1:
        ctx.assume(f"{name}: its {n} cache behaviours ({', '.join(b['path'] for b in behaviors)}) get equal shares "
                   "of the viewer requests; set `share:` from real traffic")
    spec: dict[str, Any] = {"type": "cloudfront", "behaviors": behaviors}
    first = raw.get(str((default or {}).get("TargetOriginId")))
    if first is not None:
        attempts = ctx.int_(d, first, "ConnectionAttempts", structural=False)
        timeout = ctx.num(d, first, "ConnectionTimeout", structural=False)
        read = ctx.num(d, first.get("CustomOriginConfig") or {}, "OriginReadTimeout", structural=False)
        if attempts is not None:
            spec["connection_attempts"] = attempts
        if timeout is not None:
            spec["connection_timeout"] = _secs(timeout)
        if read is not None:
            spec["response_timeout"] = _secs(read)
    if cfg.get("PriceClass") is not None:
        ctx.assume(f"{name}: PriceClass {cfg['PriceClass']} is not modelled (one edge cache, `edges: 1`)")
    for x in ctx.of_type("AWS::CloudFront::OriginAccessControl", "AWS::CloudFront::CloudFrontOriginAccessIdentity"):
        ctx.fold(x, name)  # who may read the bucket: no behaviour of its own
    ctx.add(d, spec)
