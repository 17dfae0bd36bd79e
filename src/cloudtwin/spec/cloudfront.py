"""Schema of the ``cloudfront`` edge cache (the minimal model the serverless blueprints need).

A distribution is a list of cache behaviors, each with its origin, the share of viewer
requests it gets, a TTL and the keys (URLs) requests ask for. :func:`check` holds the
cross-reference rules: origins that can serve a GET, shares summing to 1.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field

from cloudtwin.spec.base import ComponentSpec, Country, Dist, Duration, KeyDist, Model, Size
from cloudtwin.spec.cloudfront_behavior import CacheControl, CacheKey, Failover, Invalidation, ObjectSizes
from cloudtwin.spec.units import parse_distribution as _d
from cloudtwin.spec.units import parse_key_distribution

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]
Path = tuple[str | int, ...]

DEFAULT_TTL = 86_400.0  # 24 h [aws-facts §13 TTLs]
MAX_TTL = 31_536_000.0  # 1 year, the Maximum TTL default [aws-facts §13 TTLs]
ORIGIN_TYPES = ("s3", "apigateway", "alb", "nlb", "ec2", "asg")
SHARE_TOLERANCE = 1e-6
ViewerRegion = Literal["us", "eu", "za", "sa", "jp", "au", "ap", "in"]  # CloudFront's pricing groups



class Behavior(Model):
    """One cache behavior: requests matching ``path`` go to ``origin``, cached ``ttl``."""

    path: str = Field("/*", min_length=1, max_length=255)  # a label: requests pick a behavior by share
    origin: Name
    share: float = Field(1.0, gt=0, le=1)
    ttl: Duration = Field(DEFAULT_TTL, ge=0, le=MAX_TTL)  # [aws-facts §13 TTLs]
    cache: bool = True  # false (or ttl 0): every request goes to the origin
    key: KeyDist = Field(default_factory=lambda: parse_key_distribution("zipf(s=1.1, n=10000)"))  # assumption
    response_size: Size | None = Field(None, ge=0)  # bytes per answer, for the transfer-out bill; none: not counted
    min_ttl: Duration = Field(0.0, ge=0, le=MAX_TTL)  # [aws-facts §13 TTLs]
    max_ttl: Duration = Field(MAX_TTL, ge=0, le=MAX_TTL)  # [aws-facts §13 TTLs]
    cache_control: CacheControl | None = None  # the origin's header; none: `ttl` (the Default TTL) applies
    cache_key: CacheKey = Field(default_factory=CacheKey)  # forwarded values multiply the key space
    object_sizes: ObjectSizes | None = None  # per-object sizes (large objects); none: `response_size`
    update_every: Duration | None = Field(None, gt=0)  # each object changes at the origin this often (assumption)
    range_size: Size | None = Field(None, gt=0)  # each request is a Range GET of one part this big; none: whole
    failover: Failover | None = None  # an origin group: the secondary origin and the codes that send to it


class GeoRestriction(Model):
    """CloudFront geo restriction: viewers in ``countries`` refused (blocklist), or all but them
    (allowlist), with 403 (CloudFront Developer Guide, georestrictions.html; not in aws-facts)."""

    type: Literal["blocklist", "allowlist"] = "blocklist"
    countries: list[Country] = Field(min_length=1)


class CloudFront(ComponentSpec):
    type: Literal["cloudfront"]
    behaviors: list[Behavior] = Field(min_length=1, max_length=25)
    edges: int = Field(1, ge=1, le=1000)  # edge locations, each with its own cache (assumption: 1)
    latency: Dist = Field(default_factory=lambda: _d("lognormal(median=10ms, p99=50ms)"))  # assumption: at the edge
    origin_latency: Dist = Field(default_factory=lambda: _d("lognormal(median=20ms, p99=100ms)"))  # assumption
    connection_attempts: int = Field(3, ge=1, le=3)  # [aws-facts §13 Origin connection]
    connection_timeout: Duration = Field(10.0, ge=1, le=10)  # [aws-facts §13 Origin connection]
    response_timeout: Duration = Field(30.0, ge=1, le=60)  # [aws-facts §13 Origin response timeout]
    geo_restriction: GeoRestriction | None = None  # none: viewers from every country are served
    cache_size: Size | None = Field(None, gt=0)  # bytes per edge cache, least recently used evicted; none: unbounded
    origin_shield: bool = False  # a second cache tier all edges share [aws-facts §13 Origin Shield]
    invalidations: list[Invalidation] = Field(default_factory=list, max_length=100)
    viewers: dict[ViewerRegion, float] | None = None  # share of viewer requests by edge group; none: all "us"
    price_class: Literal["PriceClass_All", "PriceClass_200", "PriceClass_100"] = "PriceClass_All"


def check(arch: Any) -> list[tuple[Path, str]]:
    """Behavior shares sum to 1, and every behavior's origin is a component that can serve a GET."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for n, c in comps.items():
        if c.type != "cloudfront":
            continue
        if c.viewers is not None:
            vt = math.fsum(c.viewers.values())
            if not c.viewers or abs(vt - 1.0) > SHARE_TOLERANCE or min(c.viewers.values()) <= 0:
                out.append((("components", n, "viewers"), f"viewer shares must be > 0 and sum to 1, got {vt:g}"))
        total = math.fsum(b.share for b in c.behaviors)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            shares = " + ".join(f"{b.share:g}" for b in c.behaviors)
            out.append((("components", n, "behaviors"), f"behavior shares must sum to 1, got {shares} = {total:g}"))
        for i, b in enumerate(c.behaviors):
            o = comps.get(b.origin)
            if o is None or o.type not in ORIGIN_TYPES:
                got = "not a component" if o is None else f"a {o.type}"
                out.append((("components", n, "behaviors", i, "origin"), f"origin {b.origin!r} must be one of "
                            f"{', '.join(ORIGIN_TYPES)}; it is {got}"))
            f = comps.get(b.failover.origin) if b.failover is not None else None
            if b.failover is not None and (f is None or f.type not in ORIGIN_TYPES or b.failover.origin == b.origin):
                out.append((("components", n, "behaviors", i, "failover", "origin"), f"failover origin "
                            f"{b.failover.origin!r} must be another {', '.join(ORIGIN_TYPES)} component"))
            if b.cache and not b.min_ttl <= b.ttl <= b.max_ttl:
                out.append((("components", n, "behaviors", i, "ttl"), f"min_ttl <= ttl (the Default TTL) <= max_ttl "
                            f"must hold; got {b.min_ttl:g} s, {b.ttl:g} s, {b.max_ttl:g} s"))
            if c.cache_size is not None and b.response_size is None and b.object_sizes is None:
                out.append((("components", n, "behaviors", i), "with a `cache_size` every behavior needs "
                            "`response_size` or `object_sizes` (the bytes an object takes in the cache)"))
    return out


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """Legal settings worth a word (none yet)."""
    return []
