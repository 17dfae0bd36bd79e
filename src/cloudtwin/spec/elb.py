"""Schema of the load balancers ``alb``, ``nlb`` and ``clb``: targets, health checks, stickiness.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.elb`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Model, Name, Zone
from cloudtwin.spec.units import parse_distribution as _d


# ---------------------------------------------------------------- load balancers
class LBHealthCheck(Model):
    interval: Duration | None = Field(None, ge=5, le=300)  # ALB/NLB default 30 s [aws-facts §1]
    timeout: Duration | None = Field(None, ge=2, le=120)  # ALB 5 s, NLB 10 s TCP [aws-facts §1]
    healthy_threshold: int | None = Field(None, ge=2, le=10)  # default 5 [aws-facts §1]
    unhealthy_threshold: int | None = Field(None, ge=2, le=10)  # default 2 [aws-facts §1]
    path: str = "/"


class Stickiness(Model):
    type: Literal["lb_cookie", "app_cookie", "source_ip"] | None = None  # default by LB type
    duration: Duration = Field(86_400.0, ge=1, le=604_800)  # 1 s-7 d, default 1 d [aws-facts §1]


class LoadBalancer(ComponentSpec):
    type: Literal["alb", "nlb", "clb"]
    targets: Name | list[Name]
    algorithm: Literal["round_robin", "least_outstanding_requests"] = "round_robin"
    stickiness: bool | Stickiness = False
    health_check: LBHealthCheck = Field(default_factory=LBHealthCheck)
    deregistration_delay: Duration = Field(300.0, le=3600)  # [aws-facts §1]
    cross_zone: bool | None = None  # None: ALB on, NLB off [aws-facts §1]
    zones: list[Zone] | None = None
    internet_facing: bool = True
    https: bool = False  # the listener terminates TLS (HTTPS; TLS on an NLB); plain HTTP/TCP otherwise
    latency: Dist = Field(default_factory=lambda: _d("0.4ms"))  # LB processing time (assumption)

    @property
    def target_names(self) -> list[str]:
        return [self.targets] if isinstance(self.targets, str) else list(self.targets)

    @property
    def sticky(self) -> Stickiness | None:
        if self.stickiness is False:
            return None
        return Stickiness() if self.stickiness is True else self.stickiness

