"""A VPC's outbound internet path: route tables, the internet gateway and NAT gateways.

What is modelled
----------------
* ``call: <vpc>.internet`` from an instance of a fleet with ``subnets:`` goes out by its
  subnet's route table (the subnet of the instance's zone; the route matching the
  ``internet_endpoint`` address, longest prefix first; the VPC's own block is ``local``):
  - to the internet gateway (``igw``): the instance needs a public IPv4 address (``public_ip``
    or ``elastic_ip``); the packet carries it. Without one the call fails ``unavailable``
    (counted as ``no_public_ip``): a private address is not routable on the internet.
  - to a NAT gateway (``nat:<name>``): the packet leaves with the NAT's Elastic IP as its
    source address. A NAT in another zone is reached across AZs: the hop latency and the
    call's bytes count as cross-AZ data transfer (:mod:`cloudtwin.network`). While the NAT's
    zone is down the call fails ``unavailable`` (``nat_down``): a NAT gateway is a zonal
    resource, so one per zone keeps the other zones' calls going.
  - nowhere (no route): ``unavailable`` (``no_route``).
* Port exhaustion: a NAT gateway holds 55,000 simultaneous connections per IP to one
  destination [aws-facts §14 NAT gateway]; every call here goes to the one endpoint, so a call
  beyond 55,000 in flight through one NAT fails ``unavailable`` (``port_allocation_errors``;
  AWS's metric is ErrorPortAllocation).
* Bill: NAT gateway hours (all of them, for the whole run, including while their zone is
  down: assumption) and GB processed (the calls' ``size``) [aws-facts §19 NAT gateway].
* A caller that is not placed in this VPC (no ``subnets:``; a Lambda outside a VPC) goes out
  directly (``direct``).

* Inbound: a request reaching an instance of a fleet with ``subnets:`` from the internet (a
  source address outside the VPC's block and the RFC 1918 blocks, or a proxy's name such as
  CloudFront's origin-facing address) gets in only if the instance sits in a public subnet and
  has a public address; otherwise it is dropped, ``unavailable``, and counted on the client's
  tally (``unreachable_from_internet``). Behind an ALB or CLB the source is the node's private
  address: the ``local`` route (assumption: the load balancer is in this VPC).

Left out: fleets behind an NLB (it keeps the client's address, so a request through it cannot
be told from a direct one here: not checked); the NAT's bandwidth (5 Gbps scaling to 100 Gbps
[aws-facts §14]), secondary IPs, replies' bytes (only the call's ``size`` is counted), gateway endpoints for S3 and
DynamoDB, peering and transit gateways, IPv6 and egress-only gateways.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler
from cloudtwin.metrics import BATCH
from cloudtwin.origins import address, block, source, tally_of
from cloudtwin.request import UNAVAILABLE, Done, Request
from cloudtwin.spec.vpc import FLEETS, IGW, LOCAL, NAT_PREFIX
from cloudtwin.units import GIB, SECONDS_PER_HOUR

if TYPE_CHECKING:
    from cloudtwin.context import Context

PRIVATE = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")  # RFC 1918
_SEEN_MAX = 65_536  # distinct source addresses remembered by admit_on
_UNSET: Any = object()  # not in the subnet memo yet
NAT_PORTS: Final = 55_000  # simultaneous connections per IP per destination [aws-facts §14 NAT gateway]


class _Nat:
    """One NAT gateway's live counters, read by the NAT path as slots (not five dicts by name)."""

    __slots__ = ("name", "open", "peak", "calls", "bytes", "cross_az")

    def __init__(self, name: str) -> None:
        self.name = name
        self.open = self.peak = self.calls = self.cross_az = 0  # open: connections now, peak: their most
        self.bytes = 0.0


