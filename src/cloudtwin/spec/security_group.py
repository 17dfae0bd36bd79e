"""Schema of a ``security_group``: a VPC security group on fleets and load balancers.

Allow rules only, all evaluated (a request is let in if any rule allows it), stateful (replies
need no rule) [aws-facts §14 Security-group semantics]. A rule allows an IPv4 block, another
security group (the addresses of the resources it is attached to), or CloudFront's
origin-facing managed prefix list [aws-facts §13 Source IP seen at the origin]. ``protects``
names the resources whose network interfaces it is attached to.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from cloudtwin.spec.base import Cidr, ComponentSpec, Model, Name, expect
from cloudtwin.spec.loader import Path

RULE_QUOTA = 60  # inbound rules per security group [aws-facts §14 Security-group quotas]
ATTACHABLE = ("ec2", "asg", "alb", "nlb")
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"  # [aws-facts §13]
SOURCES = ("cidr", "source_group", "prefix_list")


class SgRule(Model):
    """One inbound allow rule: from a block, a group or a prefix list, on ``ports``."""

    cidr: Cidr | None = None
    source_group: Name | None = None  # another security_group component
    prefix_list: Literal["com.amazonaws.global.cloudfront.origin-facing"] | None = None
    ports: str = Field("0-65535", pattern=r"^\d{1,5}(-\d{1,5})?$")

    @property
    def span(self) -> tuple[int, int]:
        lo, _, hi = self.ports.partition("-")
        return int(lo), int(hi or lo)

    @model_validator(mode="after")
    def _one(self) -> SgRule:
        got = [k for k in SOURCES if getattr(self, k) is not None]
        if len(got) != 1:
            raise ValueError(f"a rule needs exactly one of {', '.join(SOURCES)}; got {got or 'none'}")
        lo, hi = self.span
        if hi > 65535 or lo > hi:
            raise ValueError(f"ports {self.ports!r}: a range from low to high within 0-65535")
        return self


class SecurityGroup(ComponentSpec):
    type: Literal["security_group"]
    protects: list[Name] = Field(min_length=1)  # fleets and load balancers it is attached to
    inbound: list[SgRule] = Field(default_factory=list, max_length=RULE_QUOTA)  # none: nothing comes in
    port: int = Field(80, ge=0, le=65535)  # the port the protected resources listen on (assumption: HTTP)


def check(arch: Any) -> list[tuple[Path, str]]:
    """Protected resources exist and take a group (one modelled per resource); source groups exist."""
    out: list[tuple[Path, str]] = []
    owner: dict[str, str] = {}
    for n, c in arch.components.items():
        if c.type != "security_group":
            continue
        for i, p in enumerate(c.protects):
            path = ("components", n, "protects", i)
            if expect(out, arch.components, path, p, ATTACHABLE, "protected resource") is not None:
                if p in owner:
                    out.append((path, f"{p!r} already has security group {owner[p]!r} (one per resource is "
                                      "modelled)"))
                owner[p] = n
        for i, r in enumerate(c.inbound):
            if r.source_group is not None:
                expect(out, arch.components, ("components", n, "inbound", i, "source_group"), r.source_group,
                       ("security_group",), "source group")
    return out


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """Legal settings worth a word (none yet)."""
    return []
