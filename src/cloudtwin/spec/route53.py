"""Schema of ``route53``: a hosted zone's records (alias, A, failover) and health checks.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.route53`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from cloudtwin.spec.base import ComponentSpec, Duration, Model, Name


# ---------------------------------------------------------------- route 53
class R53HealthCheck(Model):
    interval: Literal[10, 30] | Duration = 30.0  # 30 s standard, 10 s fast [aws-facts §4]
    failure_threshold: int = Field(3, ge=1, le=10)  # default 3 [aws-facts §4]


class Record(Model):
    name: str = Field(min_length=1, max_length=253)
    alias: Name | None = None
    a: Name | None = None
    ttl: Duration | None = Field(None, le=172_800)  # A records: 300 s when omitted (assumption)
    routing: Literal["simple", "failover", "weighted"] = "simple"
    failover: Literal["primary", "secondary"] | None = None
    weight: int | None = Field(None, ge=0, le=255)
    health_check: bool | R53HealthCheck = False
    evaluate_target_health: bool = False  # API default; AWS recommends true [aws-facts §4]

    @model_validator(mode="after")
    def _one_target(self) -> Record:
        if (self.alias is None) == (self.a is None):
            raise ValueError("a record needs exactly one of `alias:` (a load balancer) or `a:` (an instance)")
        if self.alias is not None and self.ttl is not None:
            raise ValueError("an alias record has no TTL of its own; it uses the target's [aws-facts §4]")
        if self.routing == "failover" and self.failover is None:
            raise ValueError("routing: failover needs `failover: primary` or `failover: secondary`")
        if self.routing == "weighted" and self.weight is None:
            raise ValueError("routing: weighted needs `weight:`")
        return self


class Route53(ComponentSpec):
    type: Literal["route53"]
    records: list[Record] = Field(min_length=1)

