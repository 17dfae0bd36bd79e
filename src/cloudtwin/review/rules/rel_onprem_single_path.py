"""CT-REL-023: network flows that reach AWS over a single Direct Connect connection."""

from __future__ import annotations

from typing import Any

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class OnPremSinglePath(Rule):
    id = "CT-REL-023"
    title = "On-premises traffic has a single Direct Connect connection and no backup path"
    pillar = "reliability"
    best_practices = ("REL02-BP02",)
    severity = "high"
    description = ("A flow (`flows:`) whose only path is one `directconnect` connection: when that connection "
                   "or its location fails, the flow has no route at all until it is repaired.")

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        comps: dict[str, Any] = ctx.arch.components  # typed by their own models; checked by type name
        for name, f in ctx.arch.flows.items():
            if len(f.via) != 1 or getattr(comps.get(f.via[0]), "type", None) != "directconnect":
                continue
            dx = comps[f.via[0]]
            ev = [Evidence("static", f"flow {name!r}: via [{f.via[0]}] only; {f.via[0]!r} is a "
                                     f"{dx.connection} Direct Connect connection of {dx.bandwidth / 1e9:g} Gbps")]
            out.append(self.finding(
                ctx, ("flows", name, "via"),
                f"flow {name!r} reaches AWS only over Direct Connect {f.via[0]!r}: a failure of the connection, its "
                "device or its location leaves it with no route (every byte is dropped until the repair).",
                "Add a backup path to `via:`: a Site-to-Site VPN (`type: vpn`; DX routes are preferred while "
                "they are up, and the VPN carries up to 1.25 Gbps per tunnel [aws-facts §17]), or a second "
                "Direct Connect connection at another location.", evidence=ev))
        return out
