"""API Gateway: REST and HTTP APIs with throttles, an integration timeout and a response cache.

What is modelled
----------------
* Throttling [aws-facts §10 Account throttle]: token buckets, each starting full,
  holding ``burst`` tokens and refilled at ``rate`` per second; a request takes a
  token from every bucket that applies or is ``throttled`` (429) and goes no
  further. The account bucket (10,000 requests/s with a 5,000 burst by default)
  is shared by every API of the spec (one account, one Region): it is
  ``account.apigateway_throttle``, or the highest ``account_throttle`` an API declares. On top of it, the method
  bucket is ``method_throttle``, else the stage's ``throttle``.
* The integration (``integration: {target, op}``): a Lambda (a synchronous
  invoke), a load balancer or instances (any component that serves requests), a
  Kinesis stream (``put``: PutRecord), an SQS queue (``send``) or an SNS topic
  (``publish``). A write integration sends the integration's ``message:`` and
  ``key:`` (a Kinesis partition key). Errors of the target pass through (a
  Kinesis ProvisionedThroughputExceeded is ``throttled``). If the target does not
  answer within the integration timeout (at most 29 s for REST, 30 s for HTTP APIs
  and the default [aws-facts §10]) the caller gets ``timeout`` (504) and the late
  answer is dropped.
* The REST response cache [aws-facts §10 REST cache]: keyed by the caller's ``key``
  draw (a call step's ``key:``) or a draw of ``cache.key``; a hit within ``ttl``
  (default 300 s; 0 disables caching) is answered without the integration. Its size,
  largest cacheable answer, per-key invalidation (op ``invalidate``) and stale reads:
  :mod:`cloudtwin.services.apigateway_cache`.
* A Lambda ``authorizer`` (after throttling, assumption): the function is invoked
  synchronously for an identity (a draw of ``identities``) whose decision is not
  cached; it denies a fixed share ``deny`` of identities (``rejected``, 403), and
  its failure or throttling is a ``server_error`` (500). A decision is cached per
  identity for ``ttl`` (default 300 s, at most 3,600 s: AWS docs, not aws-facts).
* HTTPS only: the spec admits nothing else. Each request takes a draw of ``latency``.
  API Gateway is regional: an AZ outage does not affect it (assumption).
* Billing: requests by API type (throttled ones are not billed, assumption) and the
  cache's hours [aws-facts §19 API Gateway].

* A Cognito user-pool authorizer (``authorizer: {cognito: <pool>}``): API Gateway
  validates the caller's JWT itself, without calling the pool. A request acting for no
  user (``req.user`` unset: no token) is ``rejected`` (401, ``unauthenticated``); one whose
  user the pool does not know (no token it could have issued) is ``rejected`` too
  (``invalid_token``). Token expiry is left out (see :mod:`cloudtwin.services.cognito`).

Left out: usage plans and API keys,
per-client throttling, WebSocket APIs, payload limits, mapping templates, the 2024
raise of the REST timeout above 29 s, and flushing the whole stage cache.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler
from cloudtwin.engine.resources import LevelBucket
from cloudtwin.messaging import MessageFactory
from cloudtwin.metrics import BATCH
from cloudtwin.request import REJECTED, SERVER_ERROR, THROTTLED, TIMEOUT, Done, Request
from cloudtwin.services.apigateway_cache import Refresh, StageCache
from cloudtwin.spec.apigateway import account_throttle

if TYPE_CHECKING:
    from cloudtwin.context import Context


class Bucket(LevelBucket):
    """A throttle's token bucket (starting full) and the requests it refused."""

    __slots__ = ("throttled",)

    def __init__(self, rate: float, burst: float) -> None:
        super().__init__(rate, burst)
        self.throttled = 0


def _account(ctx: Any) -> Bucket:
    """The account's bucket, shared by every API in the spec."""
    acct = ctx.account
    if acct.apigw_throttle is None:
        ths = [account_throttle(ctx.arch, c) for c in ctx.arch.components.values() if c.type == "apigateway"]
        acct.apigw_throttle = Bucket(max(t.rate for t in ths), max(t.burst for t in ths))
    return acct.apigw_throttle  # type: ignore[no-any-return]


