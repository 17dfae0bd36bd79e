"""Live model of ``vpn``: a Site-to-Site VPN connection's two tunnels, their routes and the bill.

Each tunnel is a link of up to 1.25 Gbps and 140,000 packets per second, not adjustable
[aws-facts §17]: with small packets the packet rate binds first. A connection has two tunnels
[aws-facts §17]. On a transit gateway with BGP routing and ECMP, traffic shares both tunnels
(up to 2 x 1.25 Gbps); otherwise (a virtual private gateway, or static routing) it uses one
tunnel at a time and the other stands by (assumption: how a VGW picks its tunnel is not
documented in aws-facts). A tunnel's failure is detected by dead peer detection, 30 s by default
[aws-facts §17], from DPD messages every 10 s (assumption). Static VPN routes beat BGP VPN routes,
and every VPN route loses to Direct Connect for the same prefix [aws-facts §17].

Bill: connection-hours (``VPN-Usage-Hours:ipsec.1``), data transfer out to the internet for the
bytes sent from AWS (``DataTransfer-Out-Bytes``; inbound is free), and on a transit gateway the
attachment-hours and GB processed. Left out: accelerated VPNs, IKE renegotiation, and tunnel
endpoint replacement during AWS maintenance.
"""

from __future__ import annotations

from typing import Any

from cloudtwin.bgp import VPN_BGP, VPN_STATIC, Attachment
from cloudtwin.network_flows import Link
from cloudtwin.spec.vpn import TUNNEL_BPS, TUNNEL_PPS, TUNNELS

DPD_INTERVAL = 10.0  # assumption: seconds between DPD messages (a 40 s timeout is dead 30 s after a miss)


class VPN(Attachment):
    kind = "vpn"

    def preference(self) -> int:
        return VPN_STATIC if self.spec.routing == "static" else VPN_BGP

    def make_links(self) -> list[Link]:
        s = self.spec
        return [Link(f"{self.name}.tunnel{i + 1}", bps=TUNNEL_BPS, pps=TUNNEL_PPS, latency=s.latency, loss=s.loss,
                     buffer_bytes=TUNNEL_BPS / 8.0 * s.buffer) for i in range(TUNNELS)]

    def detection(self) -> tuple[float, float]:
        return self.spec.dpd_timeout, DPD_INTERVAL

    def detector(self) -> str:
        return f"DPD timeout {self.spec.dpd_timeout:g} s"

    def ecmp(self) -> bool:
        return bool(self.spec.uses_ecmp)

    def usage(self) -> dict[str, float]:
        h = self.hours()
        u = {"VPN-Usage-Hours:ipsec.1": h}
        out_gb = self.gb("from_aws")
        if out_gb > 0:
            u["DataTransfer-Out-Bytes"] = out_gb
        if self.spec.gateway == "tgw":
            u["TransitGateway-Hours"] = h
            if self.gb() > 0:
                u["TransitGateway-Bytes"] = self.gb()
        return u

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update({"ecmp": self.ecmp(), "detection": self.detector()})
        return out
