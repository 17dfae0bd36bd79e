"""Schema of a ``network_acl``: a VPC network ACL on the subnets of one or more fleets.

Numbered rules, inbound and outbound, each allowing or denying an IPv4 block on a port
range; evaluated lowest number first, the first match deciding, with an implicit deny
(``*``) when none matches [aws-facts §14 NACL semantics]. ``protects`` names the fleets
whose subnets the ACL is associated with (``AWS::EC2::SubnetNetworkAclAssociation``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from cloudtwin.spec.base import Cidr, ComponentSpec, Model, Name, expect
from cloudtwin.spec.loader import Path

RULE_QUOTA = 20  # rules per direction per NACL, raisable to 40 [aws-facts §14 NACL rule quota]
RULE_QUOTA_MAX = 40
EPHEMERAL = (32768, 61000)  # Linux clients' ephemeral ports [aws-facts §14 Ephemeral ports]
FLEETS = ("ec2", "asg")


class AclRule(Model):
    """One numbered rule: ``action`` traffic from (inbound) or to (outbound) ``cidr`` on ``ports``."""

    rule: int = Field(ge=1, le=32766)  # [aws-facts §14 NACL semantics]
    action: Literal["allow", "deny"]
    cidr: Cidr = "0.0.0.0/0"
    ports: str = Field("0-65535", pattern=r"^\d{1,5}(-\d{1,5})?$")  # one port or a range, e.g. 1024-65535

    @property
    def span(self) -> tuple[int, int]:
        lo, _, hi = self.ports.partition("-")
        return int(lo), int(hi or lo)

    @model_validator(mode="after")
    def _ports(self) -> AclRule:
        lo, hi = self.span
        if hi > 65535 or lo > hi:
            raise ValueError(f"ports {self.ports!r}: a range from low to high within 0-65535")
        return self


_ALL = [AclRule(rule=100, action="allow")]  # the default NACL's rule 100 [aws-facts §14 NACL semantics]


class NetworkAcl(ComponentSpec):
    type: Literal["network_acl"]
    protects: list[Name] = Field(min_length=1)  # the fleets in the subnets it is associated with
    # none: as the VPC's default network ACL, rule 100 allows everything (then the implicit deny)
    inbound: list[AclRule] = Field(default_factory=lambda: list(_ALL))
    outbound: list[AclRule] = Field(default_factory=lambda: list(_ALL))
    port: int = Field(80, ge=0, le=65535)  # the port the instances listen on (assumption: HTTP)
    rule_quota: int = Field(RULE_QUOTA, ge=RULE_QUOTA, le=RULE_QUOTA_MAX)  # [aws-facts §14 NACL rule quota]

    @model_validator(mode="after")
    def _rules(self) -> NetworkAcl:
        for way, rules in (("inbound", self.inbound), ("outbound", self.outbound)):
            nums = [r.rule for r in rules]
            dup = sorted({n for n in nums if nums.count(n) > 1})
            if dup:
                raise ValueError(f"{way}: rule number(s) {dup} used twice; each number is one rule")
            if len(rules) > self.rule_quota:
                raise ValueError(f"{way}: {len(rules)} rules is over the quota of {self.rule_quota} per direction "
                                 f"(20 by default, 40 at most) [aws-facts §14 NACL rule quota]")
        return self


def check(arch: Any) -> list[tuple[Path, str]]:
    """Every protected name is a fleet, and a fleet sits behind one network ACL at most."""
    out: list[tuple[Path, str]] = []
    owner: dict[str, str] = {}
    for n, c in arch.components.items():
        if c.type != "network_acl":
            continue
        for i, f in enumerate(c.protects):
            path = ("components", n, "protects", i)
            if expect(out, arch.components, path, f, FLEETS, "protected fleet") is not None:
                if f in owner:
                    out.append((path, f"{f!r} is already behind network ACL {owner[f]!r}; a subnet has one"))
                owner[f] = n
    return out


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """Legal settings worth a word (none yet)."""
    return []
