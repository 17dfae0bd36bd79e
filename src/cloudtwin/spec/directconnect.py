"""Schema of ``directconnect``: one Direct Connect connection (dedicated or hosted) with one virtual
interface and its BGP session (timers, optional BFD).

Defaults cite aws-facts.md rows and AWS's "BGP-specific settings" page of the Direct Connect
guide (docs/spec.md names it); "assumption" marks a default with no documented source. Live
model: :mod:`cloudtwin.services.directconnect`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from cloudtwin.spec.base import Bandwidth, ComponentSpec, Duration

DEDICATED_BPS = (1e9, 10e9, 100e9, 400e9)  # aws-facts §17 dedicated port speeds (400 Gbps: current pricing page)
# aws-facts §17 hosted connections, 50 Mbps-10 Gbps (2023), 25 Gbps now too
HOSTED_BPS = (50e6, 100e6, 200e6, 300e6, 400e6, 500e6, 1e9, 2e9, 5e9, 10e9, 25e9)
PORT_NAMES = {1e9: "1G", 10e9: "10G", 100e9: "100G", 400e9: "400G"}


def speed_name(bps: float) -> str:
    return PORT_NAMES.get(bps) or (f"{bps / 1e9:g}G" if bps >= 1e9 else f"{bps / 1e6:g}M")


class DirectConnect(ComponentSpec):
    type: Literal["directconnect"]
    connection: Literal["dedicated", "hosted"] = "dedicated"
    bandwidth: Bandwidth = 1e9  # the port speed (dedicated) or the hosted connection's rate
    # private: to a virtual private gateway; transit: to a transit gateway through a DX gateway
    virtual_interface: Literal["private", "transit"] = "private"
    latency: Duration = Field(0.005, le=1.0)  # assumption: one way, site to Region
    loss: float = Field(0.0, ge=0, le=0.5)  # assumption: a healthy link loses nothing
    buffer: Duration = Field(0.05, le=10.0)  # assumption: the port's buffer, in time at its rate
    keepalive: Duration = Field(30.0, ge=1.0, le=3600)  # BGP default 30 s, minimum 1 s (DX BGP settings)
    hold_time: Duration = Field(90.0, ge=3.0, le=3600)  # BGP default 90 s, minimum 3 s (DX BGP settings)
    bfd: bool = False  # aws-facts §17: on the AWS side, effective once the customer router enables it
    bfd_interval: Duration = Field(0.3, ge=0.3, le=60)  # minimum 300 ms (DX BGP settings)
    bfd_multiplier: int = Field(3, ge=3, le=50)  # minimum 3 (DX BGP settings)
    reconnect: Duration = Field(30.0, le=3600)  # assumption: BGP re-established this long after a repair

    @model_validator(mode="after")
    def _speeds(self) -> DirectConnect:
        if self.connection == "dedicated" and self.bandwidth not in DEDICATED_BPS:
            raise ValueError(f"a dedicated connection's port speed is 1Gbps, 10Gbps, 100Gbps or 400Gbps "
                             f"[aws-facts §17], not {self.bandwidth:g} bps")
        if self.connection == "hosted" and self.bandwidth not in HOSTED_BPS:
            raise ValueError("a hosted connection's rate is one of 50, 100, 200, 300, 400, 500Mbps, 1, 2, 5, 10 "
                             f"or 25Gbps [aws-facts §17], not {self.bandwidth:g} bps")
        if self.keepalive * 3 > self.hold_time:
            raise ValueError(f"hold_time ({self.hold_time:g} s) must be at least 3 x keepalive "
                             f"({self.keepalive:g} s), as BGP negotiates them")
        return self

    @property
    def detection_s(self) -> float:
        """The longest time from a failure to the session's teardown: BFD's interval x multiplier
        when enabled, else the BGP hold time."""
        return self.bfd_interval * self.bfd_multiplier if self.bfd else self.hold_time
