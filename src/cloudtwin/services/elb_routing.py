"""Elastic Load Balancing: how a load balancer routes one request (its per-request path).

:class:`Routing` holds the methods of :class:`cloudtwin.services.elb.LoadBalancer` that run
per request: the pool the request may go to (one pool with cross-zone on, the pool of the
node the client enters with it off, or a weighted target group's), the target picked in it
(round robin, least outstanding requests, a flow hash, slow start, stickiness), and the
forward to that target with its reply. The rules and their sources are in
:mod:`cloudtwin.services.elb`'s docstring; the target states in
:mod:`cloudtwin.services.elb_health`.
"""

from __future__ import annotations

import zlib
from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component
from cloudtwin.handler import Run
from cloudtwin.metrics import BATCH
from cloudtwin.request import UNAVAILABLE, Request
from cloudtwin.services.elb_health import DRAINING, Target

if TYPE_CHECKING:
    from collections.abc import MutableSequence

APP_COOKIE_EXPIRY: Final = 7 * 86_400.0  # AWSALBAPP-n has a fixed 7-day expiry [aws-facts §1]
HASH_MEMO_MAX = 65_536  # client addresses whose node hash is remembered (cleared when full)


class _Fwd:
    """One request forwarded to a target: counts it outstanding until it answers. Made once per
    request by :meth:`LoadBalancer.serve` as ``_new(_Fwd)`` with its fields set there (a class
    call with a Python ``__init__`` costs more); :func:`_forward` sends it after the LB's latency.
    ``t_at``: when a request served straight on the instance (:func:`_forward`) took its worker."""

    __slots__ = ("lb", "t", "req", "done", "t_in", "prev", "t_at")
    lb: Routing
    t: Target
    req: Request
    done: Any
    t_in: float
    prev: Any
    t_at: float

    def reply(self, req: Request, err: str | None) -> None:
        """The target's answer: counted, then the caller's ``done``; a success of the workload
        registered with the LB is counted here instead, as in :func:`_served`."""
        t = self.t
        t.outstanding -= 1
        req.via = self.prev
        lb = self.lb
        if err is None:
            now = lb.engine.now
            b = lb.lat_buf
            b.append(now - self.t_in)
            if len(b) >= BATCH:
                lb.latency.flush()
            done = self.done
            if done is lb.end_done and not req.finished:
                wl = lb.end_wl  # WorkloadRun._complete's success, inline: keep in step with it
                req.finished = True
                wl.succeeded += 1
                b = wl.lat_buf
                b.append(now - req.t0)
                if len(b) >= BATCH:
                    wl.minute_hist.flush()
            else:
                done(req, None)
        else:
            lb.errors += 1
            self.done(req, err)
        if t.state is DRAINING and t.outstanding == 0:
            t.finish()


_new: Final = _Fwd.__new__  # object.__new__ interpreted; compiled, the class's own (no __init__ to run)


def _forward(f: _Fwd) -> None:
    """The engine callback that forwards ``f`` after the LB's processing time, scheduled as
    ``(t, seq, _forward, f)``: no bound method is made per request.

    A request that :meth:`Instance.handle <cloudtwin.services.instance.Instance.handle>` would
    serve on its one-cpu-step fast path with a free worker (a plain :class:`Instance`, live, the
    request without a session) takes the worker here, with the same draw and the same heap entry
    time and seq; its end is :func:`_served` with this ``_Fwd``, not the instance's ``_fast_done``
    with a job whose ``done`` is :meth:`_Fwd.reply`. That skips two frames per request (the
    instance's ``handle`` and the reply) and the job tuple and the bound method. Every other case
    (queued, refused, dead, session, a screened instance, ``lb.direct`` None) goes through
    ``handle`` as before. A request ``Instance.handle`` would serve with a
    :class:`~cloudtwin.handler.Run` (a handler that is not one cpu step, or a session whose
    state is on this instance or not yet anywhere) gets its ``Run`` here too: one frame fewer."""
    req = f.req
    f.prev = req.via
    lb = f.lb
    t = f.t
    if lb.proxy:
        req.via = t.via
    inst = t.inst
    if inst.__class__ is lb.direct and inst.live:
        s = req.session
        if s is None and inst.fast is not None:
            if inst.busy < inst.slots:
                inst.active += 1  # Instance.handle's fast path with a free worker: keep in step with it
                seconds = inst.fast()
                now = lb.engine.now
                inst.occ -= now
                inst.bacc -= now
                inst.busy += 1
                f.t_at = now
                heap, seq = lb.hot
                heappush(heap, (now + seconds, next(seq), _served, f))
                return
        elif s is None or (s.mode == "instance" and (not s.has_state or s.home is inst)):
            inst.active += 1  # Instance.handle's general path (its session found): keep in step with it
            now = lb.engine.now
            inst.occ -= now
            Run(inst, req, f.reply, inst.steps, now).advance()
            return
    inst.handle(req, "", f.reply, None)


