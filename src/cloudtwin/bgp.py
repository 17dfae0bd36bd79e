"""Paths between an on-premises site and AWS whose routes BGP (or dead peer detection) installs
and withdraws: the shared base of the ``directconnect`` and ``vpn`` live models.

An :class:`Attachment` owns one or more links of the fluid model
(:mod:`cloudtwin.network_flows`), each carrying one route to the VPC's prefix. When a link
fails (the ``link_down`` fault), its route stays installed until the failure is *detected*:
the peer last heard at its last keepalive (or BFD packet), and declared dead when the hold
time (or BFD's interval x multiplier) has passed since then; until that moment the gateway
keeps sending on the dead link and those bytes are lost. The keepalives' phase is drawn once
per link from the run's seed, so the detection delay lies in ``(hold - keepalive, hold]``.
After a repair the route returns ``reconnect`` seconds later (failback).

Route preference among the paths of a flow [aws-facts §17, VPNRoutingTypes]: for the same
prefix, Direct Connect BGP routes beat static VPN routes, which beat BGP VPN routes
(:meth:`Attachment.preference`); paths of the same rank share the flow equally.

Left out: longest-prefix match (every path advertises the same prefix), AS_PATH length among
VPNs, BGP graceful restart, and flapping damping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudtwin.component import Component
from cloudtwin.network_flows import Link
from cloudtwin.units import GIB, SECONDS_PER_HOUR

if TYPE_CHECKING:
    from collections.abc import Callable

    from cloudtwin.context import Context
    from cloudtwin.network_flows import FluidNetwork

DX_BGP, VPN_STATIC, VPN_BGP = 0, 1, 2  # route preference, best first [aws-facts §17]


class Attachment(Component):
    """A path made of links, each with a route that is installed, withdrawn and restored."""

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.links: list[Link] = self.make_links()
        self.installed = [True] * len(self.links)  # is the link's route in the gateway's table?
        self.down_since: list[float | None] = [None] * len(self.links)
        gen = ctx.stream(f"{name}.keepalive")
        period = self.detection()[1]
        self.phase = [float(gen.random()) * period for _ in self.links]  # when each peer's hellos tick
        self.net: FluidNetwork | None = None
        self.directions: dict[str, str] = {}  # flow -> to_aws | from_aws (set by the flow run)
        self.on_change: Callable[[], None] | None = None  # told when a route is withdrawn or restored
        self.failovers: list[dict[str, Any]] = []

    # ---- what each kind says (directconnect.py and vpn.py override the first two) ------------
    def make_links(self) -> list[Link]:
        """The attachment's links, one route each. Abstract: every kind of path defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define make_links")

    def detection(self) -> tuple[float, float]:
        """``(timeout, hello interval)``: the peer is declared dead ``timeout`` after its last hello.
        Abstract: every kind of path defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define detection")

    def preference(self) -> int:
        """Its routes' rank for the same prefix, best (lowest) first."""
        return DX_BGP

    def ecmp(self) -> bool:
        """Does traffic share all the installed links (else: the first one only)?"""
        return True

    # ---- routing ------------------------------------------------------------------------
    def attach(self, net: FluidNetwork, directions: dict[str, str],
               on_change: Callable[[], None] | None = None) -> None:
        self.net = net
        self.on_change = on_change
        self.directions.update(directions)
        for lk in self.links:
            if lk.name not in net.links:
                net.add_link(lk)

    def has_route(self) -> bool:
        return any(self.installed)

    def routes(self) -> list[Link]:
        """The links the gateway sends on now: every installed one with ECMP, else the first."""
        up = [lk for lk, ok in zip(self.links, self.installed, strict=True) if ok]
        return up if self.ecmp() else up[:1]

    # ---- the link_down fault ---------------------------------------------------------------
    def link_down(self, count: int, duration: float | None) -> list[str]:
        now = self.engine.now
        hit = [i for i, lk in enumerate(self.links) if lk.up][:count]
        timeout, hello = self.detection()
        notes = []
        for i in hit:
            lk = self.links[i]
            if self.net is not None:
                self.net.fail(lk)
            else:
                lk.up = False
            self.down_since[i] = now
            since_hello = (now - self.phase[i]) % hello
            delay = max(timeout - since_hello, 0.0)
            self.failovers.append({"link": lk.name, "failed_at": now, "withdrawn_at": None, "detection_s": None,
                                   "repaired_at": None, "restored_at": None})
            self.engine.after(delay, self._withdraw, (i, len(self.failovers) - 1))
            if duration is not None:
                self.engine.after(duration, self._repair, (i, len(self.failovers) - 1))
            notes.append(f"{lk.name} down")
        return notes or ["no link up to fail"]

    def _withdraw(self, arg: tuple[int, int]) -> None:
        i, k = arg
        rec = self.failovers[k]
        if rec["repaired_at"] is not None or not self.installed[i]:
            return  # repaired before the peer was declared dead: the route never left
        self.installed[i] = False
        if self.on_change is not None:
            self.on_change()
        now = self.engine.now
        rec["withdrawn_at"] = now
        rec["detection_s"] = round(now - rec["failed_at"], 6)
        self.ctx.event("failover", f"{self.name}: route over {self.links[i].name} withdrawn "
                       f"{rec['detection_s']:g} s after the failure ({self.detector()})")

    def _repair(self, arg: tuple[int, int]) -> None:
        i, k = arg
        lk = self.links[i]
        if self.net is not None:
            self.net.repair(lk)
        else:
            lk.up = True
        self.down_since[i] = None
        self.failovers[k]["repaired_at"] = self.engine.now
        self.ctx.event("recovery", f"{lk.name} repaired")
        if not self.installed[i]:
            self.engine.after(self.spec.reconnect, self._restore, arg)

    def _restore(self, arg: tuple[int, int]) -> None:
        i, k = arg
        if not self.links[i].up or self.installed[i]:
            return
        self.installed[i] = True
        if self.on_change is not None:
            self.on_change()
        self.failovers[k]["restored_at"] = self.engine.now
        self.ctx.event("failback", f"{self.name}: route over {self.links[i].name} restored")

    def detector(self) -> str:
        return "hold timer"

    # ---- results and bill -------------------------------------------------------------------
    def carried(self, direction: str | None = None) -> float:
        """Bytes its links put on the wire, in one direction or both."""
        return sum(b for lk in self.links for f, b in lk.carried.items()
                   if direction is None or self.directions.get(f) == direction)

    def hours(self) -> float:
        return self.engine.now / SECONDS_PER_HOUR

    def gb(self, direction: str | None = None) -> float:
        return self.carried(direction) / GIB

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update({
            "links": {lk.name: {"capacity_bps": lk.bps, "up": lk.up, "route_installed": ok,
                                "carried_bytes": round(lk.served, 3),
                                "dropped_bytes": {k: round(v, 3) for k, v in lk.dropped.items()},
                                "max_queue_delay_ms": round(lk.max_queue_delay * 1000.0, 3)}
                      for lk, ok in zip(self.links, self.installed, strict=True)},
            "failovers": self.failovers,
        })
        return out