class Vpc(Component):
    kind = "vpc"
    needs_caller = True  # the handler passes (key, calling instance, the call's size)
    per_instance = True  # as a filter in front of instances: admit_on(req, instance)
    outbound = False  # replies need no check (security groups and NACLs do their own)

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.rtt = make_sampler(spec.internet_rtt, ctx.stream(f"{name}.internet_rtt"))
        self.route = {s: spec.internet_target(s) for s in spec.subnets}  # subnet -> igw | nat:x | local | ''
        self.nat_zone = {g: spec.subnets[n.subnet].zone for g, n in spec.nat_gateways.items()}
        # each NAT's Elastic IP: RFC 5737 TEST-NET-1 addresses, in the spec's order
        self.nat_ip = {g: f"192.0.2.{i + 1}" for i, g in enumerate(spec.nat_gateways)}
        # subnet -> (its NAT gateway, the NAT's zone, its Elastic IP), for subnets routed to one
        # (the spec check holds every `nat:<name>` to a NAT gateway of the VPC)
        self.nats = {g: _Nat(g) for g in spec.nat_gateways}
        self.nat_route = {s: (self.nats[t[len(NAT_PREFIX):]], self.nat_zone[t[len(NAT_PREFIX):]],
                              self.nat_ip[t[len(NAT_PREFIX):]])
                          for s, t in self.route.items() if t.startswith(NAT_PREFIX)}
        self.placement: dict[str, dict[str, str]] = {}  # fleet -> zone -> subnet
        self.nat_unsized = 0
        self.sources: dict[str, int] = {}  # source address the internet saw -> calls
        self.failed = {"no_public_ip": 0, "nat_down": 0, "no_route": 0, "port_allocation_errors": 0}
        self.via_igw = self.direct = 0
        self.inbound_public = self.unreachable = 0
        # addresses inside the VPC: its block and the RFC 1918 blocks (load balancer nodes' addresses
        # are private ones; assumption: the load balancers sit in this VPC)
        self.inside = [block(spec.cidr), *(block(b) for b in PRIVATE)]
        self._inside_seen: dict[str, bool] = {}  # source address -> inside (parsing one costs ~1 us)
        self._where: dict[Any, str | None] = {}  # instance -> its subnet (an instance never moves)
        self.hot = ctx.engine.hot()
        self.lat_buf = self.latency.buffer  # latency.record(x), inlined on the NAT path
        self.release = self._release  # bound once: every NAT call's reply frees its connection with it

    def build(self) -> None:
        comps = self.ctx.arch.components
        behind_nlb = {t for c in comps.values() if c.type == "nlb" for t in getattr(c, "target_names", ())}
        for n, c in comps.items():
            if c.type in FLEETS:
                fleet: Any = c  # an ec2 or asg spec (Compute)
                mine = {self.spec.subnets[s].zone: s for s in fleet.subnets if s in self.spec.subnets}
                if mine:
                    self.placement[n] = mine
                    if n not in behind_nlb:  # an NLB keeps the client's address: not told apart here
                        live: Any = self.ctx.components[n]
                        live.screen(self)  # inbound reachability: admit_on

    # ---- inbound: who can reach an instance -------------------------------------------------
    def admit_on(self, req: Any, inst: Any) -> str | None:  # a Request, or a bare start time
        """A request reaching an instance of a placed fleet: from inside the VPC (the VPC's block,
        or a private RFC 1918 address such as a load balancer node's) it is routed by the
        implicit ``local`` route; from the internet (any other address, or a proxy's name such as
        CloudFront's) only to an instance with a public address in a public subnet."""
        src = source(req)
        if not src:
            return None  # no address: an internal probe or timer
        inside = self._inside_seen.get(src)
        if inside is None:
            addr = address(src)
            inside = addr is not None and any(lo <= addr <= hi for lo, hi in self.inside)
            if len(self._inside_seen) >= _SEEN_MAX:
                self._inside_seen.clear()  # many distinct clients: keep the memo bounded
            self._inside_seen[src] = inside
        if inside:
            return None
        subnet = self.subnet_of(inst)
        if subnet is not None and self.route[subnet] == IGW and self.spec.internet_gateway and inst.public_ip:
            self.inbound_public += 1
            return None
        self.unreachable += 1  # not in `errors`, which counts the outbound calls' failures
        t = tally_of(req)
        if t is not None:
            t.block(self.name)
        return UNAVAILABLE

    def admit(self, req: Any) -> str | None:  # the Filter protocol; instances call admit_on
        return None

    def answer(self, req: Request, err: str | None) -> str | None:
        return err

    def subnet_of(self, host: Any) -> str | None:
        """The subnet an instance sits in (None: not in this VPC)."""
        try:
            return self._where[host]
        except KeyError:
            pass
        owner = getattr(host, "owner", None)
        where = self.placement.get(getattr(owner, "name", ""))
        subnet = where.get(host.zone) if where is not None else None
        if len(self._where) >= _SEEN_MAX:
            self._where.clear()  # a fleet replaced many times over: keep the memo bounded
        self._where[host] = subnet
        return subnet

    def zones(self) -> list[str]:
        return sorted({s.zone for s in self.spec.subnets.values()})

    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        """Route a call whose injected faults (if any) have passed: :meth:`handle` without them."""
        self.handle(req, op, done, arg, False)

    def handle(self, req: Request, op: str, done: Done, arg: Any = None, faults: bool = True) -> None:
        """The entry every caller uses, :meth:`Component.handle` with the routing inline (one frame
        fewer per outbound call): injected faults first (``faults``; :meth:`serve` passes False
        once they have passed), then the calling instance's subnet (its memo read inline, as
        :meth:`subnet_of` reads it) and its route."""
        if faults and self.injected:
            Component.handle(self, req, op, done, arg)
            return
        self.requests += 1
        if isinstance(arg, tuple):
            host: Any = arg[1]
            size = arg[2]
        else:
            host = size = None
        if host is not None:
            subnet = self._where.get(host, _UNSET)
            if subnet is _UNSET:
                subnet = self.subnet_of(host)
        else:
            subnet = None
        if host is None or subnet is None:
            self.direct += 1
            self._out(req, done, 0.0)
            return
        target = self.route[subnet]
        if target == IGW:
            ip = host.public_ip
            if not ip:
                self._fail(req, done, "no_public_ip")
                return
            self.via_igw += 1
            self.sources[ip] = self.sources.get(ip, 0) + 1
            self._out(req, done, 0.0)
            return
        nat_route = self.nat_route.get(subnet)
        if nat_route is None:  # '' or local: the internet is not routed from here
            self._fail(req, done, "no_route")
            return
        nat, zone, ip = nat_route
        if not self.ctx.zone_up(zone):
            self._fail(req, done, "nat_down")
            return
        n_open = nat.open
        if n_open >= NAT_PORTS:
            self._fail(req, done, "port_allocation_errors")
            return
        hop = 0.0
        if zone != host.zone:
            nat.cross_az += 1
            hop = self.ctx.network.rtt(host.zone, zone, size)  # counts the cross-AZ bytes
        nat.calls += 1
        if size is None:
            self.nat_unsized += 1
        else:
            nat.bytes += size
        self.sources[ip] = self.sources.get(ip, 0) + 1
        n_open += 1
        nat.open = n_open
        if n_open > nat.peak:
            nat.peak = n_open
        delay = hop + self.rtt()  # self._out(req, done, hop, nat), inline
        buf = self.lat_buf
        buf.append(delay)
        if len(buf) >= BATCH:
            self.latency.flush()
        heap, seq = self.hot  # engine.after(delay, self._release, ...), its callback bound once
        heappush(heap, (self.engine.now + delay, next(seq), self.release, (req, nat, done)))

    def _out(self, req: Request, done: Done, hop: float, nat: _Nat | None = None) -> None:
        delay = hop + self.rtt()
        self.latency.record(delay)
        if nat is None:
            self.engine.after(delay, deliver, (req, done, None))
        else:
            self.engine.after(delay, self._release, (req, nat, done))

    def _release(self, job: tuple[Request, _Nat, Done]) -> None:
        """Frees a NAT connection when the reply comes back, then answers the caller."""
        req, nat, done = job
        nat.open -= 1
        done(req, None)

    def _fail(self, req: Request, done: Done, why: str) -> None:
        self.errors += 1
        self.failed[why] += 1
        done(req, UNAVAILABLE)

    def usage(self) -> dict[str, float]:
        u: dict[str, float] = {}
        if self.spec.nat_gateways:
            u["NatGateway-Hours"] = len(self.spec.nat_gateways) * self.engine.now / SECONDS_PER_HOUR
            gb = sum(n.bytes for n in self.nats.values()) / GIB
            if gb > 0:
                u["NatGateway-Bytes"] = gb
        return u

    def unmeasured(self) -> list[dict[str, Any]]:
        if not self.nat_unsized:
            return []
        return [{"usage_type": "NatGateway-Bytes",
                 "reason": f"{self.nat_unsized} calls through a NAT gateway have no `size:`"}]

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update({
            "subnets": {s: ("public" if self.route[s] == IGW and self.spec.internet_gateway else "private")
                        for s in sorted(self.spec.subnets)},
            "via_internet_gateway": self.via_igw,
            "inbound_from_internet": self.inbound_public,
            "unreachable_from_internet": self.unreachable,
            "direct": self.direct,
            "failed": dict(self.failed),
            "source_ips": dict(sorted(self.sources.items())),
            "nat_gateways": {g: {"zone": self.nat_zone[g], "elastic_ip": self.nat_ip[g], "calls": n.calls,
                                 "cross_az_calls": n.cross_az, "gb_processed": n.bytes / GIB,
                                 "peak_connections": n.peak}
                             for g in sorted(self.spec.nat_gateways) for n in (self.nats[g],)},
        })
        return out


__all__ = ["LOCAL", "NAT_PORTS", "Vpc"]
