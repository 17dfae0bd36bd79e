"""Schema of the load balancers ``alb``, ``nlb`` and ``clb``: targets, health checks, stickiness.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.elb`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Model, Name, Zone
from cloudtwin.spec.loader import Path
from cloudtwin.spec.units import parse_distribution as _d


# ---------------------------------------------------------------- load balancers
class LBHealthCheck(Model):
    # None: HTTP for an ALB/CLB, TCP for an NLB [aws-facts §1 ALB protocol and path, NLB defaults]
    protocol: Literal["http", "https", "tcp"] | None = None
    interval: Duration | None = Field(None, ge=5, le=300)  # ALB/NLB default 30 s [aws-facts §1]
    timeout: Duration | None = Field(None, ge=2, le=120)  # ALB 5 s; NLB 6 s HTTP, 10 s TCP/HTTPS [aws-facts §1]
    healthy_threshold: int | None = Field(None, ge=2, le=10)  # default 5 [aws-facts §1]
    unhealthy_threshold: int | None = Field(None, ge=2, le=10)  # default 2 [aws-facts §1]
    path: str = "/"  # [aws-facts §1 ALB health-check protocol and path]


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
    slow_start: Duration = Field(0.0, ge=0, le=900)  # 0 off, else 30-900 s [aws-facts §1 Slow start (ALB)]
    # ALB weighted target groups: each target its own group, weight 0-999 (AWS What's New 2019-11-19)
    weights: dict[Name, int] | None = None

    @property
    def target_names(self) -> list[str]:
        return [self.targets] if isinstance(self.targets, str) else list(self.targets)

    @property
    def sticky(self) -> Stickiness | None:
        if self.stickiness is False:
            return None
        return Stickiness() if self.stickiness is True else self.stickiness



def lb_zones(arch: Any, lb: LoadBalancer) -> list[str]:
    """The AZs a load balancer has nodes in: ``zones:``, else those of its targets (an ``ec2``
    without ``zones:`` is in the spec's first zone, an ``asg`` without them in all of them), as
    :meth:`cloudtwin.services.elb.LoadBalancer.build` derives them."""
    if lb.zones:
        return sorted(set(lb.zones))
    out: set[str] = set()
    for t in lb.target_names:
        c = arch.components.get(t)
        kind = getattr(c, "type", None)
        if kind == "ec2":
            out.update(c.zones or [arch.zones[0]])
        elif kind == "asg":
            out.update(c.zones or arch.zones)
    return sorted(out)


def check(arch: Any) -> list[tuple[Path, str]]:
    """Load-balancer settings AWS refuses."""
    out: list[tuple[Path, str]] = []
    for n, c in arch.components.items():
        if not isinstance(c, LoadBalancer):
            continue
        base: Path = ("components", n)
        zones = lb_zones(arch, c)
        if c.type == "alb" and 0 < len(zones) < 2:
            # ALB subnets must span two AZs (ELB API reference, CreateLoadBalancer Subnets; no facts row)
            where = (*base, "zones") if c.zones else base
            how = f"`zones:` is {zones}" if c.zones else f"its targets are all in {zones} and it has no `zones:`"
            fix = ("give it `zones:` with two of the spec's zones" if len(arch.zones) > 1
                   else "the spec needs a second zone, and the ALB `zones:` with both")
            out.append((where, f"an Application Load Balancer needs subnets in at least two Availability "
                        f"Zones; {how}: {fix}"))
        if c.slow_start and (c.type != "alb" or c.slow_start < 30):
            out.append(((*base, "slow_start"), "slow start is an ALB setting of 30 s to 900 s (0: off) "
                        "[aws-facts §1 Slow start (ALB)]"))
        if c.slow_start and c.algorithm == "least_outstanding_requests":
            out.append(((*base, "slow_start"), "slow start cannot be combined with least outstanding requests "
                        "[aws-facts §1 Slow start (ALB)]"))
        if c.weights is not None:
            w = c.weights
            if c.type != "alb":
                out.append(((*base, "weights"), "weighted target groups are an ALB feature"))
            if set(w) != set(c.target_names):
                out.append(((*base, "weights"), f"weights must name exactly the targets {c.target_names}"))
            if any(not 0 <= v <= 999 for v in w.values()) or not any(w.values()):
                out.append(((*base, "weights"), "each weight is 0-999 and at least one is above 0"))
            if c.cross_zone is False:
                out.append(((*base, "weights"), "weighted target groups with cross-zone off are not modelled"))
            if c.sticky is not None and c.sticky.type == "app_cookie":
                out.append(((*base, "stickiness"), "application-cookie stickiness does not work with weighted "
                            "target groups [aws-facts §1 Stickiness limitations]"))
        if c.type == "alb" and c.health_check.protocol == "tcp":
            out.append(((*base, "health_check", "protocol"), "an ALB checks its targets over HTTP or HTTPS "
                        "[aws-facts §1 ALB health-check protocol and path]; tcp is for an NLB or CLB"))
    return out
