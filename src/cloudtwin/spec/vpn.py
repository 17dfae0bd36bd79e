"""Schema of ``vpn``: one Site-to-Site VPN connection (two tunnels) to a virtual private gateway
or a transit gateway, with static or BGP routing.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.vpn`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cloudtwin.spec.base import ComponentSpec, Duration

TUNNELS = 2  # aws-facts §17: 2 tunnels per connection
TUNNEL_BPS = 1.25e9  # aws-facts §17: up to 1.25 Gbps per tunnel, not adjustable
TUNNEL_PPS = 140_000  # aws-facts §17: 140,000 packets per second per tunnel


class VPN(ComponentSpec):
    type: Literal["vpn"]
    gateway: Literal["vgw", "tgw"] = "vgw"
    routing: Literal["bgp", "static"] = "bgp"
    # aws-facts §17: ECMP across tunnels on a transit gateway, dynamic (BGP) routing only;
    # the transit gateway's VPN ECMP support is on unless turned off (assumption: AWS API default)
    ecmp: bool = True
    latency: Duration = Field(0.03, le=5.0)  # assumption: one way over the internet
    loss: float = Field(0.0, ge=0, le=0.5)  # assumption
    buffer: Duration = Field(0.05, le=10.0)  # assumption: a tunnel's buffer, in time at its rate
    dpd_timeout: Duration = Field(30.0, ge=30.0, le=3600)  # aws-facts §17: DPD timeout 30 s (minimum 30)
    reconnect: Duration = Field(30.0, le=3600)  # assumption: a tunnel's routes return this long after a repair

    @property
    def uses_ecmp(self) -> bool:
        return self.gateway == "tgw" and self.routing == "bgp" and self.ecmp