def _served(f: _Fwd) -> None:
    """The end of a request :func:`_forward` started on an instance: ``Instance._fast_done`` then
    :meth:`_Fwd.reply`, in one frame, doing what they do in the same order (the worker's release,
    which may start the next queued job; the instance's counters and latency; then the target's,
    the LB's and the caller's ``done``). Keep in step with both.

    A success whose ``done`` is the ``complete`` of the workload that registered with the LB
    (:meth:`LoadBalancer.plain_end`: no sessions, no request count to stop at) is counted here
    as :meth:`WorkloadRun._complete <cloudtwin.workloads.WorkloadRun._complete>` counts it (a
    request already finished goes to ``_complete``, which knows what to do): a third frame
    skipped."""
    t = f.t
    inst = t.inst
    lb = f.lb
    now = lb.engine.now
    q = inst.queue
    live = inst.live
    if q and live:  # Workers.release(), as _fast_done inlines it
        cb, nxt, tq = q.popleft()
        heap, seq = lb.hot
        heappush(heap, (now + tq, next(seq), cb, nxt))
    else:
        inst.bacc += now
        inst.busy -= 1
    inst.active -= 1
    inst.occ += now
    owner = inst.owner
    owner.requests += 1
    req = f.req
    if live:
        b = owner.lat_buf
        b.append(now - f.t_at)
        if len(b) >= BATCH:
            owner.latency.flush()
        t.outstanding -= 1
        req.via = f.prev
        b = lb.lat_buf
        b.append(now - f.t_in)
        if len(b) >= BATCH:
            lb.latency.flush()
        done = f.done
        if done is lb.end_done and not req.finished:
            # WorkloadRun._complete's success for a workload without sessions or a request
            # count to stop at (plain_end), inline: keep in step with it
            wl = lb.end_wl
            req.finished = True
            wl.succeeded += 1
            b = wl.lat_buf
            b.append(now - req.t0)
            if len(b) >= BATCH:
                wl.minute_hist.flush()
        else:
            done(req, None)
    else:
        owner.errors += 1
        t.outstanding -= 1
        req.via = f.prev
        lb.errors += 1
        f.done(req, UNAVAILABLE)
    if t.state is DRAINING and t.outstanding == 0:
        t.finish()


