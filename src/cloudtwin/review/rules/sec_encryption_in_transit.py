"""CT-SEC-002: a load balancer listener in clear text."""

from __future__ import annotations

from cloudtwin.review.context import LBS, Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class EncryptionInTransit(Rule):
    id = "CT-SEC-002"
    title = "Traffic to the load balancer is not encrypted"
    pillar = "security"
    best_practices = ("SEC09-BP02",)
    severity = "high"
    description = "An `alb`, `nlb` or `clb` without `https: true`: clients talk plain HTTP or TCP to it."

    def check(self, ctx: Context) -> list[Finding]:
        out = []
        for name, c in ctx.of_type(*LBS):
            if c.https:
                continue
            where = "from the internet" if c.internet_facing else "inside the VPC"
            proto = "TLS" if c.type == "nlb" else "HTTPS"
            out.append(self.finding(
                ctx, ("components", name, "https"),
                f"{name!r} ({c.type}) accepts unencrypted traffic {where}: credentials and session cookies "
                f"cross the network in clear text.",
                f"Set `https: true`: a {proto} listener with an ACM certificate, and redirect plain HTTP to it.",
                component=name, evidence=[Evidence("static", f"https false, internet_facing {c.internet_facing}")]))
        return out