class _Call:
    """One request waiting for its integration: the first of reply and timeout wins.

    The timeout timer holds it for the whole integration timeout (29 s by default), long
    after most replies: once answered it drops the caller's request and reply callback,
    which are then freed at once instead of waiting (and being walked by the garbage
    collector) until the timer fires."""

    __slots__ = ("api", "req", "done", "t_in", "key", "live", "refresh", "th")
    # made by ApiGateway.serve and .forward, every field set there (no __init__: a class call
    # costs a frame)
    api: ApiGateway
    req: Request
    done: Done
    t_in: float
    key: Any
    live: bool
    refresh: bool  # an invalidation: its answer replaces the entry, it is not a miss
    th: int  # its timeout's handle in the API's timer, to cancel on an answer

    def reply(self, req: Request, err: str | None) -> None:
        """The integration answered first. A success without a cache key (no stage cache) takes
        :meth:`ApiGateway.finish`'s steps inlined: the latency draw, its record, the answer
        pushed to the caller after it."""
        if self.live:
            self.live = False
            api = self.api
            # answered: the timeout never fires (it still counts as an event)
            tm = api.timer  # tm.cancel(self.th), inlined: keep in step with Timer.cancel
            j = self.th - tm._base
            if j >= tm._i:
                tm._cbs[j] = None
            if err is not None or self.key is not None:
                api.finish(self, err)
            else:
                eng = api.engine
                now = eng.now
                lat = api.lat()
                b = api.lat_buf  # api.latency.record(...), inlined
                b.append(now - self.t_in + lat)
                if len(b) >= BATCH:
                    api.latency.flush()
                heap, seq = api.hot  # engine.after(lat, deliver, job), which calls done(req, err)
                heappush(heap, (now + lat, next(seq), deliver, (self.req, self.done, None)))
            self.req = self.done = None  # type: ignore[assignment]

    def expire(self, _: object = None) -> None:
        if self.live:
            self.live = False
            self.api.timeouts += 1
            self.api.finish(self, TIMEOUT)
            self.req = self.done = None  # type: ignore[assignment]


_call_expire = _Call.expire  # the timer's callback, taking the call as its argument
_new: Final = _Call.__new__  # object.__new__ interpreted; compiled, the class's own (no __init__ to run)


class _Auth:
    """A request waiting for its authorizer's answer."""

    __slots__ = ("api", "req", "done", "arg", "t_in", "ident")

    def __init__(self, api: ApiGateway, req: Request, done: Done, arg: Any, t_in: float, ident: int) -> None:
        self.api, self.req, self.done, self.arg, self.t_in, self.ident = api, req, done, arg, t_in, ident

    def reply(self, _: Request, err: str | None) -> None:
        api = self.api
        allow: bool | None = None
        if err is None:
            allow = (self.ident * 2654435761 % 4294967296) / 4294967296.0 >= api.deny  # a fixed share of identities
            if api.auth_ttl > 0.0:
                api.auth_cache[self.ident] = (api.engine.now + api.auth_ttl, allow)
        api.decided(self.req, self.done, self.arg, self.t_in, allow)


