"""A time-stepped fluid model of flows over links: bits per second, not requests.

Each step of ``dt`` seconds, every flow offers ``rate x dt`` bytes, split over the links its
route names (by weight: equal-cost paths share a flow evenly). Each link then:

- serves at most its capacity for the step, ``min(bps / 8, pps x mean packet size) x dt``
  bytes, shared **max-min fairly** among the flows with bytes waiting (water-filling: no flow
  gets more than it has waiting, and the rest is split evenly among the others);
- keeps what it could not serve in a bounded buffer, and drops the excess over the buffer
  from each flow in proportion to its backlog (cause ``queue``);
- loses a fixed fraction ``loss`` of what it serves (cause ``loss``);
- delivers what it served after its one-way ``latency``, counted from the end of the step
  (deliveries are counted at step ends, so a byte is in flight for at least one step).

A link that goes down drops what it holds, queued or in transit, and every byte routed to it
while it is down (cause ``link_down``); bytes with no route are dropped as ``no_route``.
Every byte is accounted for, per flow and in total::

    sent = delivered + dropped + in_flight   (in_flight: queued or in transit)

and :meth:`FluidNetwork.check` raises when it does not hold. The model knows nothing of
what the links stand for; routing (which links a flow uses at each step) is the caller's.

Left out: per-packet behaviour (TCP's reaction to drops, reordering, jitter), priorities or
weighted shares, and a flow's own rate limit other than its offered rate.
"""

from __future__ import annotations

from collections import deque
from typing import Any

__all__ = ["DROP_CAUSES", "Flow", "FluidNetwork", "Link", "max_min_share"]

DROP_CAUSES = ("queue", "loss", "link_down", "no_route")
_TOL = 1e-6  # relative tolerance of the byte accounting (float sums over many steps)


def max_min_share(capacity: float, wants: list[float]) -> list[float]:
    """Max-min fair shares of ``capacity`` among demands ``wants`` (water-filling)."""
    out = [0.0] * len(wants)
    order = sorted((w, i) for i, w in enumerate(wants) if w > 0)
    left, n = capacity, len(order)
    for k, (w, i) in enumerate(order):
        fair = left / (n - k)
        give = w if w <= fair else fair
        out[i] = give
        left -= give
    return out


class Link:
    """One link: capacity, latency, loss and a bounded buffer; its queues and counters."""

    def __init__(self, name: str, *, bps: float, latency: float = 0.0, loss: float = 0.0,
                 buffer_bytes: float = 0.0, pps: float | None = None) -> None:
        self.name = name
        self.bps, self.pps = bps, pps
        self.latency, self.loss, self.buffer_bytes = latency, loss, buffer_bytes
        self.up = True
        self.queue: dict[str, float] = {}  # flow -> bytes waiting
        self.transit: deque[tuple[float, dict[str, float]]] = deque()  # (due, flow -> bytes)
        self.served = 0.0  # bytes served (put on the wire), all time
        self.carried: dict[str, float] = {}  # the same, by flow (for billing by direction)
        self.dropped = dict.fromkeys(DROP_CAUSES, 0.0)
        self.max_queue_delay = 0.0  # seconds: the longest backlog / capacity seen
        self.minute_bytes = 0.0  # served this minute (closed by FluidNetwork.minute)
        self.series: list[float] = []  # bits/s served, per minute

    def capacity_bytes(self, dt: float, packet_size: float) -> float:
        by_bits = self.bps / 8.0
        if self.pps is not None and packet_size > 0:
            by_bits = min(by_bits, self.pps * packet_size)
        return by_bits * dt

    def in_flight(self) -> float:
        return sum(self.queue.values()) + sum(sum(m.values()) for _, m in self.transit)


class Flow:
    """One flow's counters (bytes)."""

    def __init__(self, name: str, packet_size: float) -> None:
        self.name = name
        self.packet_size = packet_size
        self.sent = self.delivered = 0.0
        self.dropped = dict.fromkeys(DROP_CAUSES, 0.0)
        self.minute_delivered = self.minute_dropped = 0.0
        self.series_bps: list[float] = []  # delivered bits/s per minute
        self.series_dropped: list[float] = []  # bytes dropped per minute

    def drop(self, cause: str, nbytes: float) -> None:
        self.dropped[cause] += nbytes
        self.minute_dropped += nbytes


