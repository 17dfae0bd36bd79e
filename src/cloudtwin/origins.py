"""Traffic origins: the source addresses and countries of a workload's clients, and attackers.

A workload with ``sources:`` gives client ``i`` the address ``i`` of its ``ips`` block
(wrapping round) and a country drawn once per client, in order of first appearance, from
the named stream ``workload.<name>.countries``. A workload with ``attack:`` also sends
attacker requests to the same entry (:class:`AttackRun`): its own arrivals (stream
``workload.<name>.attack``), its own addresses and country, counted apart from the
legitimate requests.

Every client carries a :class:`Tally`: a component that blocks a request (a WAF rule, a
network ACL, a geo restriction) counts it there under its own name, so the results say
which layer stopped how many attacker requests and how many legitimate ones (collateral).

An attack of a network-layer ``kind`` (``syn_flood``, ``udp_reflection``) sent to CloudFront,
Route 53 or a load balancer is absorbed by Shield Standard there, at no charge: each packet is
counted as blocked under ``shield-standard`` and reaches nothing. Sent to anything else (an
instance's public address) it reaches the target, where each packet costs what a request does
(assumption). Shield Standard does not stop layer-7 request floods (``kind: request``): that
is WAF's job.

Addresses are IPv4 strings (``203.0.113.7``); a proxy's address the next hop sees may be a
name (``cloudfront-0``, CloudFront's origin-facing address): :func:`address` turns a string
into an int, or None for such a name, which only ``0.0.0.0/0`` matches.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from functools import lru_cache
from heapq import heappush
from itertools import accumulate
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.engine import make_sampler, stream
from cloudtwin.engine.sampling import Distribution, uniform_sampler
from cloudtwin.request import ERROR_KINDS, UNAVAILABLE, Client, Request

if TYPE_CHECKING:
    from cloudtwin.spec.schema import Attack, Sources
    from cloudtwin.workloads import WorkloadRun

ATTACK_UID: Final = 100_000_000  # attacker clients' uids start here, clear of the workload's clients
SHIELD: Final = "shield-standard"  # the name a network-layer flood absorbed by Shield Standard is counted under
# where Shield Standard mitigates layer 3/4 floods (SYN, UDP reflection) at no charge: CloudFront and
# Route 53 inline at the edge, Elastic Load Balancing (not in aws-facts: docs/spec.md "Facts found outside")
SHIELD_EDGES = frozenset(("cloudfront", "route53", "alb", "nlb", "clb"))
_new: Final = Request.__new__  # object.__new__ interpreted; compiled, the class's own (__init__'s defaults)


@lru_cache(maxsize=65_536)
def address(ip: str) -> int | None:
    """The IPv4 address ``ip`` as an int; None when it is a name (a proxy's), not an address."""
    try:
        return int(ipaddress.IPv4Address(ip))
    except ValueError:
        return None


def source(req: Any) -> str:
    """The source address the current hop sees (a bare request, a start time only: none).

    For a :class:`Request` it reads ``via`` and the client itself, as ``Request.src_ip`` does,
    without the property's call (every filter asks this of every request)."""
    cls = req.__class__
    if cls is Request:
        via = req.via
        if via is not None:
            return str(via)
        c = req.client
        return c.ip if c is not None else ""
    return "" if cls is float else str(req.src_ip)


def client_address(req: Any) -> str:
    """The client's own address, as ``X-Forwarded-For`` carries it past proxies."""
    c = None if req.__class__ is float else req.client
    return c.ip if c is not None else ""


def block(cidr: str) -> tuple[int, int]:
    """``(first, last)`` address of a CIDR block, as ints."""
    net = ipaddress.IPv4Network(cidr, strict=False)
    return int(net.network_address), int(net.broadcast_address)


def in_block(addr: int | None, span: tuple[int, int]) -> bool:
    """Is ``addr`` in ``span``? A name (None) is only in 0.0.0.0/0."""
    if addr is None:
        return span == (0, 0xFFFFFFFF)
    return span[0] <= addr <= span[1]


def dotted(n: int) -> str:
    return str(ipaddress.IPv4Address(n))


class Tally:
    """The requests of one population (a workload's legitimate clients, or its attackers)
    that a blocking component refused, by component name."""

    __slots__ = ("attacker", "blocked")

    def __init__(self, attacker: bool) -> None:
        self.attacker = attacker
        self.blocked: dict[str, int] = {}

    def block(self, where: str) -> None:
        self.blocked[where] = self.blocked.get(where, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.blocked.values())


def tally_of(req: Any) -> Tally | None:
    """The tally of a request's client, if it has one."""
    c = None if req.__class__ is float else req.client
    return c.tally if c is not None else None


class Population:
    """Legitimate clients with addresses and countries (a workload's ``sources:``)."""

    def __init__(self, spec: Sources, seed: int, name: str) -> None:
        self.first, last = block(spec.ips)
        self.size = last - self.first + 1
        self.codes = sorted(spec.countries)
        self.cum = list(accumulate(spec.countries[c] for c in self.codes))
        self.draw = uniform_sampler(stream(seed, f"workload.{name}.countries")) if self.codes else None
        self.tally = Tally(attacker=False)

    def client(self, cid: int) -> Client:
        country = ""
        if self.draw is not None:
            i = bisect_right(self.cum, self.draw() * self.cum[-1])
            country = self.codes[min(i, len(self.codes) - 1)]
        return Client(dotted(self.first + cid % self.size), cid, country, self.tally)


class AttackRun:
    """The attacker requests of one workload: arrivals, addresses, and what became of them."""

    __slots__ = ("wl", "spec", "engine", "n", "first", "tally", "clients", "end", "gap", "pick", "turn", "period",
                 "hot", "next_arrival", "send", "shielded", "requests", "succeeded", "failed", "errors")  # per request

    def __init__(self, wl: WorkloadRun, spec: Attack, seed: int) -> None:
        self.wl = wl
        self.spec = spec
        self.engine = wl.engine
        first, last = block(spec.ips)
        self.n = min(spec.addresses or (last - first + 1), last - first + 1)
        self.first = first
        self.tally = Tally(attacker=True)
        self.clients: dict[int, Client] = {}
        self.end = spec.start + spec.duration if spec.duration is not None else float("inf")
        if spec.pattern == "flood":
            arrivals = stream(seed, f"workload.{wl.name}.attack")
            self.gap: Any = make_sampler(Distribution("exp", (1.0 / spec.rate,)), arrivals)
            self.pick: Any = uniform_sampler(stream(seed, f"workload.{wl.name}.attack_ips"))
        else:
            self.gap = None
            self.pick = None
        self.turn = 0
        self.period = 1.0 / spec.rate  # a crawl's fixed gap
        self.hot: Any = None  # the engine's (heap, seq), from start()
        self.next_arrival: Any = None
        self.send: Any = None  # (entry, op, arg, completion), set at start()
        # Shield Standard absorbs network-layer floods at these entries; at anything else (an
        # instance's public address) the flood reaches the target as requests do (assumption)
        self.shielded = spec.kind != "request" and getattr(wl.entry, "kind", "") in SHIELD_EDGES
        self.requests = self.succeeded = self.failed = 0
        self.errors = dict.fromkeys(ERROR_KINDS, 0)

    def start(self) -> None:
        first = self.gap() if self.gap is not None else 0.0
        self.hot = self.engine.hot()
        self.next_arrival = self.arrive  # bound once: every arrival schedules the next with it
        wl = self.wl
        self.send = (wl.entry, wl.op, wl.arg, self.complete)
        self.engine.after(self.spec.start + first, self.next_arrival)

    def arrive(self, _: object = None) -> None:
        """One attacker request, and the next arrival scheduled.

        The hot path of the ip-block blueprints (hundreds of attacker requests a second): it
        pushes the next arrival on the heap itself (``engine.hot()``: the same ``(time, seq)``
        that ``engine.after`` would give it), builds the request without a ``Request.__init__``
        frame (as :func:`~cloudtwin.request.new_request` does) and calls the entry's ``handle``."""
        now = self.engine.now
        if now >= self.end or not self.wl.open:
            return
        heap, seq = self.hot
        gap = self.gap
        heappush(heap, (now + (gap() if gap is not None else self.period), next(seq), self.next_arrival, None))
        if self.pick is not None:
            i = int(self.pick() * self.n)
        else:
            i = self.turn
            self.turn = (i + 1) % self.n
        c = self.clients.get(i)
        if c is None:
            c = self.clients[i] = Client(dotted(self.first + i), ATTACK_UID + i, self.spec.country or "", self.tally)
        self.requests += 1
        req: Request = _new(Request)  # Request(now, c, None)
        req.t0 = now
        req.client = c
        req.session = None
        req.finished = False
        req.via = None
        req.user = None
        if self.shielded:  # a network-layer flood at an edge Shield Standard protects: absorbed there
            self.tally.block(SHIELD)
            self.complete(req, UNAVAILABLE)
            return
        entry, op, arg, done = self.send
        entry.handle(req, op, done, arg)  # looked up per request: a single EC2 instance's binding moves (EC2._bind)

    def complete(self, req: Request, err: str | None) -> None:
        if req.finished:
            return
        req.finished = True
        if err is None:
            self.succeeded += 1
        else:
            self.failed += 1
            self.errors[err] += 1

    def stats(self) -> dict[str, Any]:
        blocked = self.tally.total
        done = self.succeeded + self.failed
        return {
            "requests": self.requests,
            "addresses": len(self.clients),
            "blocked": dict(sorted(self.tally.blocked.items())),
            # reached past every block (whatever the backend then answered)
            "leaked": done - blocked,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "in_flight": self.requests - done,
            "errors": {k: v for k, v in self.errors.items() if v},
        }
