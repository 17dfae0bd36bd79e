"""CT-SEC-005: a network ACL denies client addresses that its instances never see."""

from __future__ import annotations

import ipaddress

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule

PROXIES = ("alb", "clb", "cloudfront", "apigateway")  # they open their own connections to the fleet
_PRIVATE = [ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


def _public(cidr: str) -> bool:
    net = ipaddress.IPv4Network(cidr)
    return net.prefixlen > 0 and not any(net.subnet_of(p) for p in _PRIVATE)


class NaclBlind(Rule):
    id = "CT-SEC-005"
    title = "A network ACL denies client addresses its instances never see"
    pillar = "security"
    best_practices = ("SEC05-BP01",)
    severity = "high"
    description = ("A `network_acl` with an inbound deny on a public address block, on a fleet reached only "
                   "through proxies (an ALB, a CLB, CloudFront or API Gateway): the instances see the proxies' "
                   "addresses, the client's is only in X-Forwarded-For [aws-facts §14 Source IP seen behind an "
                   "ALB / CloudFront], so the rule never matches. The ip-block-nacl blueprint measures it: 0 of "
                   "179,709 attacker requests blocked.")

    def check(self, ctx: Context) -> list[Finding]:
        out = []
        entries = {w.entry for w in ctx.arch.workloads.values()}
        for name, acl in ctx.of_type("network_acl"):
            blind = [f for f in acl.protects if f not in entries and ctx.senders(f)
                     and all(ctx.kind(s) in PROXIES for s in ctx.senders(f))]
            if not blind:
                continue
            for i, r in enumerate(acl.inbound):
                if r.action != "deny" or not _public(r.cidr):
                    continue
                via = sorted({s for f in blind for s in ctx.senders(f)})
                out.append(self.finding(
                    ctx, ("components", name, "inbound", i),
                    f"rule {r.rule} of {name!r} denies {r.cidr}, but {', '.join(map(repr, blind))} is reached only "
                    f"through {', '.join(via)}: its instances see the proxy's addresses, never a client's, so the "
                    f"rule blocks nothing.",
                    "Block where the client address is visible: an AWS WAF web ACL (IP set or rate-based rule) on "
                    "the ALB, CloudFront or API, or CloudFront geo restriction; remove the deny rule.",
                    component=name,
                    evidence=[Evidence("static", f"inbound rule {r.rule}: deny {r.cidr}; {blind} reached via {via}")]))
        return out
