"""Route 53: DNS records, client-side caching, health checks and routing policies.

A workload whose entry is a ``route53`` component resolves the record named by
its ``host:`` (default: the first record's name) and sends the request to the
answer. Each client caches the answer for the record's TTL in
``client.dns[name] = (expires_at, address)``, so what matters is what clients
hold, not what the zone says:

- ``a:`` record: the instance's current public IP (its Elastic IP if it has
  one; an ``asg`` with ``elastic_ip``: the group's Elastic IP, wherever it is
  associated). TTL 300 s when omitted (assumption: the console's default). We assume
  the record is updated to an instance's new IP the moment it has one (the best
  case); until then it still holds the old IP. A request to an IP that no live
  instance owns fails ``unavailable`` (connection fails), and a client keeps
  using its cached IP until the TTL runs out.
- ``alias:`` record: the load balancer. An alias has no TTL of its own and uses
  the target's [aws-facts §4]; 60 s for an ELB (assumption). It follows ELB IP
  changes automatically [aws-facts §4], so a cached answer stays valid.

Routing over records of one name: ``simple`` (the first), ``failover`` (the
primary while it is healthy, else the secondary; both unhealthy returns the
primary, an assumption), ``weighted`` (by weight among healthy records; weight 0
is never chosen unless all are 0; if none is healthy all are considered). A
record is unhealthy when its health check says so, or, with
``evaluate_target_health``, when its alias LB has no healthy target
[aws-facts §4]. Health checks run every 30 s (standard) or 10 s (fast) and flip
status after ``failure_threshold`` (default 3) consecutive results
[aws-facts §4]; an ``a:`` record's check probes the IP the record holds, an
alias record's check probes through the load balancer.

Left out: resolver latency, intermediate resolvers that cap or stretch TTLs,
negative caching, the 18 % checker aggregation, propagation delay of changes
(generally under 60 s [aws-facts §4]), and the other routing policies.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.pricing.meters import configured
from cloudtwin.request import UNAVAILABLE, Request
from cloudtwin.services.elb_routing import Routing, _forward, _Fwd
from cloudtwin.spec.route53 import R53HealthCheck
from cloudtwin.spec.route53 import Record as RecordSpec
from cloudtwin.spec.route53 import Route53 as Route53Spec

if TYPE_CHECKING:
    from cloudtwin.context import Context

A_TTL: Final = 300.0  # A record TTL when omitted (assumption: the Route 53 console's default)
_new: Final = _Fwd.__new__  # object.__new__ interpreted; compiled, the class's own (no __init__ to run)
ALIAS_ELB_TTL: Final = 60.0  # an alias uses the target's TTL; ELB's is 60 s (assumption) [aws-facts §4]


class _Record:
    """One record's live state: its target and, with a health check, its status."""

    __slots__ = ("spec", "target", "ttl", "last_ip", "healthy", "ok", "bad", "check", "idx")

    def __init__(self, spec: RecordSpec, target: Any, idx: int) -> None:
        self.spec = spec
        self.target = target
        self.ttl = ALIAS_ELB_TTL if spec.alias else (spec.ttl if spec.ttl is not None else A_TTL)
        self.last_ip = ""
        self.healthy = True
        self.ok = 0
        self.bad = 0
        hc = spec.health_check
        self.check: R53HealthCheck | None = R53HealthCheck() if hc is True else (hc or None)
        self.idx = idx

    def address(self) -> Any:
        """What a resolver returns now: an IP string (A) or the load balancer (alias)."""
        if self.spec.alias:
            return self.target
        if self.target.eip:  # an Elastic IP: the record holds it wherever it is associated
            self.last_ip = self.target.eip
            return self.last_ip
        for inst in self.target.instances:
            if inst.public_ip and inst.state == "running":
                self.last_ip = inst.public_ip
                break
        return self.last_ip

    def usable(self) -> bool:
        if not self.healthy:
            return False
        return not (self.spec.alias and self.spec.evaluate_target_health and not self.target.has_healthy())


