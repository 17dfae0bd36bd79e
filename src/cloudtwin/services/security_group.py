"""A VPC security group on fleets and load balancers: stateful, allow rules only.

What is modelled [aws-facts §14 Security-group semantics, Source IP seen behind an ALB /
CloudFront; §13 Source IP seen at the origin]:

* Each request reaching a protected resource (an instance of a protected fleet, or a
  protected load balancer) is let in if **any** inbound rule allows its source address as
  that resource sees it (``req.src_ip``: see :mod:`cloudtwin.services.network_acl`) on
  ``port``; there are no deny rules, and with no rule nothing comes in. A refused request
  is dropped: the caller gets ``unavailable``.
* A rule allows an IPv4 block (a proxy's address given as a name is only in 0.0.0.0/0),
  another security group (the addresses of what that group protects: a load balancer's
  node addresses, CloudFront's origin-facing addresses), or CloudFront's origin-facing
  managed prefix list.
* Stateful: replies are always allowed out; no outbound rules are checked.
* Refusals count on the client's tally (:mod:`cloudtwin.origins`) under the group's name.

Left out: outbound rules (the instances' own calls out), several groups on one resource,
instance-to-instance traffic by group reference (instances have no modelled private
address), and the 60-rule and 5-groups-per-interface quotas beyond the rule count check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudtwin.component import Component
from cloudtwin.guard import install
from cloudtwin.origins import address, block, in_block, source, tally_of
from cloudtwin.request import UNAVAILABLE, Request
from cloudtwin.services.cloudfront import ORIGIN_FACING

if TYPE_CHECKING:
    from cloudtwin.context import Context

FLEETS = ("ec2", "asg")


class SecurityGroup(Component):
    kind = "security_group"
    outbound = False  # stateful: replies need no rule

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.port: int = spec.port
        self.spans: list[tuple[tuple[int, int], tuple[int, int]]] = []  # (address block, ports)
        self.names: list[tuple[set[str], tuple[int, int]]] = []  # (allowed proxy addresses, ports)
        self.prefixes: list[tuple[str, tuple[int, int]]] = []  # (address prefix, ports)
        self.denied = {"attack": 0, "legitimate": 0}

    def build(self) -> None:
        comps = self.ctx.components
        for r in self.spec.inbound:
            if r.cidr is not None:
                self.spans.append((block(r.cidr), r.span))
            elif r.prefix_list is not None:
                self.prefixes.append((f"{ORIGIN_FACING}-", r.span))
            else:
                self.names.append((set(), r.span))  # filled in start(), once every group is built
        for p in self.spec.protects:
            c: Any = comps[p]
            if self.ctx.arch.components[p].type in FLEETS:
                c.screen(self)
            else:
                install(c, self)

    def start(self) -> None:
        comps, arch = self.ctx.components, self.ctx.arch.components
        groups = [r.source_group for r in self.spec.inbound if r.source_group is not None]
        for (addrs, _), g in zip(self.names, groups, strict=True):
            group: Any = arch[g]  # a security_group (spec check)
            for member in group.protects:
                addrs.update(self.addresses_of(comps[member]))

    @staticmethod
    def addresses_of(c: Any) -> set[str]:
        """The source addresses a member of a group sends from: a load balancer's nodes."""
        return set(getattr(c, "node_ip", {}).values())

    def admit(self, req: Any) -> str | None:  # a Request, or a bare start time (fleets take them)
        self.requests += 1
        src = source(req)
        port = self.port
        a = address(src)
        if (any(lo <= port <= hi and in_block(a, span) for span, (lo, hi) in self.spans)
                or any(lo <= port <= hi and src in addrs for addrs, (lo, hi) in self.names)
                or any(lo <= port <= hi and src.startswith(pre) for pre, (lo, hi) in self.prefixes)):
            return None
        self.errors += 1
        t = tally_of(req)
        if t is not None:
            t.block(self.name)
        self.denied["attack" if t is not None and t.attacker else "legitimate"] += 1
        return UNAVAILABLE

    def answer(self, req: Request, err: str | None) -> str | None:
        return err  # stateful: the reply of an admitted request always goes out

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        del out["latency_ms"]
        out["denied"] = dict(self.denied)
        return out
