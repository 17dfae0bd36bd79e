"""Elastic Load Balancing: Application, Network and Classic Load Balancers.

A load balancer spreads requests over the healthy targets of the fleets it
targets (``ec2`` or ``asg`` components), which register and deregister their
instances through ``Fleet.attach/announce/withdraw``. Health checking and target
states live in :mod:`cloudtwin.services.elb_health`.

Routing:
- ALB/CLB: round robin (default) or least outstanding requests [aws-facts §1].
  NLB: a flow hash per connection [aws-facts §1], modelled as a uniform random
  pick per request (``algorithm:`` is ignored for an NLB).
- Fail open: with no healthy target, requests go to every registered target
  regardless of health [aws-facts §1]. With no registered target at all the
  request fails ``unavailable``.
- Cross-zone: on for ALB, off for NLB by default [aws-facts §1]. With it off, a
  request enters the LB node of one zone (a client hashes to a node; requests
  without a client go round robin over the nodes) and only goes to targets in
  that zone, failing open within the zone; a zone with no target answers
  ``unavailable``. Nodes in a zone that is down take no traffic.
- Stickiness: ``lb_cookie`` (expiry ``duration`` after the last request, reset
  on every request), ``app_cookie`` (fixed 7-day expiry) [aws-facts §1], kept in
  the client's cookie jar; ``source_ip`` (NLB) keyed by the source IP. A sticky
  target that is no longer routable is replaced and the cookie rewritten, so an
  app-cookie session stays on the new target after the old one recovers
  [aws-facts §1]. Requests without a client are not sticky.
- Deregistration: the target drains; it becomes unused when its in-flight
  requests reach 0, or when ``deregistration_delay`` expires [aws-facts §1].
- Source IP: an ALB/CLB proxies, so its targets see the LB node's private IP in
  ``req.src_ip`` (the client IP would travel in ``X-Forwarded-For``, left-most
  entry [aws-facts §1]); an NLB preserves the client IP [aws-facts §1].
- LB processing time (``latency``) delays the forward by one event.

- Slow start (ALB, ``slow_start``): a target that becomes healthy while another
  healthy target is not in slow start takes its round-robin turn with probability
  (time since) / duration, so its share rises linearly; it leaves slow start if it
  becomes unhealthy [aws-facts §1].
- Weighted target groups (ALB, ``weights``): each target fleet is its own target
  group; a request goes to a group drawn in proportion to its weight, then to a
  target of that group (fail open within the group).

Billing: LB-hours and public IPv4 addresses (:mod:`cloudtwin.pricing.meters`) and LCUs
from the processed traffic (:mod:`cloudtwin.pricing.lcu`).

Left out: listeners and rules, idle timeouts, target-group stickiness, the
removal of a node's IP from DNS when its zone has no healthy target, and the
hop latency between LB node and target (the ALB's inter-AZ traffic is free).

The per-request routing (pools, picks, stickiness, the forward and its reply) is in
:mod:`cloudtwin.services.elb_routing`; this module keeps the wiring, registration, pools'
rebuilds, metrics and billing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudtwin.engine import make_sampler
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.services.elb_health import DEFAULTS, DRAINING, HEALTHY, INITIAL, REGISTERED, Target
from cloudtwin.services.elb_routing import APP_COOKIE_EXPIRY, Routing
from cloudtwin.services.elb_usage import lb_usage
from cloudtwin.services.instance import Instance
from cloudtwin.spec.elb import LoadBalancer as LBSpec

if TYPE_CHECKING:
    from collections.abc import Callable

    from cloudtwin.context import Context

__all__ = ["ALB", "APP_COOKIE_EXPIRY", "CLB", "NLB", "LoadBalancer"]


class LoadBalancer(Routing):
    """An ALB, NLB or CLB in front of one or more fleets."""
    # what an ALB or NLB sets, as slots: past 29 attributes in its __dict__ every access slows
    # (tests/test_attribute_layout.py); the base's __dict__ takes the rest
    __slots__ = ('name', 'spec', 'ctx', 'engine', 'requests', 'errors', 'latency', 'injected', 'http',
                 'interval', 'timeout', 'healthy_threshold', 'unhealthy_threshold', 'cross_zone', 'zonal',
                 'proxy', 'sticky', 'sticky_duration', 'lor', 'slow_start', 'slow_draw', 'weights', 'group_of',
                 'gpools', 'group_draw', 'plain', 'flow_hash', 'delay', 'hot', 'lat_buf', 'targets', 'fleets',
                 'node_zones', 'node_ip', 'nodes_up', 'pool', 'zpool', 'by_ip', 'ip_hash', 'rr', 'zrr',
                 'started', 'healthy_count', 'min_healthy', 'max_healthy', 'minute_min', 'healthy_series',
                 'failed_no_target', 'past_served', 'checks_sent', 'checks_failed')

    spec: LBSpec

    def __init__(self, name: str, spec: LBSpec, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        d = DEFAULTS[spec.type]
        hc = spec.health_check
        proto = hc.protocol or ("tcp" if spec.type == "nlb" else "http")  # [aws-facts §1]
        self.http = proto != "tcp"  # an HTTP(S) check runs the targets' health handler; TCP only connects
        # an NLB's HTTP check times out after 6 s, its TCP and HTTPS checks after 10 s [aws-facts §1]
        timeout = 6.0 if spec.type == "nlb" and proto == "http" else d.timeout
        self.interval: float = hc.interval if hc.interval is not None else d.interval
        self.timeout: float = hc.timeout if hc.timeout is not None else timeout
        self.healthy_threshold: int = hc.healthy_threshold or d.healthy_threshold
        self.unhealthy_threshold: int = hc.unhealthy_threshold or d.unhealthy_threshold
        self.cross_zone: bool = d.cross_zone if spec.cross_zone is None else spec.cross_zone
        self.zonal = not self.cross_zone
        self.proxy = d.proxy
        st = spec.sticky
        self.sticky: str | None = None if st is None else (st.type or d.stickiness)
        self.sticky_duration = st.duration if st is not None else 0.0
        # A sticky LB reads cookies; an NLB passes the client IP through to targets.
        self.needs_client = self.sticky is not None or self.kind == "nlb"
        self.lor = spec.type != "nlb" and spec.algorithm == "least_outstanding_requests"
        self.slow_start = spec.slow_start  # [aws-facts §1 Slow start (ALB)]
        self.slow_draw = uniform_sampler(ctx.stream(f"{name}.slow_start")) if self.slow_start else None
        # weighted target groups: each target fleet is a group, picked in proportion to its weight
        self.weights = [spec.weights[t] for t in spec.target_names] if spec.weights else None
        self.group_of: dict[int, int] = {}  # id(fleet) -> its group
        self.gpools: list[list[Target]] = []
        self.group_draw = uniform_sampler(ctx.stream(f"{name}.weights")) if self.weights else None
        self.plain = (self.sticky is None and not self.lor and spec.type != "nlb"  # plain round robin
                      and not self.slow_start)
        self.flow_hash = uniform_sampler(ctx.stream(f"{name}.flow_hash")) if spec.type == "nlb" else None
        lat = spec.latency
        zero = lat.kind == "const" and lat.params[0] == 0
        self.delay = None if zero else make_sampler(lat, ctx.stream(f"{name}.latency"))
        self.hot = ctx.engine.hot()
        self.direct: Any = Instance  # elb_routing._forward serves on a plain Instance itself
        # the first workload whose plain successes _served counts inline (plain_end), its `complete`
        self.end_wl: Any = None
        self.end_done: Any = None
        self.lat_buf = self.latency.buffer
        self.targets: dict[int, Target] = {}  # id(instance) -> its current target
        self.fleets: list[Any] = []
        self.node_zones: list[str] = []
        self.node_ip: dict[str, str] = {}
        self.nodes_up: list[str] = []
        self.pool: list[Target] = []
        self.zpool: dict[str, list[Target]] = {}
        self.by_ip: dict[str, Target] = {}
        self.ip_hash: dict[str, int] = {}  # client address -> its crc32, which picks its node (cross-zone off)
        self.rr = 0
        self.zrr = 0
        self.started = False
        self.healthy_count = 0
        self.min_healthy: int | None = None
        self.max_healthy = 0
        self.minute_min: int | None = None
        self.healthy_series: list[float] = []
        self.failed_no_target = 0
        self.past_served: dict[str, int] = {}
        self.checks_sent = 0  # health checks (not requests: no workload, LB or fleet counts them)
        self.checks_failed = 0

    # ---- wiring -----------------------------------------------------------------
    def build(self) -> None:
        ctx = self.ctx
        arch_zones = list(ctx.arch.zones)
        zones: list[str] = list(self.spec.zones or [])
        for tname in self.spec.target_names:
            fleet = ctx.components[tname]
            self.group_of[id(fleet)] = len(self.fleets)
            self.fleets.append(fleet)
            if not self.spec.zones:
                for z in getattr(fleet.spec, "zones", None) or fleet.zones() or arch_zones:
                    if z not in zones:
                        zones.append(z)
        self.node_zones = sorted(zones)
        idx = list(ctx.components).index(self.name) % 240
        for z in arch_zones:
            self.node_ip[z] = f"10.0.{arch_zones.index(z)}.{10 + idx}"
        self.nodes_up = [z for z in self.node_zones if ctx.zone_up(z)]
        for fleet in self.fleets:
            fleet.attach(self)
        self.rebuild()

    def start(self) -> None:
        self.started = True
        # Route 53 may route to it inline (Route53.handle): plain round robin over one pool (and,
        # checked there per request, nothing in injected: no filter in front, no fault)
        self.rr_only = self.plain and not self.zonal and self.weights is None and self.direct is not None
        n = self.healthy_count  # registrations during build() do not count as dips
        self.min_healthy = self.max_healthy = self.minute_min = n
        for t in list(self.targets.values()):
            t.start_checks()

    # ---- registration (called by fleets) -------------------------------------------
    def register(self, inst: Any) -> None:
        """``inst`` joins the target group. At time 0 it is healthy; later it must pass one check."""
        t = self.targets.get(id(inst))
        if t is not None and (t.state in REGISTERED or t.state == DRAINING):
            return
        t = Target(self, inst, HEALTHY if self.engine.now <= 0.0 else INITIAL)
        self.targets[id(inst)] = t
        if self.started:
            self.ctx.event("health", f"{self.name}: registered {t.iid} ({t.state})", component=self.name,
                           target=t.iid, state=t.state)
            t.start_checks()
        self.rebuild()

    def deregister(self, inst: Any, then: Callable[[], None]) -> None:
        """Drain ``inst`` and call ``then()`` when it is unused (at once if it is not registered)."""
        t = self.targets.get(id(inst))
        if t is None or t.state not in REGISTERED:
            then()
            return
        t.drain(then)

    def forget(self, t: Target) -> None:
        if self.targets.get(id(t.inst)) is t:
            del self.targets[id(t.inst)]
        self.past_served[t.iid] = self.past_served.get(t.iid, 0) + t.served
        self.rebuild()

    def when_healthy(self, inst: Any, fn: Callable[[], None]) -> None:
        """Call ``fn()`` once ``inst`` is a healthy target (now, if it already is)."""
        t = self.targets.get(id(inst))
        if t is None or t.state == HEALTHY:
            fn()
        else:
            t.waiters.append(fn)

    def target_state(self, inst: Any) -> str:
        t = self.targets.get(id(inst))
        return "unused" if t is None else t.state

    def rebuild(self) -> None:
        """Recompute the pools new requests are spread over (on every state change)."""
        zones = self.node_zones  # a target in a zone the LB is not enabled in gets no traffic
        regs = [t for t in self.targets.values() if t.state in REGISTERED and t.zone in zones]
        healthy = [t for t in regs if t.state == HEALTHY]
        for t in self.targets.values():
            t.routable = False
        if self.zonal:
            self.zpool = {}
            for z in self.node_zones:
                pz = [t for t in healthy if t.zone == z] or [t for t in regs if t.zone == z]  # fail open in zone
                self.zpool[z] = pz
                for t in pz:
                    t.routable = True
        elif self.weights is not None:  # fail open within each target group [aws-facts §1]
            self.gpools = []
            for g in range(len(self.weights)):
                pg = [t for t in healthy if t.group == g] or [t for t in regs if t.group == g]
                self.gpools.append(pg)
                for t in pg:
                    t.routable = True
        else:
            self.pool = healthy or regs  # fail open [aws-facts §1]
            for t in self.pool:
                t.routable = True
        n = len(healthy)
        self.healthy_count = n
        self.min_healthy = n if self.min_healthy is None else min(self.min_healthy, n)
        self.max_healthy = max(self.max_healthy, n)
        self.minute_min = n if self.minute_min is None else min(self.minute_min, n)

    def plain_end(self, wl: Any) -> None:
        """The first such workload: :func:`~cloudtwin.services.elb_routing._served` counts a
        success whose ``done`` is its ``complete`` (checked per request) inline."""
        if self.end_done is None and self.direct is not None:
            self.end_wl, self.end_done = wl, wl.complete

    def has_healthy(self) -> bool:
        return self.healthy_count > 0

    def answers(self) -> bool:
        """Would a request through this LB reach a running target (for DNS health checks)?"""
        if not self.nodes_up:
            return False
        pools = [self.zpool.get(z, []) for z in self.nodes_up] if self.zonal else [self.pool]
        return any(t.inst.up for p in pools for t in p)

    # ---- faults and metrics ---------------------------------------------------------
    def zone_outage(self, zone: str, down: bool) -> None:
        self.nodes_up = [z for z in self.node_zones if self.ctx.zone_up(z)]

    def endpoint_zone(self, caller_zone: str) -> str:
        return caller_zone if caller_zone in self.node_zones else ""

    def zones(self) -> list[str]:
        return list(self.node_zones)

    def on_minute(self, now: float) -> None:
        self.healthy_series.append(self.minute_min if self.minute_min is not None else self.healthy_count)
        self.minute_min = self.healthy_count

    def periodic_events_per_second(self) -> float:
        n = sum(len(f.instances) for f in self.fleets) or len(self.targets)
        return n / self.interval

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out["healthy_targets"] = {"min": self.min_healthy or 0, "max": self.max_healthy,
                                  "now": self.healthy_count}
        out["registered_targets"] = sum(1 for t in self.targets.values() if t.state in REGISTERED)
        out["no_target_errors"] = self.failed_no_target
        out["health_checks"] = {"sent": self.checks_sent, "failed": self.checks_failed}
        out["cross_zone"] = self.cross_zone
        return out

    def series(self) -> dict[str, list[float]]:
        return {"healthy_targets": list(self.healthy_series)}

    def usage(self) -> dict[str, float]:
        return lb_usage(self)[0]

    def unmeasured(self) -> list[dict[str, Any]]:
        return lb_usage(self)[1]

    def usage_notes(self) -> list[str]:
        return lb_usage(self)[2]

    def served_by(self) -> dict[str, int]:
        """Requests forwarded per target instance id, past targets included."""
        out = dict(self.past_served)
        for t in self.targets.values():
            out[t.iid] = out.get(t.iid, 0) + t.served
        return out


class ALB(LoadBalancer):
    kind = "alb"


class NLB(LoadBalancer):
    kind = "nlb"


class CLB(LoadBalancer):
    kind = "clb"
