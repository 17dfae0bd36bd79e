"""A VPC network ACL on the subnets of one or more fleets: stateless, numbered rules.

What is modelled [aws-facts §14 NACL semantics, Ephemeral ports, Source IP seen behind an
ALB / CloudFront; §1 NLB client-IP preservation]:

* Inbound: each request reaching an instance of a protected fleet is checked against the
  inbound rules on its **source address as the instance sees it** (``req.src_ip``): the
  client's own address when reached directly or through an NLB (which preserves it), the
  load balancer node's private address behind an ALB, CloudFront's origin-facing address
  behind CloudFront. The client's address is in ``X-Forwarded-For``, which a network ACL
  cannot read. Rules are taken lowest number first; the first whose block holds the
  address and whose port range holds ``port`` decides; none: the implicit deny ``*``.
  A denied request is dropped: the caller sees ``unavailable`` (no connection), the
  convention for an instance that does not answer.
* Outbound (stateless): the reply goes back to the same address on the caller's
  ephemeral port, so it needs an outbound rule allowing that address and port. The port
  is drawn per source address in 32768-61000 (Linux) [aws-facts §14 Ephemeral ports],
  deterministically (CRC-32 of the address). A denied reply is lost: the caller gets
  ``timeout`` when the instance answers (assumption: told at once, not after its timer).
* Each refusal counts on the request's client tally (:mod:`cloudtwin.origins`) under this
  ACL's name, attacker or legitimate, and in ``stats()`` by rule number.

Left out: protocols other than TCP, IPv6 rules, ICMP, the subnets' other traffic (the
instances' own calls out to databases and APIs are not checked), and NACL-per-zone subnets.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component
from cloudtwin.origins import address, block, in_block, source, tally_of
from cloudtwin.request import TIMEOUT, UNAVAILABLE, Request
from cloudtwin.spec.network_acl import EPHEMERAL

if TYPE_CHECKING:
    from cloudtwin.context import Context
    from cloudtwin.spec.network_acl import AclRule

IMPLICIT: Final = "*"  # the rule that matches when no numbered rule does: deny
MEMO_MAX = 65_536  # source addresses whose decisions are remembered (cleared when full)


def compile_rules(rules: list[AclRule]) -> list[tuple[str, bool, tuple[int, int], tuple[int, int]]]:
    """(number, allow, address span, port span) per rule, lowest number first."""
    return [(str(r.rule), r.action == "allow", block(r.cidr), r.span) for r in sorted(rules, key=lambda r: r.rule)]


def first_match(rules: list[tuple[str, bool, tuple[int, int], tuple[int, int]]], addr: int | None,
                port: int) -> tuple[str, bool]:
    """The deciding rule for ``addr``:``port``: the lowest-numbered match, else the implicit deny."""
    for num, allow, span, (lo, hi) in rules:
        if lo <= port <= hi and in_block(addr, span):
            return num, allow
    return IMPLICIT, False


def ephemeral_port(src: str) -> int:
    lo, hi = EPHEMERAL
    return lo + zlib.crc32(src.encode()) % (hi - lo + 1)


def _fold(memo: dict[str, list[Any]], into: dict[str, int]) -> dict[str, int]:
    """Add the memo's per-address counts to ``into``, by deciding rule, in the memo's order (the
    order its addresses were first decided, as the counts were first made); returns ``into``."""
    for num, _, n in memo.values():
        if n:
            into[num] = into.get(num, 0) + n
    return into


class NetworkAcl(Component):
    kind = "network_acl"
    outbound = True  # stateless: replies are checked too

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.inbound = compile_rules(spec.inbound)
        self.outbound_rules = compile_rules(spec.outbound)
        self.port: int = spec.port
        # requests per deciding rule: counted on the memo's entries, folded in here when a memo is
        # cleared (``matched``: the two together)
        self.matched_in: dict[str, int] = {}
        self.matched_out: dict[str, int] = {}
        self.denied_in = {"attack": 0, "legitimate": 0}
        self.dropped_out = {"attack": 0, "legitimate": 0}
        # the deciding rule per source address, inbound and outbound: the rules never change
        # during a run, so a decision is a function of the address (and its ephemeral port).
        # An entry is [rule, allow, requests it decided since it was made]
        self.memo_in: dict[str, list[Any]] = {}
        self.memo_out: dict[str, list[Any]] = {}

    def build(self) -> None:
        for f in self.spec.protects:
            fleet: Any = self.ctx.components[f]  # an ec2 or asg (spec check): a Fleet
            fleet.screen(self)

    def admit(self, req: Any) -> str | None:  # a Request, or a bare start time (fleets take them)
        """The inbound rules' verdict on the source address this hop sees (``source(req)``,
        inline for a :class:`Request`), from the per-address memo when it has it."""
        self.requests += 1
        if req.__class__ is Request:
            via = req.via
            if via is not None:
                src = str(via)
            else:
                c = req.client
                src = c.ip if c is not None else ""
        else:
            src = source(req)
        d = self.memo_in.get(src)
        if d is None:
            d = self._decide(self.memo_in, self.matched_in, src, self.inbound, self.port)
        d[2] += 1  # counted for its rule (matched_in)
        if d[1]:
            return None
        # self._refuse(req, self.denied_in), inline with tally_of and Tally.block: the attacks' hot path
        self.errors += 1
        rq: Any = req  # a Request, or a bare start time (no client)
        c = None if rq.__class__ is float else rq.client
        t = c.tally if c is not None else None
        if t is not None:
            tb = t.blocked
            tb[self.name] = tb.get(self.name, 0) + 1
            self.denied_in["attack" if t.attacker else "legitimate"] += 1
        else:
            self.denied_in["legitimate"] += 1
        return UNAVAILABLE

    def answer(self, req: Request, err: str | None) -> str | None:
        """The outbound rules' verdict on the reply to the same address, on its ephemeral port."""
        if req.__class__ is Request:
            via = req.via
            if via is not None:
                src = str(via)
            else:
                c = req.client
                src = c.ip if c is not None else ""
        else:
            src = source(req)
        d = self.memo_out.get(src)
        if d is None:
            d = self._decide(self.memo_out, self.matched_out, src, self.outbound_rules, ephemeral_port(src))
        d[2] += 1  # counted for its rule (matched_out)
        if d[1]:
            return err
        self._refuse(req, self.dropped_out)
        return TIMEOUT

    @staticmethod
    def _decide(memo: dict[str, list[Any]], folded: dict[str, int], src: str,
                rules: list[tuple[str, bool, tuple[int, int], tuple[int, int]]], port: int) -> list[Any]:
        """The deciding rule for ``src`` on ``port``, remembered with a count of 0 (the memo is
        cleared when full, its counts folded into ``folded`` first)."""
        if len(memo) >= MEMO_MAX:
            _fold(memo, folded)
            memo.clear()
        num, allow = first_match(rules, address(src), port)
        d = memo[src] = [num, allow, 0]
        return d

    def _refuse(self, req: Request, count: dict[str, int]) -> None:
        self.errors += 1
        t = tally_of(req)
        if t is not None:
            t.block(self.name)
        count["attack" if t is not None and t.attacker else "legitimate"] += 1

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        del out["latency_ms"]
        out["denied_inbound"] = dict(self.denied_in)
        out["dropped_outbound"] = dict(self.dropped_out)
        out["inbound_rules_matched"] = dict(sorted(_fold(self.memo_in, dict(self.matched_in)).items()))
        out["outbound_rules_matched"] = dict(sorted(_fold(self.memo_out, dict(self.matched_out)).items()))
        return out
