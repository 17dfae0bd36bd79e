"""Schema of a CloudFront behavior's cache policy and origin headers, and of invalidations.

Kept apart from :mod:`cloudtwin.spec.cloudfront` so the distribution's own keys stay
small: what the origin says about caching (``cache_control``), what the cache key holds
besides the URL (``cache_key``), how big the objects are (``object_sizes``), how often
they change at the origin (``update_every``) and the scheduled ``invalidations``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from cloudtwin.spec.base import Duration, Model, Size

MAX_TTL = 31_536_000.0  # 1 year [aws-facts §13 TTLs]
MAX_VARIANTS = 1000  # per dimension: assumption, keeps the key space in reach of a run


class CacheControl(Model):
    """The origin's ``Cache-Control`` on every answer of the behavior (none: no header)."""

    max_age: Duration | None = Field(None, ge=0, le=10 * MAX_TTL)
    s_maxage: Duration | None = Field(None, ge=0, le=10 * MAX_TTL)  # wins over max-age for CloudFront
    no_cache: bool = False  # no-cache, no-store or private: stored only for a Minimum TTL > 0


class CacheKey(Model):
    """What the cache key holds besides the URL: the distinct values viewers send of the forwarded
    query strings, headers and cookies (1: not in the key). The key space is multiplied by each."""

    query_strings: int = Field(1, ge=1, le=MAX_VARIANTS)
    headers: int = Field(1, ge=1, le=MAX_VARIANTS)
    cookies: int = Field(1, ge=1, le=MAX_VARIANTS)

    @property
    def variants(self) -> int:
        return self.query_strings * self.headers * self.cookies


class ObjectSizes(Model):
    """Object sizes, log-uniform between ``min`` and ``max`` (assumption); each object keeps its size."""

    min: Size = Field(gt=0)
    max: Size = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> ObjectSizes:
        if self.max < self.min:
            raise ValueError(f"max ({self.max:g} bytes) must be at least min ({self.min:g} bytes)")
        return self


class Invalidation(Model):
    """At ``at``, remove every cached object of the behaviors whose path the ``paths`` match."""

    at: Duration = Field(ge=0)
    paths: list[str] = Field(min_length=1, max_length=3000)  # [aws-facts §13 Invalidations: per path]


FailoverCode = Literal[400, 403, 404, 416, 500, 502, 503, 504]  # [aws-facts §13 Origin-group failover codes]
DEFAULT_CODES: tuple[FailoverCode, ...] = (500, 502, 503, 504)  # assumption: the 5xx codes


class Failover(Model):
    """An origin group: when the primary answers one of ``codes`` (or does not answer), the same
    request goes to ``origin``."""

    origin: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)
    codes: list[FailoverCode] = Field(default_factory=lambda: list(DEFAULT_CODES), min_length=1)


def edge_ttl(min_ttl: float, default_ttl: float, max_ttl: float, cc: Any | None) -> float:
    """Seconds CloudFront keeps an answer, from the behavior's TTLs and the origin's Cache-Control
    [aws-facts §13 TTLs] (the model: :mod:`cloudtwin.services.cloudfront_cache`)."""
    if cc is None:
        return default_ttl
    if cc.no_cache:
        return min_ttl  # 0: not stored; > 0: stored for the Minimum TTL despite the directive
    age = cc.s_maxage if cc.s_maxage is not None else cc.max_age
    if age is None:
        return default_ttl
    return min(max(float(age), min_ttl), max_ttl)
