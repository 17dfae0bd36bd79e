"""Live model of ``directconnect``: one connection's link, its BGP session and its bill.

The connection is one link of the fluid model at the port speed (dedicated) or the hosted
rate; a hosted connection is **policed** [aws-facts §17]: traffic above its rate is dropped,
not queued (no buffer). Failure detection (:mod:`cloudtwin.bgp`): the BGP hold timer, 90 s by
default with keepalives every 30 s, or BFD at 300 ms x 3 when the customer router enables it
(Direct Connect "BGP-specific settings"; aws-facts §17 on BFD). Its routes beat every VPN's
for the same prefix [aws-facts §17].

Bill: dedicated port-hours by speed (``PortUsage:10G``, aws-facts §19); a hosted connection's
hours as ``HostedPortUsage:<rate>`` (no sourced price: unpriced); data transfer out of AWS over
the connection (``DataXfer-Out:DirectConnect``; inbound is free); on a transit virtual interface,
the transit gateway attachment-hours and GB processed. Left out: link aggregation groups, MACsec,
public virtual interfaces, and the cross-connect fees of the colocation provider.
"""

from __future__ import annotations

from typing import Any

from cloudtwin.bgp import Attachment
from cloudtwin.network_flows import Link
from cloudtwin.spec.directconnect import speed_name


class DirectConnect(Attachment):
    kind = "directconnect"

    def make_links(self) -> list[Link]:
        s = self.spec
        buffer = 0.0 if s.connection == "hosted" else s.bandwidth / 8.0 * s.buffer
        return [Link(self.name, bps=s.bandwidth, latency=s.latency, loss=s.loss, buffer_bytes=buffer)]

    def detection(self) -> tuple[float, float]:
        s = self.spec
        if s.bfd:
            return s.bfd_interval * s.bfd_multiplier, s.bfd_interval
        return s.hold_time, s.keepalive

    def detector(self) -> str:
        s = self.spec
        return (f"BFD {s.bfd_interval * 1000:g} ms x {s.bfd_multiplier}" if s.bfd
                else f"BGP hold timer {s.hold_time:g} s")

    def usage(self) -> dict[str, float]:
        s, h = self.spec, self.hours()
        port = "PortUsage" if s.connection == "dedicated" else "HostedPortUsage"
        u = {f"{port}:{speed_name(s.bandwidth)}": h}
        out_gb = self.gb("from_aws")
        if out_gb > 0:
            u["DataXfer-Out:DirectConnect"] = out_gb
        if s.virtual_interface == "transit":
            u["TransitGateway-Hours"] = h
            if self.gb() > 0:
                u["TransitGateway-Bytes"] = self.gb()
        return u

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out["detection"] = self.detector()
        return out