class ApiGateway(Component):
    """One API (REST or HTTP) with one stage and one method."""
    # what an instance sets, as slots: past 29 attributes in its __dict__ every access slows
    # (tests/test_attribute_layout.py); the base's __dict__ takes the rest
    __slots__ = ('name', 'spec', 'ctx', 'engine', 'requests', 'errors', 'latency', 'injected', 'timeout',
                 'timer', 'hot', 'lat_buf', 'account', 'method', 'lat', 'ttl', 'cache_key', 'cache', 'op',
                 'message', 'part_key', 'target', 'auth_fn', 'identity', 'auth_ttl', 'deny', 'auth_cache',
                 'pool', 'unauthenticated', 'invalid_tokens', 'auth_calls', 'auth_hits', 'auth_errors',
                 'denied', 'accepted', 'throttled', 'timeouts', 'integration_errors')

    kind = "apigateway"

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.timeout: float = spec.timeout
        self.timer = ctx.engine.timer(spec.timeout)  # engine.timer(timeout): one FIFO per delay
        self.hot = ctx.engine.hot()
        self.lat_buf = self.latency.buffer
        self.account = _account(ctx)
        th = spec.method_throttle or spec.throttle
        self.method = Bucket(th.rate, th.burst) if th is not None else None
        self.lat = make_sampler(spec.latency, ctx.stream(f"{name}.latency"))
        c = spec.cache
        self.ttl: float = c.ttl if c is not None else 0.0
        self.cache_key = make_sampler(c.key, ctx.stream(f"{name}.cache_key")) if c is not None else None
        self.cache = StageCache(c, ctx.arch, name) if c is not None else None
        it = spec.integration
        self.op: str = it.op
        self.message = MessageFactory(it.message, ctx.seed, f"{name}.message") if it.message is not None else None
        self.part_key = make_sampler(it.key, ctx.stream(f"{name}.partition_key")) if it.key else None
        self.target: Any = None
        au = spec.authorizer
        self.auth_fn: Any = None
        self.identity = make_sampler(au.identities, ctx.stream(f"{name}.identity")) if au else None
        self.auth_ttl: float = au.ttl if au is not None else 0.0
        self.deny: float = au.deny if au is not None else 0.0
        self.auth_cache: dict[int, tuple[float, bool]] = {}
        self.pool: Any = None  # a Cognito authorizer's user pool
        self.unauthenticated = self.invalid_tokens = 0
        self.auth_calls = self.auth_hits = self.auth_errors = self.denied = 0
        self.accepted = self.throttled = self.timeouts = self.integration_errors = 0

    def build(self) -> None:
        self.target = self.ctx.components[self.spec.integration.target]
        au = self.spec.authorizer
        if au is not None:
            self.auth_fn = self.ctx.components[au.function] if au.function is not None else None
            self.pool = self.ctx.components[au.cognito] if au.cognito is not None else None
        self.needs_client = self.target.needs_client  # a proxy passes its callers' clients on

    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        self.requests += 1
        now = self.engine.now
        if op == "invalidate":
            arg = Refresh(arg)
        acct, meth = self.account, self.method
        if now > acct.t:  # acct.level(now), inlined: the refill since the last read
            tokens = acct.tokens + (now - acct.t) * acct.rate
            acct.tokens = tokens if tokens < acct.burst else acct.burst
            acct.t = now
        if acct.tokens < 1.0 or (meth is not None and meth.level(now) < 1.0):
            (acct if acct.tokens < 1.0 else meth).throttled += 1  # type: ignore[union-attr]
            self.throttled += 1
            self.errors += 1
            self.engine.after(self.lat(), deliver, (req, done, THROTTLED))
            return
        acct.tokens -= 1.0  # acct.take(): a token the level read above showed is there
        if meth is not None:
            meth.tokens -= 1.0
        self.accepted += 1
        pool = self.pool
        if pool is not None:
            user = req.user
            # pool.known(user[0]), inlined: a uid the pool issued whose sign-up did not fail
            if user is None or not (0 <= user[0] < pool.n_users and user[0] not in pool.pending):
                if user is None:
                    self.unauthenticated += 1
                else:
                    self.invalid_tokens += 1
                self.errors += 1
                self.engine.after(self.lat(), deliver, (req, done, REJECTED))
                return
        if self.auth_fn is not None:
            self.authorize(req, done, arg, now)
            return
        if self.cache is not None:
            self.forward(req, done, arg, now)
            return
        # forward() without a stage cache, inlined: straight to the integration (keep in step)
        call: _Call = _new(_Call)
        call.api, call.req, call.done, call.t_in, call.key, call.live = self, req, done, now, None, True
        call.refresh = isinstance(arg, Refresh)
        # call.th = self.timer.start(_call_expire, call), inlined (one frame less per request,
        # the same seq drawn at the same point): keep in step with Timer.start
        tm = self.timer
        t = now + tm.delay
        s = next(tm._seq)
        q = tm._q
        q.append(t)
        tm._s.append(s)
        tm._cbs.append((_call_expire, call))
        n = len(q) - 1
        if n == tm._i:  # nothing else waits: this is the head
            heappush(tm._heap, (t, s, tm._fire, None))
        call.th = tm._base + n
        iarg: Any = self.message
        if self.part_key is not None:
            iarg = self.part_key() if self.message is None else (self.part_key(), self.message)
        self.target.handle(req, self.op, call.reply, iarg)

    def authorize(self, req: Request, done: Done, arg: Any, t_in: float) -> None:
        """The Lambda authorizer's decision for the caller's identity, cached ``ttl``."""
        ident = int(self.identity())  # type: ignore[misc]
        hit = self.auth_cache.get(ident)
        if hit is not None and hit[0] > self.engine.now:
            self.auth_hits += 1
            self.decided(req, done, arg, t_in, hit[1])
            return
        self.auth_calls += 1
        self.auth_fn.handle(Request(t_in, None, None), "", _Auth(self, req, done, arg, t_in, ident).reply)

    def decided(self, req: Request, done: Done, arg: Any, t_in: float, allow: bool | None) -> None:
        """``allow`` None: the authorizer failed (500)."""
        if allow:
            self.forward(req, done, arg, t_in)
            return
        self.errors += 1
        if allow is None:
            self.auth_errors += 1
        else:
            self.denied += 1
        self.engine.after(self.lat(), deliver, (req, done, SERVER_ERROR if allow is None else REJECTED))

    def forward(self, req: Request, done: Done, arg: Any, now: float) -> None:
        """Past throttling and authorization: the cache, else the integration."""
        key = None
        refresh = isinstance(arg, Refresh)
        if refresh:
            arg = arg.key
        cache = self.cache
        if cache is not None and self.cache_key is not None and self.ttl > 0.0:
            key = int(arg) if isinstance(arg, (int, float)) and not isinstance(arg, bool) else int(self.cache_key())
            if refresh:
                cache.invalidations += 1
            elif cache.lookup(key, self.engine.now):
                lat = self.lat()
                self.latency.record(lat)
                cache.hit_time += lat
                self.engine.after(lat, deliver, (req, done, None))
                return
        call: _Call = _new(_Call)
        call.api, call.req, call.done, call.t_in, call.key, call.live = self, req, done, now, key, True
        call.refresh = refresh
        call.th = self.timer.start(_call_expire, call)  # after(timeout, call.expire); a FIFO per delay
        iarg: Any = self.message
        if self.part_key is not None:
            iarg = self.part_key() if self.message is None else (self.part_key(), self.message)
        self.target.handle(req, self.op, call.reply, iarg)

    def finish(self, call: _Call, err: str | None) -> None:
        now = self.engine.now
        if err is None:
            if call.key is not None and self.cache is not None:
                self.cache.fill(call.key, now)
        else:
            self.errors += 1
            if err != TIMEOUT:
                self.integration_errors += 1
        lat = self.lat()
        if err is None:
            b = self.lat_buf  # self.latency.record(...), inlined
            b.append(now - call.t_in + lat)
            if len(b) >= BATCH:
                self.latency.flush()
            if call.key is not None and not call.refresh and self.cache is not None:
                self.cache.miss_time += now - call.t_in + lat
                self.cache.served_misses += 1
        heap, seq = self.hot  # engine.after(lat, deliver, job), which calls done(req, err)
        heappush(heap, (now + lat, next(seq), deliver, (call.req, call.done, err)))

    def usage(self) -> dict[str, float]:
        meter = "ApiGatewayRequest" if self.spec.api == "rest" else "ApiGatewayHttpRequest"
        out = {meter: float(self.accepted)}
        if self.spec.cache is not None:
            out[f"CacheUsage:{self.spec.cache.size_gb:g}GB"] = self.engine.now / 3600.0
        return {k: v for k, v in out.items() if v}

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update({
            "api": self.spec.api, "accepted": self.accepted, "throttled": self.throttled,
            "throttled_by": {"account": self.account.throttled,
                             "method": self.method.throttled if self.method is not None else 0},
            "integration_timeouts": self.timeouts, "integration_errors": self.integration_errors,
            "authorizer": ({"invocations": self.auth_calls, "cached": self.auth_hits, "denied": self.denied,
                            "errors": self.auth_errors} if self.auth_fn is not None else
                           {"unauthenticated": self.unauthenticated, "invalid_tokens": self.invalid_tokens}
                           if self.pool is not None else None),
            "cache": self.cache.stats() if self.cache is not None else None,
        })
        return out