class Routing(Component):
    """The per-request methods of :class:`~cloudtwin.services.elb.LoadBalancer` (its attributes)."""

    failed_no_target: int
    weights: list[float] | None
    group_draw: Any
    gpools: list[list[Target]]
    zonal: bool
    pool: list[Target]
    zpool: dict[str, list[Target]]
    nodes_up: list[str]
    plain: bool
    sticky: str | None
    sticky_duration: float
    lor: bool
    slow_start: float
    slow_draw: Any
    flow_hash: Any
    by_ip: dict[str, Target]
    rr: int
    zrr: int
    delay: Any
    proxy: bool
    end_done: Any
    end_wl: Any
    direct: Any  # Instance (a type, or None): _forward may serve a request on one itself (None: never)
    hot: tuple[list[Any], Any]
    lat_buf: MutableSequence[float]
    ip_hash: dict[str, int]

    def serve(self, req: Request, op: str, done: Any, arg: Any = None) -> None:
        """Route a request whose injected faults (if any) have passed: :meth:`handle` without them."""
        self.handle(req, op, done, arg, False)

    def handle(self, req: Request, op: str, done: Any, arg: Any = None, faults: bool = True) -> None:
        """The entry every caller uses, :meth:`Component.handle` with the serve body inline (one
        frame fewer per request): filters in front and injected faults first (``faults``; :meth:`serve` passes False
        once they have passed), then the pool, the target and the forward."""
        if faults and self.injected:
            Component.handle(self, req, op, done, arg)
            return
        self.requests += 1
        if self.weights is not None:
            pool = self._group_pool() if self.nodes_up else []
        else:
            pool = self._zone_pool(req) if self.zonal else (self.pool if self.nodes_up else [])
        n = len(pool)
        if n == 0:  # no target: unavailable (_fail, inline: during an outage it is every request)
            self.errors += 1
            self.failed_no_target += 1
            done(req, UNAVAILABLE)
            return
        if self.plain:
            self.rr = rr = self.rr + 1
            t = pool[rr % n]
        elif self.sticky is not None and (c := req.client) is not None:
            # _sticky's commonest case, inline: an unexpired lb_cookie for a routable target
            # with cross-zone on, whose expiry is reset (the same outcome; any other case asks _sticky)
            ent = c.cookies.get(self.name) if self.sticky == "lb_cookie" and not self.zonal else None
            now = self.engine.now
            if ent is not None and ent[1] > now and ent[0].routable:
                t = ent[0]
                c.cookies[self.name] = (t, now + self.sticky_duration)  # [aws-facts §1]
            else:
                t = self._sticky(req, pool)
        else:
            t = self._pick(pool)
        t.outstanding += 1
        t.served += 1
        now = self.engine.now
        f = _new(_Fwd)
        f.lb, f.t, f.req, f.done, f.t_in = self, t, req, done, now
        if self.delay is None:
            _forward(f)
        else:
            f.prev = None
            heap, seq = self.hot
            heappush(heap, (now + self.delay(), next(seq), _forward, f))

    def _zone_pool(self, req: Request) -> list[Target]:
        """The pool of the LB node the request enters (cross-zone off)."""
        up = self.nodes_up
        if not up:
            return []
        c = req.client
        if c is not None:
            h = self.ip_hash.get(c.ip)
            if h is None:  # zlib.crc32 of the address, remembered (the memo is cleared when full)
                if len(self.ip_hash) >= HASH_MEMO_MAX:
                    self.ip_hash.clear()
                h = self.ip_hash[c.ip] = zlib.crc32(c.ip.encode())
            z = up[h % len(up)]
        else:
            self.zrr += 1
            z = up[self.zrr % len(up)]
        return self.zpool[z]

    def _group_pool(self) -> list[Target]:
        """The pool of a target group drawn in proportion to the weights."""
        w = self.weights
        assert w is not None and self.group_draw is not None
        x = self.group_draw() * sum(w)
        for g, wg in enumerate(w):
            if x < wg:
                return self.gpools[g]
            x -= wg
        return self.gpools[-1]

    def _pick(self, pool: list[Target]) -> Target:
        n = len(pool)
        if self.flow_hash is not None:
            return pool[int(self.flow_hash() * n)]
        self.rr = k = self.rr + 1
        if self.slow_draw is not None:
            # a target in slow start takes its turn with probability (time in slow start) / duration,
            # so its share rises linearly [aws-facts §1 Slow start (ALB)]
            now = self.engine.now
            d = self.slow_start
            for i in range(n):
                t = pool[(k + i) % n]
                if t.slow_until <= now or self.slow_draw() * d < d - (t.slow_until - now):
                    return t
            return pool[k % n]
        if not self.lor:
            return pool[k % n]
        best = pool[k % n]
        for i in range(1, n):
            t = pool[(k + i) % n]
            if t.outstanding < best.outstanding:
                best = t
        return best

    def _sticky(self, req: Request, pool: list[Target]) -> Target:
        zone = pool[0].zone if self.zonal else None
        if self.sticky == "source_ip":
            key = req.src_ip
            t = self.by_ip.get(key)
            if t is None or not t.routable or (zone is not None and t.zone != zone):
                t = self.by_ip[key] = self._pick(pool)
            return t
        now = self.engine.now
        cookies = req.client.cookies  # type: ignore[union-attr]
        ent = cookies.get(self.name)
        lb_cookie = self.sticky == "lb_cookie"
        if ent is not None and ent[1] > now:
            t = ent[0]
            if t.routable and (zone is None or t.zone == zone):
                if lb_cookie:
                    cookies[self.name] = (t, now + self.sticky_duration)  # reset on every request [aws-facts §1]
                return t  # type: ignore[no-any-return]
        t = self._pick(pool)  # a new target, and the cookie is rewritten [aws-facts §1]
        cookies[self.name] = (t, now + (self.sticky_duration if lb_cookie else APP_COOKIE_EXPIRY))
        return t