class Route53(Component):
    """A hosted zone's records and the clients' resolver caches."""

    kind = "route53"
    needs_client = True

    def __init__(self, name: str, spec: Route53Spec, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.default = spec.records[0].name
        self.records: list[_Record] = []
        self.by_name: dict[str, list[_Record]] = {}
        self.single = len({r.name for r in spec.records}) == 1
        # names answered by simple routing with an alias record: the answer is the record's
        # load balancer, whatever the time (serve's inlined resolve)
        self.alias_of: dict[str, _Record] = {}
        self.pick = uniform_sampler(ctx.stream(f"{name}.weighted"))
        self.queries = 0
        self.alias_queries = 0  # free when the alias targets an AWS resource [aws-facts §4]
        self.dead_ip = 0
        self.hot = ctx.engine.hot()
        self.fail_wl: Any = None  # the workload whose failures handle counts inline (plain_end)
        self.fail_done: Any = None  # its `complete`

    def build(self) -> None:
        for i, r in enumerate(self.spec.records):
            rec = _Record(r, self.ctx.components[r.alias or r.a or ""], i)
            self.records.append(rec)
            self.by_name.setdefault(r.name, []).append(rec)
            if not r.alias:
                rec.address()  # the IP the record holds at the start
        for name, recs in self.by_name.items():
            first = recs[0]
            if first.spec.routing not in ("failover", "weighted") and first.spec.alias:
                self.alias_of[name] = first

    def start(self) -> None:
        for rec in self.records:
            if rec.check is not None:
                gen = self.ctx.stream(f"{self.name}.health[{rec.idx}]")
                self.engine.after(float(gen.random()) * rec.check.interval, self._check, rec)

    # ---- health checks ---------------------------------------------------------------
    def _check(self, rec: _Record) -> None:
        assert rec.check is not None
        self.engine.after(rec.check.interval, self._check, rec)
        if rec.spec.alias:
            passed = bool(rec.target.answers())
        else:
            owner = self.ctx.addresses.owner.get(rec.address())
            passed = owner is not None and owner.up
        thr = rec.check.failure_threshold  # flips status either way [aws-facts §4]
        if passed:
            rec.bad = 0
            rec.ok += 1
            flip = not rec.healthy and rec.ok >= thr
        else:
            rec.ok = 0
            rec.bad += 1
            flip = rec.healthy and rec.bad >= thr
        if flip:
            rec.healthy = not rec.healthy
            state = "healthy" if rec.healthy else "unhealthy"
            what = rec.spec.failover or (f"weight {rec.spec.weight}" if rec.spec.weight is not None else "")
            self.ctx.event("health", f"{self.name}: record {rec.spec.name} ({what or 'simple'}) {state}",
                           component=self.name, record=rec.spec.name, state=state)

    # ---- resolution -----------------------------------------------------------------
    def resolve(self, name: str) -> tuple[Any, float]:
        """The answer a resolver gets for ``name`` now: (address, ttl)."""
        self.queries += 1
        recs = self.by_name[name]
        first = recs[0]
        routing = first.spec.routing
        if routing == "failover":
            prim = [r for r in recs if r.spec.failover == "primary"]
            sec = [r for r in recs if r.spec.failover == "secondary"]
            chosen = next((r for r in prim + sec if r.usable()), prim[0] if prim else first)
        elif routing == "weighted":
            cands = [r for r in recs if r.usable()] or recs
            pos = [r for r in cands if (r.spec.weight or 0) > 0]
            pool = pos or cands
            weights = [float(r.spec.weight or 0) for r in pool] if pos else [1.0] * len(pool)
            x = self.pick() * sum(weights)
            chosen = pool[-1]
            for r, w in zip(pool, weights, strict=True):
                if x < w:
                    chosen = r
                    break
                x -= w
        else:
            chosen = first
        if chosen.spec.alias:
            self.alias_queries += 1
        return chosen.address(), chosen.ttl

    def serve(self, req: Request, op: str, done: Any, arg: Any = None) -> None:
        """Answer a request whose injected faults (if any) have passed: :meth:`handle` without them."""
        self.handle(req, op, done, arg, False)

    def handle(self, req: Request, op: str, done: Any, arg: Any = None, faults: bool = True) -> None:
        """The entry every caller uses, :meth:`Component.handle` with the serve body inline (one
        frame fewer per request): injected faults first (``faults``; :meth:`serve` passes False
        once they have passed), then the client's cached answer or a resolution, then the
        request goes to the answer.

        An answer that is a load balancer routing by plain round robin over one pool
        (``rr_only``, decided in its ``start``: no stickiness, least outstanding requests, slow
        start, weights or NLB flow hash, cross-zone on) with nothing in its ``injected`` steps now
        (no filter in front of it, no injected fault) is routed here: the body of
        :meth:`Routing.handle <cloudtwin.services.elb_routing.Routing.handle>` for that case,
        written out (keep in step with it), so the request skips the LB's ``handle`` frame. It
        counts, picks, makes the same ``_Fwd`` and pushes the same heap entry."""
        if faults and self.injected:
            Component.handle(self, req, op, done, arg)
            return
        self.requests += 1
        name = op or self.default  # a workload passes its `host:` as the operation
        c = req.client
        if c is None:
            addr = self.resolve(name)[0]
        else:
            now = self.engine.now
            try:
                ent = c.dns[name]
            except KeyError:
                ent = None
            if ent is None or ent[0] <= now:
                rec = self.alias_of.get(name)
                if rec is not None:  # resolve(name) for a simple alias, inlined
                    self.queries += 1
                    self.alias_queries += 1
                    addr = rec.target
                    c.dns[name] = (now + rec.ttl, addr)
                else:
                    addr, ttl = self.resolve(name)
                    c.dns[name] = (now + ttl, addr)
            else:
                addr = ent[1]
        if addr.__class__ is not str and addr.rr_only and not addr.injected:
            # the load balancer's handle for plain round robin over one pool, inline (see the docstring)
            lb: Routing = addr  # declared, so compiled code reads its fields directly
            lb.requests += 1
            pool = lb.pool if lb.nodes_up else []
            n = len(pool)
            if n == 0:
                lb.errors += 1
                lb.failed_no_target += 1
                if done is self.fail_done and not req.finished:
                    # WorkloadRun._complete's failure for a workload without sessions, retries or
                    # a request count to stop at (plain_end), inline: keep in step with it
                    wl = self.fail_wl
                    req.finished = True
                    wl.failed += 1
                    wl.errors[UNAVAILABLE] += 1
                    wl.minute_err += 1
                else:
                    done(req, UNAVAILABLE)
                return
            lb.rr = rr = lb.rr + 1
            t = pool[rr % n]
            t.outstanding += 1
            t.served += 1
            now = self.engine.now
            f = _new(_Fwd)
            f.lb, f.t, f.req, f.done, f.t_in = lb, t, req, done, now
            if lb.delay is None:
                _forward(f)
            else:
                f.prev = None
                heap, seq = self.hot
                heappush(heap, (now + lb.delay(), next(seq), _forward, f))
            return
        if addr.__class__ is str:
            owner = self.ctx.addresses.owner.get(addr)
            if owner is None:  # nothing answers at that IP any more
                self.errors += 1
                self.dead_ip += 1
                done(req, UNAVAILABLE)
                return
            owner.handle(req, "", done, arg)
        else:
            addr.handle(req, "", done, arg)

    def plain_end(self, wl: Any) -> None:
        """Its alias targets get ``wl``'s requests with ``wl.complete`` as their ``done``; the
        first such workload without retries has a request that finds no target counted in
        :meth:`handle` (an outage fails every request there)."""
        for rec in self.alias_of.values():
            rec.target.plain_end(wl)
        if self.fail_done is None and not wl.spec.retries:
            self.fail_wl, self.fail_done = wl, wl.complete

    def endpoint_zone(self, caller_zone: str) -> str:
        return ""

    def periodic_events_per_second(self) -> float:
        return sum(1.0 / r.check.interval for r in self.records if r.check is not None)

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out["queries"] = self.queries
        out["dead_ip_errors"] = self.dead_ip
        out["records"] = {f"{r.spec.name}#{r.idx}": ("healthy" if r.healthy else "unhealthy") for r in self.records}
        return out

    def usage(self) -> dict[str, float]:
        """The hosted zone and health checks over the window (:mod:`cloudtwin.pricing.meters`),
        and the queries resolvers sent (a client's cached answer sends none); queries answered
        from an alias record are free [aws-facts §4]."""
        out = configured(self.spec, self.ctx.arch, self.engine.now / 3600.0)
        alias = self.alias_queries
        if self.queries - alias > 0:
            out["DNS-Queries"] = float(self.queries - alias)
        if alias:
            out["DNS-Queries-Alias"] = float(alias)
        return out