class FluidNetwork:
    """Links and flows, advanced in steps of ``dt`` seconds by :meth:`step`."""

    def __init__(self, dt: float) -> None:
        if not dt > 0:
            raise ValueError(f"a step must be > 0 s, not {dt!r}")
        self.dt = dt
        self.links: dict[str, Link] = {}
        self.flows: dict[str, Flow] = {}

    def add_link(self, link: Link) -> Link:
        self.links[link.name] = link
        return link

    def add_flow(self, flow: Flow) -> Flow:
        self.flows[flow.name] = flow
        return flow

    def fail(self, link: Link) -> None:
        """Take ``link`` down: what it holds is lost."""
        link.up = False
        for f, b in link.queue.items():
            self._drop(link, f, "link_down", b)
        link.queue.clear()
        for _, moving in link.transit:
            for f, b in moving.items():
                self._drop(link, f, "link_down", b)
        link.transit.clear()

    def repair(self, link: Link) -> None:
        link.up = True

    def _drop(self, link: Link | None, flow: str, cause: str, nbytes: float) -> None:
        if nbytes <= 0:
            return
        self.flows[flow].drop(cause, nbytes)
        if link is not None:
            link.dropped[cause] += nbytes

    def step(self, now: float, offers: dict[str, tuple[float, list[tuple[Link, float]]]]) -> None:
        """One step from ``now``: ``offers[flow] = (bytes, [(link, weight), ...])``; an empty
        route list means no route (the bytes are dropped as ``no_route``)."""
        end = now + self.dt
        for name, (nbytes, route) in offers.items():
            flow = self.flows[name]
            if nbytes <= 0:
                continue
            flow.sent += nbytes
            total = sum(w for _, w in route)
            if not route or total <= 0:
                self._drop(None, name, "no_route", nbytes)
                continue
            for link, w in route:
                part = nbytes * w / total
                if not link.up:
                    self._drop(link, name, "link_down", part)
                else:
                    link.queue[name] = link.queue.get(name, 0.0) + part
        for link in self.links.values():
            if link.up and link.queue:
                self._serve(link, end)
            self._deliver(link, end)

    def _serve(self, link: Link, end: float) -> None:
        names = list(link.queue)
        wants = [link.queue[n] for n in names]
        waiting = sum(wants)
        # packets of the bytes waiting: the mean packet size weighted by bytes (for the pps cap)
        packets = sum(w / self.flows[n].packet_size for n, w in zip(names, wants, strict=True))
        mean_packet = waiting / packets if packets > 0 else 0.0
        cap = link.capacity_bytes(self.dt, mean_packet)
        shares = max_min_share(cap, wants)
        moving: dict[str, float] = {}
        for n, w, s in zip(names, wants, shares, strict=True):
            link.queue[n] = w - s
            if s > 0:
                lost = s * link.loss
                self._drop(link, n, "loss", lost)
                moving[n] = s - lost
                link.served += s
                link.carried[n] = link.carried.get(n, 0.0) + s
                link.minute_bytes += s
        backlog = sum(link.queue.values())
        if backlog > link.buffer_bytes:
            keep = link.buffer_bytes / backlog
            for n, b in link.queue.items():
                self._drop(link, n, "queue", b * (1.0 - keep))
                link.queue[n] = b * keep
            backlog = link.buffer_bytes
        link.queue = {n: b for n, b in link.queue.items() if b > 0}
        if cap > 0:
            link.max_queue_delay = max(link.max_queue_delay, backlog / cap * self.dt)
        if moving:
            link.transit.append((end + link.latency, moving))

    def _deliver(self, link: Link, end: float) -> None:
        tr = link.transit
        while tr and tr[0][0] <= end + 1e-12:
            for n, b in tr.popleft()[1].items():
                f = self.flows[n]
                f.delivered += b
                f.minute_delivered += b

    # ---- accounting -------------------------------------------------------------
    def in_flight(self, flow: str) -> float:
        return sum(lk.queue.get(flow, 0.0) + sum(m.get(flow, 0.0) for _, m in lk.transit)
                   for lk in self.links.values())

    def accounting(self) -> dict[str, dict[str, Any]]:
        """Per flow: sent, delivered, dropped (by cause) and in flight, in bytes."""
        out: dict[str, dict[str, Any]] = {}
        for n, f in self.flows.items():
            out[n] = {"sent": f.sent, "delivered": f.delivered, "dropped": sum(f.dropped.values()),
                      "dropped_by_cause": dict(f.dropped), "in_flight": self.in_flight(n)}
        return out

    def check(self) -> None:
        """Raise ``AssertionError`` unless every flow's bytes are conserved."""
        for n, a in self.accounting().items():
            rhs = a["delivered"] + a["dropped"] + a["in_flight"]
            if abs(a["sent"] - rhs) > _TOL * max(a["sent"], 1.0):
                raise AssertionError(f"flow {n!r}: sent {a['sent']:.6g} B != delivered + dropped + in flight "
                                     f"{rhs:.6g} B")

    def minute(self, seconds: float) -> None:
        """Close a period of ``seconds``: append each link's and flow's mean rate to its series."""
        for lk in self.links.values():
            lk.series.append(lk.minute_bytes * 8.0 / seconds)
            lk.minute_bytes = 0.0
        for f in self.flows.values():
            f.series_bps.append(f.minute_delivered * 8.0 / seconds)
            f.series_dropped.append(f.minute_dropped)
            f.minute_delivered = f.minute_dropped = 0.0
