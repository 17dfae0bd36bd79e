"""Workloads: arrival processes, rate profiles, clients and sessions.

Arrivals are Poisson (non-homogeneous ones by thinning against the profile's
peak) or evenly spaced. Each request comes from a client with its own resolver
cache and cookies. A session-based workload starts *users* at ``rate``; each
sends ``sessions.requests`` requests one after another with think time between.
A request that fails for any reason other than ``session_lost`` lets the user
carry on; ``session_lost`` ends the session, which then counts as lost. With
``retries``, the client (an SDK) resends a request that failed with a retryable
kind (timeout, throttled, unavailable, server_error) after an exponential backoff
with full jitter; the request counts once, with its latency from the first try.

Rate profiles are in :mod:`cloudtwin.workloads_profiles`, thinned arrivals in
:mod:`cloudtwin.workloads_thinning`.

Metrics are streamed: per-minute counters and a per-minute latency histogram
that is folded into the workload total when the minute closes.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.engine import StopSimulation, make_sampler, stream
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.errors import InvariantViolation
from cloudtwin.metrics import BATCH, Histogram
from cloudtwin.origins import AttackRun, Population
from cloudtwin.request import (
    ERROR_KINDS,
    SERVER_ERROR,
    SESSION_LOST,
    THROTTLED,
    TIMEOUT,
    UNAVAILABLE,
    Batch,
    Client,
    Request,
    Session,
    new_request,
)
from cloudtwin.services.instance import COOKIE_LIMIT
from cloudtwin.spec.schema import Sources, Workload
from cloudtwin.workloads_profiles import profile_factor
from cloudtwin.workloads_stats import workload_stats
from cloudtwin.workloads_thinning import Thinning

if TYPE_CHECKING:
    from cloudtwin.simulation import Simulation

__all__ = ["WorkloadRun", "make_sampler_exp", "profile_factor"]  # profile_factor: its old home

_new: Final = Request.__new__  # object.__new__ interpreted; compiled, the class's own (__init__'s defaults)
_TIMED_OUT = "timed-out"
_RETRYABLE = frozenset((TIMEOUT, THROTTLED, UNAVAILABLE, SERVER_ERROR))  # what an SDK retries
_STATE_GONE = ("terminated", "stopped")  # instance states that wipe in-memory session state
_MINUTE_QS: Final = (0.5, 0.9, 0.99)  # the per-minute series' quantiles


class WorkloadRun(Thinning):
    """The live traffic of one spec workload."""
    # what an instance sets, as slots: past 29 attributes in its __dict__ every access slows
    # (tests/test_attribute_layout.py); the base's __dict__ takes the rest (a wrapper's handle)
    __slots__ = ('name', 'spec', 'sim', 'engine', 'entry', 'op', 'arg', 'f', 'fmax', 'peak_rate', 'gap',
                 'accept', 'pick', 'needs_client', 'population', 'attack', 'auth_foreign', 'auth_u', 'foreign',
                 'clients', 'n_clients', 'complete', 'complete_bare', 'counting', 'arrive', 'hot', 'simple',
                 'retry_jitter', 'retries', 'max_tries', 'backoff', 'resend', 'requests', 'succeeded', 'failed',
                 'errors', 'total', 'minute_hist', 'lat_buf', 'minute_req', 'minute_err', 'series_req',
                 'series_err', 'series_p99', 'series_p50', 'series_p90', 'think', 'store', 'cookie_ok',
                 'sessions_started', 'sessions_completed', 'sessions_lost', 'live_sessions', 'next_in_session',
                 'open', 'expiry', 'go', 'thinned')

    def __init__(self, name: str, spec: Workload, sim: Simulation) -> None:
        self.name = name
        self.spec = spec
        self.sim = sim
        self.engine = sim.engine
        self.entry = sim.components[spec.entry]
        self.op = spec.host or spec.op or ""  # a route53 entry: the name to resolve; else the operation
        self.arg: Any = self.entry.producer_arg(name, spec)  # queues and topics: a message factory
        if spec.batch is not None:
            self.arg = Batch(spec.batch, self.arg)  # each request is one call of that many entries
        seed = sim.seed
        self.f, self.fmax = profile_factor(spec.profile, sim.horizon or 3600.0, sim.arch.base_dir)
        peak = spec.rate * self.fmax
        self.peak_rate = peak
        if spec.arrivals == "poisson" and peak > 0:
            self.gap = make_sampler_exp(1.0 / peak, stream(seed, f"workload.{name}.arrivals"))
        else:
            self.gap = None
        self.accept = uniform_sampler(stream(seed, f"workload.{name}.thinning"))
        self.pick = uniform_sampler(stream(seed, f"workload.{name}.clients"))
        self.needs_client = (self.entry.needs_client or spec.sessions is not None or spec.auth is not None
                             or spec.sources is not None or spec.attack is not None)
        # traffic origins (cloudtwin.origins): addresses and countries; attackers beside the workload
        origins = spec.sources if spec.sources is not None else Sources() if spec.attack is not None else None
        self.population = Population(origins, seed, name) if origins is not None else None
        self.attack = AttackRun(self, spec.attack, seed) if spec.attack is not None else None
        # identity (auth:): each request acts for its client's user; `foreign` of them address another's data
        self.auth_foreign = spec.auth.foreign if spec.auth is not None else -1.0
        self.auth_u = uniform_sampler(stream(seed, f"workload.{name}.auth")) if spec.auth is not None else None
        self.foreign = 0  # requests sent for another user's data
        self.clients: dict[int, Client] = {}
        self.n_clients = spec.clients
        self.complete = self._complete
        self.complete_bare = self._complete_bare
        self.counting = sim.remaining is not None  # stop after a number of completed requests
        self.arrive = self._arrive
        self.hot = sim.engine.hot()
        self.simple = not self.needs_client and spec.timeout is None
        # client retries (an SDK's): a request's resends so far are its `tries` (set on its first)
        self.retry_jitter = uniform_sampler(stream(seed, f"workload.{name}.retries")) if spec.retries else None
        self.retries = 0
        self.max_tries, self.backoff = spec.retries, spec.backoff  # read per retry
        self.resend = self._resend  # bound once: pushed with every resend
        self.requests = 0  # counters
        self.succeeded = 0
        self.failed = 0
        self.errors = dict.fromkeys(ERROR_KINDS, 0)
        self.total = Histogram()
        self.minute_hist = Histogram()
        self.lat_buf = self.minute_hist.buffer
        self.minute_req = 0
        self.minute_err = 0
        self.series_req: list[int] = []
        self.series_err: list[int] = []
        self.series_p99: list[float] = []
        self.series_p50: list[float] = []
        self.series_p90: list[float] = []
        # sessions
        ss = spec.sessions
        self.think = make_sampler(ss.think, stream(seed, f"workload.{name}.think")) if ss else None
        self.store = sim.components[ss.store] if ss and ss.store else None
        self.cookie_ok = ss is None or ss.state != "cookie" or ss.cookie_size <= COOKIE_LIMIT
        self.sessions_started = 0
        self.sessions_completed = 0
        self.sessions_lost = 0
        self.live_sessions: dict[int, Session] = {}
        self.next_in_session = self._next_in_session
        self.open = True
        # the client's timeout (spec.timeout): its engine timer, shared by every request
        self.expiry = sim.engine.timer(spec.timeout) if spec.timeout is not None else None
        # what an arrival sends, decided once: a plain request, a session, a client's request, or
        # an anonymous one with a timeout
        self.go = (self._go_simple if self.simple else self._start_session if ss is not None
                   else self._go_client if self.needs_client else self._go_anonymous)

    # ---- arrivals -----------------------------------------------------------
    def start(self) -> None:
        spec = self.spec
        if self.simple and self.f is None and self.gap is not None:
            bare = self.entry.accepts_bare and not spec.retries
            self.arrive = self._arrive_bare if bare else self._arrive_poisson
        elif (self.f is None and self.gap is not None and spec.sessions is None and spec.timeout is None
              and self.auth_u is None and self.population is None):
            self.arrive = self._arrive_client
        elif self.f is not None and self.gap is not None:  # a profile: Poisson arrivals, thinned
            self.arrive = self._arrive_thinned
            self.thinned = self.engine.ghosts()
            self._look_ahead(self.engine.now + self.gap())
        if spec.sessions is None and not self.counting:
            self.entry.plain_end(self)  # a success only counts (WorkloadRun._complete)
        if self.peak_rate > 0 and self.arrive != self._arrive_thinned:
            self.engine.after(self._next_gap(), self.arrive)
        if self.attack is not None:
            self.attack.start()

    def _arrive_poisson(self, _: object = None) -> None:
        """The common case, kept lean: Poisson arrivals at a constant rate, no clients."""
        heap, seq = self.hot
        now = self.engine.now
        heappush(heap, (now + self.gap(), next(seq), self.arrive, None))
        self.requests += 1
        self.entry.handle(new_request(now, None, None), self.op, self.complete, self.arg)

    def _arrive_bare(self, _: object = None) -> None:
        """As :meth:`_arrive_poisson`, for an entry that takes bare requests: the request
        is just its start time (no client, session, proxy or timeout to carry)."""
        heap, seq = self.hot
        now = self.engine.now
        heappush(heap, (now + self.gap(), next(seq), self.arrive, None))
        self.requests += 1
        entry: Any = self.entry  # a bare start time where a Request is declared (checked, compiled)
        entry.handle(now, self.op, self.complete_bare, None)

    def _arrive_client(self, _: object = None) -> None:
        """As :meth:`_arrive` for Poisson arrivals at a constant rate from plain clients (no
        session, timeout, identity or origins), inlined: the next arrival is pushed, then
        :meth:`_client`'s draw picks the client and :meth:`send`'s request goes out, with the
        same draws in the same order and the same heap entry as the general path. The request
        is made as :func:`new_request` makes it, here (one call less per request)."""
        heap, seq = self.hot
        now = self.engine.now
        heappush(heap, (now + self.gap(), next(seq), self.arrive, None))
        cid = int(self.pick() * self.n_clients)
        clients = self.clients
        try:
            c = clients[cid]
        except KeyError:
            c = self._new_client(cid)
        self.requests += 1
        r: Request = _new(Request)
        r.t0 = now
        r.client = c
        r.session = None
        r.finished = False
        r.via = None
        r.user = None
        self.entry.handle(r, self.op, self.complete, self.arg)

    def _next_gap(self) -> float:
        if self.gap is not None:
            return float(self.gap())
        rate = self.spec.rate * (self.f(self.engine.now) if self.f else 1.0)
        return 1.0 / rate if rate > 0 else 1.0

    def _arrive(self, _: object = None) -> None:
        if not self.open:
            return
        gap = self.gap
        eng = self.engine
        eng.after(gap() if gap is not None else self._next_gap(), self.arrive)
        f = self.f
        if f is not None:
            if gap is not None and self.accept() * self.fmax >= f(eng.now):
                return  # thinned: the profile is below its peak now
            if gap is None and f(eng.now) <= 0:
                return
        self.go()

    def _go_simple(self) -> None:
        """An arrival's request goes out: no client, session or timeout to carry."""
        self.requests += 1
        self.entry.handle(new_request(self.engine.now, None, None), self.op, self.complete, self.arg)

    def _go_client(self) -> None:
        """An arrival's request from a client, with no session: :meth:`_client`, then
        :meth:`send`, in one frame. The same draws in the same order (the client, its country
        when it is new, then the identity), the same timeout and the same request."""
        cid = int(self.pick() * self.n_clients)
        clients = self.clients
        try:
            c = clients[cid]
        except KeyError:
            c = self._new_client(cid)
        r: Request = _new(Request)  # new_request(now, c, None), inline
        r.t0 = self.engine.now
        r.client = c
        r.session = None
        r.finished = False
        r.via = None
        r.user = None
        self.requests += 1
        if self.auth_u is not None:
            r.user = self._identity(c.uid)
        if self.expiry is not None:
            self.expiry.start(self._expire, r)
        self.entry.handle(r, self.op, self.complete, self.arg)

    def _go_anonymous(self) -> None:
        """An arrival's request without a client, with a timeout."""
        self.send(None, None)

    def _client(self) -> Client:
        n = self.spec.clients
        cid = int(self.pick() * n)
        c = self.clients.get(cid)
        return c if c is not None else self._new_client(cid)

    def _new_client(self, cid: int) -> Client:
        """Client ``cid``'s first request: it is made (from the population when there is one,
        drawing its country) and kept in the client table."""
        pop = self.population
        c = self.clients[cid] = (Client(f"198.18.{cid // 256 % 256}.{cid % 256}", cid) if pop is None
                                 else pop.client(cid))
        return c

    def _start_session(self) -> None:
        ss = self.spec.sessions
        assert ss is not None
        self.sessions_started += 1
        sid = self.sessions_started
        base = self._client()
        s = Session(sid, Client(base.ip, base.uid, base.country, base.tally), ss.requests, ss.state, self.store,
                    self.cookie_ok)
        self.live_sessions[sid] = s
        self.send(s.client, s)

    def _next_in_session(self, s: Session) -> None:
        """The session's next request goes out: :meth:`send` with :func:`new_request` written
        out (two frames fewer per request), the same request, identity and timeout."""
        c = s.client
        r: Request = _new(Request)
        r.t0 = self.engine.now
        r.client = c
        r.session = s
        r.finished = False
        r.via = None
        r.user = None
        self.requests += 1
        if self.auth_u is not None:
            r.user = self._identity(c.uid)
        if self.expiry is not None:
            self.expiry.start(self._expire, r)
        self.entry.handle(r, self.op, self.complete, self.arg)

    # ---- requests -----------------------------------------------------------
    def send(self, client: Client | None, session: Session | None) -> None:
        req = new_request(self.engine.now, client, session)
        self.requests += 1
        if self.auth_u is not None and client is not None:
            req.user = self._identity(client.uid)
        if self.expiry is not None:
            self.expiry.start(self._expire, req)
        self.entry.handle(req, self.op, self.complete, self.arg)

    def _identity(self, uid: int) -> tuple[int, int]:
        """(caller, owner): the caller's own data, except for the ``foreign`` share (another user's)."""
        u = self.auth_u()  # type: ignore[misc]
        if u >= self.auth_foreign:
            return uid, uid
        self.foreign += 1
        n = self.spec.clients
        other = (uid + 1 + int(u / self.auth_foreign * (n - 1))) % n if n > 1 else uid + 1
        return uid, other

    def _expire(self, req: Request) -> None:
        if not req.finished:
            self._complete(req, TIMEOUT, retry=False)  # the client gives up: no retry after its timeout
            req.finished = _TIMED_OUT

    def _complete_bare(self, t0: float, err: str | None) -> None:
        """Count one completion (the whole of it for a bare request). A double completion of
        a bare request cannot be caught per request; it would break the end-of-run identity
        requests = succeeded + failed + in flight."""
        if err is None:
            self.succeeded += 1
            b = self.lat_buf
            b.append(self.engine.now - t0)
            if len(b) >= BATCH:
                self.minute_hist.flush()
        else:
            self.failed += 1
            self.errors[err] += 1
            self.minute_err += 1
        if self.counting:
            sim = self.sim
            sim.remaining -= 1  # type: ignore[operator]
            if sim.remaining <= 0:
                raise StopSimulation

    def _complete(self, req: Request, err: str | None, retry: bool = True) -> None:
        if req.finished:
            if req.finished is _TIMED_OUT:
                return  # the reply came after the client gave up
            raise InvariantViolation(f"workload {self.name}: a request completed twice")
        if self.retry_jitter is not None and retry and err in _RETRYABLE and self._retry(req):
            return
        req.finished = True
        # the counting, as _complete_bare(req.t0, err) does it (inlined: one call less per request)
        if err is None:
            self.succeeded += 1
            b = self.lat_buf
            b.append(self.engine.now - req.t0)
            if len(b) >= BATCH:
                self.minute_hist.flush()
        else:
            self.failed += 1
            self.errors[err] += 1
            self.minute_err += 1
        if self.counting:
            sim = self.sim
            sim.remaining -= 1  # type: ignore[operator]
            if sim.remaining <= 0:
                raise StopSimulation
        # the session bookkeeping
        s = req.session
        if s is not None:
            home = s.home
            if err == SESSION_LOST or (home is not None and s.mode == "instance" and home.state in _STATE_GONE):
                # The state is gone: either a request already found it missing, or the
                # instance holding it in memory was terminated/stopped under this session.
                s.lost = True
                self.sessions_lost += 1
                del self.live_sessions[s.sid]
                return
            s.remaining -= 1
            if s.remaining <= 0:
                self.sessions_completed += 1
                del self.live_sessions[s.sid]
            else:
                assert self.think is not None
                heap, seq = self.hot  # engine.after(think(), self._next_in_session, s), inlined
                heappush(heap, (self.engine.now + self.think(), next(seq), self.next_in_session, s))

    def _retry(self, req: Request) -> bool:
        """Resend ``req`` after a backoff if it has retries left (True), else let it fail."""
        n = getattr(req, "tries", 0)  # unset until its first resend: no request pays for it
        if n >= self.max_tries:
            return False
        req.tries = n + 1
        self.retries += 1
        delay = self.backoff * 2.0 ** n * self.retry_jitter()  # type: ignore[misc]
        heap, seq = self.hot  # engine.after(delay, self._resend, req), inline: the same entry
        heappush(heap, (self.engine.now + delay, next(seq), self.resend, req))
        return True

    def _resend(self, req: Request) -> None:
        if req.finished:
            return  # the client gave up (its timeout) while waiting to retry
        req.via = None
        self.entry.handle(req, self.op, self.complete, self.arg)

    # ---- metrics ------------------------------------------------------------
    def minute(self, now: float) -> None:
        """Close the current minute of the per-minute series."""
        h = self.minute_hist
        finished = self.succeeded + self.failed
        self.series_req.append(finished - self.minute_req)  # requests completed this minute
        self.series_err.append(self.minute_err)
        p50, p90, p99 = h.roll_into(self.total, _MINUTE_QS)  # quantiles, merged into total, reset
        self.series_p50.append(round(p50 * 1000, 3))
        self.series_p90.append(round(p90 * 1000, 3))
        self.series_p99.append(round(p99 * 1000, 3))
        self.minute_req = finished  # completed before this minute began
        self.minute_err = 0

    def flush(self) -> None:
        """Fold the partial minute into the totals at the end of the run."""
        self.total.merge(self.minute_hist)
        self.minute_hist.reset()

    @property
    def in_flight(self) -> int:
        return self.requests - self.succeeded - self.failed

    def stats(self) -> dict[str, Any]:
        return workload_stats(self)

    def pinned_to(self, inst: Any) -> int:
        """Live sessions whose in-memory state sits on ``inst``."""
        return sum(1 for s in self.live_sessions.values() if s.home is inst and s.mode == "instance")


def make_sampler_exp(mean: float, gen: Any) -> Any:
    from cloudtwin.engine.sampling import Distribution

    return make_sampler(Distribution("exp", (mean,)), gen)
