"""Schema of a ``vpc``: its address block, subnets, route tables, internet and NAT gateways.

A subnet is *public* when its route table sends the internet (the route that matches
``internet_endpoint``, longest prefix first) to the internet gateway (``igw``), *private*
when it sends it to a NAT gateway (``nat:<name>``) or nowhere. The route to the VPC's own
block (``local``) is implicit, as in AWS. A NAT gateway sits in a public subnet (one zone)
with an Elastic IP. Instances say which subnets they are in with ``subnets:`` on the
``ec2``/``asg`` component: one per zone they run in.

Checks: subnet blocks inside the VPC's block and not overlapping; route tables, NAT gateways
and subnets named where used; a NAT gateway in a public subnet; quotas of 200 subnets and 200
route tables per VPC [aws-facts §14 VPC quotas]. Live model: :mod:`cloudtwin.services.vpc`.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import Field, model_validator

from cloudtwin.spec.base import Cidr, ComponentSpec, Dist, Model, Name, Zone
from cloudtwin.spec.loader import Path
from cloudtwin.spec.units import parse_distribution as _d

SUBNET_QUOTA = 200  # subnets per VPC [aws-facts §14 VPC quotas]
ROUTE_TABLE_QUOTA = 200  # route tables per VPC [aws-facts §14 VPC quotas]
IGW = "igw"
LOCAL = "local"
NAT_PREFIX = "nat:"
FLEETS = ("ec2", "asg")


class Subnet(Model):
    zone: Zone
    cidr: Cidr
    route_table: Name  # the route table associated with it


class RouteTable(Model):
    # destination block -> target: `igw`, `nat:<name>` or `local` (peering and transit gateways: out of scope)
    routes: dict[Cidr, str] = Field(default_factory=dict, max_length=50)


class NatGateway(Model):
    subnet: Name  # the public subnet it sits in (its zone is the subnet's)


class Vpc(ComponentSpec):
    type: Literal["vpc"]
    cidr: Cidr = "10.0.0.0/16"
    subnets: dict[Name, Subnet] = Field(min_length=1)
    route_tables: dict[Name, RouteTable] = Field(default_factory=dict)
    internet_gateway: bool = False  # an internet gateway attached to the VPC
    nat_gateways: dict[Name, NatGateway] = Field(default_factory=dict)
    # the address an outbound `call: <vpc>.internet` goes to (RFC 5737 TEST-NET-2): routes are matched on it
    internet_endpoint: str = Field("198.51.100.10", pattern=r"^\d{1,3}(\.\d{1,3}){3}$")
    internet_rtt: Dist = Field(default_factory=lambda: _d("20ms"))  # assumption: the endpoint's round trip

    @model_validator(mode="after")
    def _layout(self) -> Vpc:
        if len(self.subnets) > SUBNET_QUOTA:
            raise ValueError(f"{len(self.subnets)} subnets is over the quota of {SUBNET_QUOTA} per VPC "
                             "[aws-facts §14 VPC quotas]")
        if len(self.route_tables) > ROUTE_TABLE_QUOTA:
            raise ValueError(f"{len(self.route_tables)} route tables is over the quota of {ROUTE_TABLE_QUOTA} "
                             "per VPC [aws-facts §14 VPC quotas]")
        return self

    def subnet_net(self, name: str) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnets[name].cidr, strict=False)

    def internet_target(self, subnet: str) -> str:
        """Where the subnet's route table sends ``internet_endpoint``: the longest matching prefix's
        target, '' when no route matches."""
        rt = self.route_tables.get(self.subnets[subnet].route_table)
        addr = ipaddress.IPv4Address(self.internet_endpoint)
        if addr in ipaddress.IPv4Network(self.cidr, strict=False):
            return LOCAL
        best, target = -1, ""
        for dest, tgt in (rt.routes.items() if rt is not None else ()):
            net = ipaddress.IPv4Network(dest, strict=False)
            if addr in net and net.prefixlen > best:
                best, target = net.prefixlen, tgt
        return target

    def public(self, subnet: str) -> bool:
        return self.internet_gateway and self.internet_target(subnet) == IGW


def check(arch: Any) -> list[tuple[Path, str]]:
    """Subnets inside the VPC and apart; names resolve; NAT gateways in public subnets; fleets'
    subnets exist, one per zone the fleet runs in."""
    out: list[tuple[Path, str]] = []
    owner: dict[str, str] = {}
    for n, c in arch.components.items():
        if c.type != "vpc":
            continue
        base: Path = ("components", n)
        vpc = ipaddress.IPv4Network(c.cidr, strict=False)
        seen: list[tuple[str, ipaddress.IPv4Network]] = []
        for s, sub in c.subnets.items():
            p: Path = (*base, "subnets", s)
            if s in owner:
                out.append((p, f"subnet {s!r} is also a subnet of vpc {owner[s]!r}; name subnets apart"))
            owner[s] = n
            net = c.subnet_net(s)
            if not net.subnet_of(vpc):
                out.append(((*p, "cidr"), f"subnet block {sub.cidr} is outside the VPC's {c.cidr}"))
            for other, onet in seen:
                if net.overlaps(onet):
                    out.append(((*p, "cidr"), f"subnet block {sub.cidr} overlaps subnet {other!r} ({onet})"))
            seen.append((s, net))
            if sub.zone not in arch.zones:
                out.append(((*p, "zone"), f"zone {sub.zone!r} is not in the spec's zones {sorted(arch.zones)}"))
            if sub.route_table not in c.route_tables:
                out.append(((*p, "route_table"), f"route table {sub.route_table!r} is not one of "
                            f"{sorted(c.route_tables) or 'none'}"))
        for r, rt in c.route_tables.items():
            for dest, tgt in rt.routes.items():
                p = (*base, "route_tables", r, "routes", dest)
                if tgt == IGW and not c.internet_gateway:
                    out.append((p, "route to `igw` but the VPC has no `internet_gateway: true`"))
                elif tgt.startswith(NAT_PREFIX) and tgt[len(NAT_PREFIX):] not in c.nat_gateways:
                    out.append((p, f"NAT gateway {tgt[len(NAT_PREFIX):]!r} is not one of "
                                f"{sorted(c.nat_gateways) or 'none'}"))
                elif tgt != IGW and tgt != LOCAL and not tgt.startswith(NAT_PREFIX):
                    out.append((p, f"route target {tgt!r}: one of `igw`, `nat:<name>`, `local` "
                                "(peering and transit gateways are not modelled)"))
        for g, nat in c.nat_gateways.items():
            p = (*base, "nat_gateways", g, "subnet")
            if nat.subnet not in c.subnets:
                out.append((p, f"subnet {nat.subnet!r} is not one of {sorted(c.subnets)}"))
            elif c.subnets[nat.subnet].route_table in c.route_tables and not c.public(nat.subnet):
                out.append((p, f"subnet {nat.subnet!r} is not public (its route table does not send the "
                            "internet to the internet gateway); a NAT gateway needs a public subnet"))
    for n, c in arch.components.items():
        names = getattr(c, "subnets", None) if c.type in FLEETS else None
        if not names:
            continue
        where: dict[str, list[str]] = {}
        for i, s in enumerate(names):
            if s not in owner:
                out.append((("components", n, "subnets", i), f"subnet {s!r} is not a subnet of any vpc "
                            f"(have: {', '.join(sorted(owner)) or 'none'})"))
                continue
            where.setdefault(arch.components[owner[s]].subnets[s].zone, []).append(s)
        for z, ss in where.items():
            if len(ss) > 1:
                out.append((("components", n, "subnets"), f"subnets {ss} are all in zone {z}; name one per zone"))
        if where:
            zones = c.zones or ([arch.zones[0]] if c.type == "ec2" else arch.zones)
            for z in zones:
                if z not in where:
                    out.append((("components", n, "subnets"), f"{n!r} runs in zone {z} but names no subnet "
                                f"there (its subnets are in {sorted(where)})"))
    return out


def warnings(arch: Any) -> list[tuple[Path, str]]:
    return []
