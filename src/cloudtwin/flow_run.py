"""The run of a spec's ``flows:``: offers each flow's bytes to the fluid model
(:mod:`cloudtwin.network_flows`) every :data:`STEP` seconds over the paths BGP prefers now
(:mod:`cloudtwin.bgp`), and reports per flow and per link.

Each step a flow offers ``rate x profile(t) x STEP / 8`` bytes (from ``start``; a bulk flow
stops once it has sent ``size``). Its route is the best-ranked of its ``via:`` paths that still
has a route installed; paths of that rank share it equally, and a path shares its part among
the links it sends on (both VPN tunnels with ECMP). The route is worked out again only when an
attachment withdraws or restores one (``Attachment.on_change``); every step between reuses it.
A path whose link has failed but whose route is not yet withdrawn still gets its part: those
bytes are lost (``link_down``), which is what the failure-detection window costs. With no
route at all, bytes are dropped as ``no_route``. Runs beside the discrete-event engine through
its timers; the engine itself is untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudtwin.bgp import Attachment
from cloudtwin.network_flows import Flow, FluidNetwork, Link

if TYPE_CHECKING:
    from cloudtwin.simulation import Simulation

STEP = 1.0  # seconds: the fluid model's resolution (failover times are exact; byte counts per step)


class FlowRun:
    """Every flow of one run, over the run's directconnect and vpn components."""

    def __init__(self, sim: Simulation) -> None:
        from cloudtwin.workloads import profile_factor

        self.sim = sim
        self.engine = sim.engine
        self.net = FluidNetwork(STEP)
        self.specs = sim.arch.flows
        self.factor: dict[str, Any] = {}
        self.left: dict[str, float | None] = {}
        horizon = sim.horizon or 3600.0
        for name, f in self.specs.items():
            self.net.add_flow(Flow(name, f.packet_size))
            self.factor[name] = profile_factor(f.profile, horizon, sim.arch.base_dir)[0]
            self.left[name] = f.size
        directions: dict[str, str] = {n: str(f.direction) for n, f in self.specs.items()}
        self.paths: dict[str, list[Attachment]] = {}
        for name, f in self.specs.items():
            self.paths[name] = []
            for v in f.via:
                att = sim.components[v]
                assert isinstance(att, Attachment)
                att.attach(self.net, directions, self._routes_changed)
                self.paths[name].append(att)
        self.route_now: dict[str, str] = {}
        # flow -> (its route, the route's name): kept until an attachment withdraws or restores one
        self.cached: dict[str, tuple[list[tuple[Link, float]], str]] = {}
        self.changes: dict[str, list[dict[str, Any]]] = {n: [] for n in self.specs}

    def start(self) -> None:
        self.engine.every(STEP, self._tick, start=0.0)
        self.engine.every(60.0, self._minute, start=60.0)

    def route(self, flow: str) -> list[tuple[Link, float]]:
        live = [a for a in self.paths[flow] if a.has_route()]
        if not live:
            return []
        best = min(a.preference() for a in live)
        chosen = [a for a in live if a.preference() == best]
        out: list[tuple[Link, float]] = []
        for a in chosen:
            links = a.routes()
            out.extend((lk, 1.0 / (len(chosen) * len(links))) for lk in links)
        return out

    def _routes_changed(self) -> None:
        self.cached.clear()

    def _tick(self, now: float) -> None:
        offers: dict[str, tuple[float, list[tuple[Link, float]]]] = {}
        cached = self.cached
        for name, f in self.specs.items():
            if now < f.start:
                continue
            fac = self.factor[name]
            nbytes = f.rate * (1.0 if fac is None else fac(now)) * STEP / 8.0
            left = self.left[name]
            if left is not None:
                nbytes = min(nbytes, left)
                self.left[name] = left - nbytes
            hit = cached.get(name)
            if hit is None:
                route = self.route(name)
                names = "+".join(sorted({lk.name for lk, _ in route})) or "none"
                cached[name] = route, names
                if self.route_now.get(name) != names:
                    if name in self.route_now:
                        self.changes[name].append({"t": now, "via": names})
                    self.route_now[name] = names
            else:
                route = hit[0]
            offers[name] = (nbytes, route)
        self.net.step(now, offers)

    def _minute(self, _: float) -> None:
        self.net.minute(60.0)

    def periodic_events_per_second(self) -> float:
        return 1.0 / STEP + 1.0 / 60.0

    # ---- results ------------------------------------------------------------------
    def flows(self) -> dict[str, Any]:
        acc = self.net.accounting()
        out: dict[str, Any] = {}
        for name, f in self.net.flows.items():
            a = acc[name]
            out[name] = {
                "direction": self.specs[name].direction,
                "sent_bytes": round(a["sent"], 3), "delivered_bytes": round(a["delivered"], 3),
                "dropped_bytes": round(a["dropped"], 3),
                "dropped_by_cause": {k: round(v, 3) for k, v in a["dropped_by_cause"].items()},
                "in_flight_bytes": round(a["in_flight"], 3),
                "route": self.route_now.get(name, "none"), "route_changes": self.changes[name],
                "series": {"delivered_bps": [round(x, 3) for x in f.series_bps],
                           "dropped_bytes": [round(x, 3) for x in f.series_dropped]},
            }
        return out

    def links(self) -> dict[str, Any]:
        return {lk.name: {"capacity_bps": lk.bps, "pps": lk.pps, "up": lk.up, "carried_bytes": round(lk.served, 3),
                          "dropped_bytes": {k: round(v, 3) for k, v in lk.dropped.items()},
                          "max_queue_delay_ms": round(lk.max_queue_delay * 1000.0, 3),
                          "series": {"carried_bps": [round(x, 3) for x in lk.series]}}
                for lk in self.net.links.values()}

    def check(self) -> None:
        self.net.check()
