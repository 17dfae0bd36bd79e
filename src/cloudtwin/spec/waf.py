"""Schema of a ``waf``: an AWS WAF web ACL on CloudFront distributions, ALBs or API Gateway APIs.

Rules in priority order (lowest first), each one of: an IP set, a geo match, a rate-based
rule, or a managed rule group given as a stated detection rate; each blocks, allows or
counts what it matches; the default action takes the rest. ``protects`` names the
resources it is associated with (a distribution's ``WebACLId``, or
``AWS::WAFv2::WebACLAssociation`` for an ALB or an API stage).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from cloudtwin.spec.base import Cidr, ComponentSpec, Country, Duration, Model, Name, expect
from cloudtwin.spec.loader import Path

WINDOWS = (60.0, 120.0, 300.0, 600.0)  # rate-based evaluation windows [aws-facts §14 WAF rate-based rule]
MIN_LIMIT = 10  # the least rate limit since March 2024 (100 before) [aws-facts §14 WAF rate-based rule]
GLOBAL = ("cloudfront",)  # scope CLOUDFRONT
REGIONAL = ("alb", "apigateway")  # scope REGIONAL
KINDS = ("ip_set", "geo", "rate", "managed")


class RateLimit(Model):
    """A rate-based rule: an aggregation key sending more than ``limit`` requests in the
    last ``window`` is matched until its count falls back to the limit."""

    limit: int = Field(ge=MIN_LIMIT, le=2_000_000_000)  # [aws-facts §14 WAF rate-based rule]
    window: Duration = 300.0  # 60, 120, 300 (default) or 600 s [aws-facts §14 WAF rate-based rule]
    key: Literal["ip", "forwarded_ip"] = "ip"  # the source address, or the client's in X-Forwarded-For

    @model_validator(mode="after")
    def _window(self) -> RateLimit:
        if self.window not in WINDOWS:
            raise ValueError(f"window {self.window:g}s: AWS WAF offers 60, 120, 300 or 600 s "
                             "[aws-facts §14 WAF rate-based rule]")
        return self


class Managed(Model):
    """A managed rule group, as a stated detection rate (its rules are not modelled)."""

    detection: float = Field(ge=0, le=1)  # share of attacker requests it matches (stated by the spec)
    false_positive: float = Field(0.0, ge=0, le=1)  # share of legitimate requests it matches


class WafRule(Model):
    name: Name
    priority: int = Field(ge=0, le=1_000_000)
    action: Literal["block", "allow", "count"] = "block"
    ip_set: list[Cidr] | None = Field(None, min_length=1, max_length=10_000)
    geo: list[Country] | None = Field(None, min_length=1)
    rate: RateLimit | None = None
    managed: Managed | None = None
    forwarded_ip: bool = False  # ip_set and geo read the client address in X-Forwarded-For

    @model_validator(mode="after")
    def _one(self) -> WafRule:
        kinds = [k for k in KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"a rule needs exactly one of {', '.join(KINDS)}; got {kinds or 'none'}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)


class Waf(ComponentSpec):
    type: Literal["waf"]
    protects: list[Name] = Field(min_length=1)  # cloudfront distributions, or ALBs and API Gateway APIs
    rules: list[WafRule] = Field(default_factory=list, max_length=100)
    default_action: Literal["allow", "block"] = "allow"
    # how often WAF recounts each key's rate: "about every 10 seconds" (WAFv2 API reference,
    # RateBasedStatement.EvaluationWindowSec; not in aws-facts, whose §14 says "frequently", 30 s in 2023)
    rate_check_interval: Duration = Field(10.0, ge=1, le=300)

    @model_validator(mode="after")
    def _unique(self) -> Waf:
        for what in ("name", "priority"):
            vals = [getattr(r, what) for r in self.rules]
            dup = sorted({str(v) for v in vals if vals.count(v) > 1})
            if dup:
                raise ValueError(f"rule {what}(s) {', '.join(dup)} used twice; each rule has its own")
        return self


def check(arch: Any) -> list[tuple[Path, str]]:
    """What a web ACL protects exists and can take one; one scope per web ACL, one ACL per resource."""
    out: list[tuple[Path, str]] = []
    owner: dict[str, str] = {}
    for n, c in arch.components.items():
        if c.type != "waf":
            continue
        scopes = set()
        for i, p in enumerate(c.protects):
            path = ("components", n, "protects", i)
            got = expect(out, arch.components, path, p, GLOBAL + REGIONAL, "protected resource")
            if got is None:
                continue
            scopes.add("CLOUDFRONT" if got.type in GLOBAL else "REGIONAL")
            if p in owner:
                out.append((path, f"{p!r} already has web ACL {owner[p]!r}; a resource takes one"))
            owner[p] = n
        if len(scopes) > 1:
            out.append((("components", n, "protects"), "a web ACL is either for CloudFront (global scope) or "
                        "for regional resources (ALB, API Gateway), not both"))
    return out


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """Legal settings worth a word (none yet)."""
    return []
