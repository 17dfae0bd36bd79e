"""Lambda: functions with execution environments, concurrency limits, and three ways in.

What is modelled
----------------
* Environments. One environment runs one invocation at a time. A warm idle one
  is reused (the most recently used first); otherwise a new one starts cold and
  spends a draw of ``init_duration`` first (assumption). Idle environments are
  reclaimed after ``idle_timeout`` (assumption); ``provisioned_concurrency`` ones
  are initialised at the start and never reclaimed. A timed-out invocation's
  environment is discarded. The handler's steps run as on EC2
  (:class:`cloudtwin.handler.Run`); a ``cpu`` step takes ``cpu x 1769 / memory``
  seconds below 1,769 MB, where the function has less than one vCPU
  [aws-facts §5 Memory], and its spec time above.
* Concurrency: the account has ``account.lambda_concurrency`` (1,000 by default);
  ``reserved_concurrency`` sets a function's own share (100 must stay unreserved)
  and the unreserved functions share the rest [aws-facts §5 Account concurrency]. New
  environments are limited to 1,000 per 10 s per function, refilled
  continuously [aws-facts §5 Scaling rate, CHANGED]. Beyond either limit an
  invocation is throttled (429).
* Invoke request rate [aws-facts §5 Invoke request rate]: the Invoke API accepts 10
  requests/s per unit of the account's concurrency (10,000/s by default), and a
  function with reserved concurrency 10/s per reserved unit, each measured over one
  second (assumption). It applies to synchronous invokes from any source and to
  asynchronous invokes from a caller (``invoke_async``); events AWS services push
  (SNS) and event source mappings do not use the Invoke API. Beyond it the caller
  gets ``throttled`` (429), counted in ``throttles`` and in ``rate_throttles``.
* Synchronous invoke (a workload entry, ``call: <fn>`` or ``<fn>.invoke``): the
  caller gets ``throttled``, ``timeout`` (past ``timeout``), ``server_error`` (a
  function error, ``error_rate``, or a failed call inside the handler) or success.
* Asynchronous invoke (``<fn>.invoke_async``, an SNS subscription, :meth:`Lambda.push`):
  the event is queued; a function error is retried ``retries`` times (2: 1 min
  then 2 min later, so 3 attempts in all); a throttled attempt goes back to the
  queue with backoff from 1 s doubling to 5 min; an event older than
  ``max_event_age`` is not attempted again [aws-facts §5]. A failed or expired
  event goes to ``on_failure`` if set, else ``dlq``, else it is lost
  (``lambda_retries_exhausted``, ``lambda_max_event_age``). With
  ``reserved_concurrency: 0`` events go straight there without any attempt.
* SQS event source mappings: :mod:`cloudtwin.services.lambda_esm`; asynchronous invokes:
  :mod:`cloudtwin.services.lambda_async`; environments and
  invocations: :mod:`cloudtwin.services.lambda_runtime`.
* Messages whose attributes match ``poison`` (default ``{poison: [true]}``) always
  fail; any message or invocation fails with probability ``error_rate``.
* ``latency`` and ``errors`` faults run as a step before the handler (:meth:`Lambda.inject`),
  so they reach every invocation, however it was invoked. A message's ``user``
  attribute (a DynamoDB stream record's), or a synchronous caller's ``req.user``, becomes
  the user its handler run acts for.
* Billing: requests, and GB-seconds of the execution time rounded up to 1 ms
  (initialisation not billed, assumption) [aws-facts §19 Lambda].

Async ``retries`` counts the retries that ran; ``retries_dropped`` the retries that
were due when the event passed ``max_event_age``.

Left out: the invoke rate of a version with provisioned concurrency (10 x the
provisioned amount), payload limits other than 1 MB for async events, on-success destinations, recursive loop
detection, SnapStart, VPC networking, and the same event arriving twice.
"""

from __future__ import annotations

import math
from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.engine import make_sampler
from cloudtwin.engine.resources import RateLimiter
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.handler import CALL, CPU, SLEEP, CStep, Run, compile_steps
from cloudtwin.messaging import Message, MessageFactory, Pattern, ledger_of
from cloudtwin.metrics import BATCH, Histogram
from cloudtwin.request import THROTTLED, Done, Request, new_request
from cloudtwin.services.lambda_async import ASYNC_MAX_SIZE as ASYNC_MAX_SIZE  # re-exported: the fluid model's
from cloudtwin.services.lambda_async import ASYNC_RETRY_DELAYS as ASYNC_RETRY_DELAYS
from cloudtwin.services.lambda_async import THROTTLE_BACKOFF as THROTTLE_BACKOFF
from cloudtwin.services.lambda_async import AsyncInvokes
from cloudtwin.services.lambda_runtime import Env, Invocation, _inv_expire, begun_sync, new_invocation, sync_fin
from cloudtwin.spec.account import INVOKE_RATE_PER_CONCURRENCY

if TYPE_CHECKING:
    from cloudtwin.context import Context

VCPU_MB: Final = 1769.0  # 1,769 MB = 1 vCPU [aws-facts §5 Memory]
NEW_ENVS_BURST: Final = 1000.0  # environments per 10 s per function [aws-facts §5 Scaling rate]
NEW_ENVS_RATE: Final = 100.0  # refilled continuously: 1,000 per 10 s


def _account(ctx: Any) -> list[int]:
    """[unreserved concurrency in use, unreserved limit] shared by the account's functions."""
    acct = ctx.account
    if acct.lambda_pool is None:
        reserved = sum(c.reserved_concurrency or 0 for c in ctx.arch.components.values() if c.type == "lambda")
        acct.lambda_pool = [0, ctx.arch.account.lambda_concurrency - reserved]
    return acct.lambda_pool  # type: ignore[no-any-return]


def _per_second(rate: float) -> RateLimiter:
    """A request-rate quota, measured over one second (assumption: AWS gives the rate, not the window)."""
    return RateLimiter.for_burst(rate, max(1.0, rate))


def _account_invokes(ctx: Any) -> RateLimiter:
    """The account's invoke request rate, 10 x its concurrency quota [aws-facts §5 Invoke request rate]."""
    acct = ctx.account
    if acct.lambda_invokes is None:
        acct.lambda_invokes = _per_second(ctx.arch.account.invoke_rate)
    return acct.lambda_invokes  # type: ignore[no-any-return]


class Lambda(AsyncInvokes):
    """One Lambda function."""
    # what an instance sets, as slots: past 29 attributes in its __dict__ every access slows
    # (tests/test_attribute_layout.py); the base's __dict__ takes the rest
    __slots__ = ('name', 'spec', 'ctx', 'engine', 'requests', 'errors', 'latency', 'injected', 'ledger',
                 'timeout', 'memory', 'cpu_scale', 'reserved', 'pool', 'invokes', 'own_invokes', 'poison',
                 'error_rate', 'u', 'init', 'factory', 'zone_list', 'steps', 'base_steps', 'needs_timer',
                 'cpu_only', 'warm_fast', 'timeout_timer', 'idle', 'prov', 'busy', 'max_busy', 'minute_busy',
                 'new_envs', 'n_envs', 'holding', 'mappings', 'duration', 'duration_buf', 'lat_buf',
                 'idle_timeout', 'cold', 'e2e', 'invocations', 'cold_starts', 'throttles', 'timeouts',
                 'errors_in', 'rate_throttles', 'billed_ms', 'async_in', 'async_ok', 'async_retries',
                 'retries_dropped', 'dead', 'lost', 'failed_after', 'series_busy', 'series_throttles',
                 '_minute_throttles', 'fault_steps', 'dl_target')

    kind = "lambda"

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.ledger = ledger_of(ctx)
        self.timeout: float = spec.timeout
        self.memory: int = spec.memory
        self.cpu_scale = max(1.0, VCPU_MB / spec.memory)
        self.reserved: int | None = spec.reserved_concurrency
        self.pool = _account(ctx)
        self.invokes = _account_invokes(ctx)
        # a function with reserved concurrency also has its own invoke rate, 10 x the reservation
        # (TooManyRequestsException, reason ReservedFunctionInvocationRateLimitExceeded)
        self.own_invokes = (_per_second(INVOKE_RATE_PER_CONCURRENCY * spec.reserved_concurrency)
                            if spec.reserved_concurrency else None)
        self.poison = Pattern(spec.poison) if spec.poison is not None else None  # worked out once
        self.error_rate: float = spec.error_rate
        self.u = uniform_sampler(ctx.stream(f"{name}.errors"))
        self.init = make_sampler(spec.init_duration, ctx.stream(f"{name}.init"))
        self.factory = MessageFactory(None, ctx.seed, f"{name}.message")
        self.zone_list = list(spec.zones or ctx.arch.zones)
        self.steps: tuple[Any, ...] = ()
        self.base_steps: tuple[CStep, ...] = ()
        self.needs_timer = False
        self.cpu_only: Any = None  # the sampler of a handler that is one cpu step (Invocation.next)
        # handle()'s warm fast path applies: no reserved and no provisioned concurrency
        self.warm_fast = spec.reserved_concurrency is None and not spec.provisioned_concurrency
        self.timeout_timer = ctx.engine.timer(spec.timeout)  # engine.timer(timeout): one per delay
        self.idle: list[Env] = []  # warm, most recent last
        self.prov: list[Env] = []
        self.busy = self.max_busy = self.minute_busy = 0
        self.new_envs = RateLimiter(NEW_ENVS_RATE, (NEW_ENVS_BURST - 1.0) / NEW_ENVS_RATE)
        self.n_envs = 0
        self.holding: dict[int, Message] = {}  # async events accepted and not finished
        self.mappings: list[Any] = []
        self.duration = Histogram()
        self.duration_buf = self.duration.buffer
        self.lat_buf = self.latency.buffer
        self.idle_timeout: float = spec.idle_timeout
        self.cold = False  # whether acquire()'s environment is a new one
        self.e2e = Histogram()
        self.invocations = self.cold_starts = self.throttles = self.timeouts = self.errors_in = 0
        self.rate_throttles = 0  # invoke requests refused by a request-rate quota (part of throttles)
        self.billed_ms = 0
        self.async_in = self.async_ok = self.async_retries = self.retries_dropped = self.dead = self.lost = 0
        self.failed_after: dict[int, int] = {}
        self.series_busy: list[float] = []
        self.series_throttles: list[float] = []
        self._minute_throttles = 0

    def build(self) -> None:
        from cloudtwin.services.lambda_esm import Mapping

        self.base_steps = compile_steps(self.spec.handler, self.ctx, self.name)
        self.fault_steps: list[CStep] = []
        self._apply_steps()
        comps = self.ctx.components
        self.dl_target: Any = comps.get(self.spec.on_failure or self.spec.dlq or "")
        self.mappings = [Mapping(self, es, comps[es.queue]) for es in self.spec.event_sources]  # type: ignore[arg-type]

    def inject(self, step: CStep) -> None:
        """Run a latency or error fault as a step before the handler in every invocation, however
        the function is invoked (sync, async, an SQS or stream event source)."""
        self.fault_steps.append(step)
        self._apply_steps()

    def eject(self, step: CStep) -> None:
        self.fault_steps.remove(step)
        self._apply_steps()

    def _apply_steps(self) -> None:
        def slow(steps: tuple[Any, ...]) -> bool:
            return any(s.kind in (CALL, SLEEP) or slow(s.on_miss) for s in steps)

        self.steps = tuple(self.fault_steps) + self.base_steps
        self.needs_timer = slow(self.steps)
        one = self.steps[0] if len(self.steps) == 1 else None
        self.cpu_only = one.sample if one is not None and one.kind == CPU else None

    def start(self) -> None:
        for i in range(self.spec.provisioned_concurrency):
            self.prov.append(Env(self, self.zone_list[i % len(self.zone_list)], provisioned=True))
        self.n_envs = len(self.prov)
        for m in self.mappings:
            m.start()

    # ---- environments -------------------------------------------------------
    def acquire(self) -> Env | None:
        """A free environment, or None when throttled; ``cold`` says whether it is a new one."""
        if self.reserved is not None:
            if self.busy >= self.reserved:
                return None
        elif self.pool[0] >= self.pool[1]:
            return None
        now = self.engine.now
        cold = False
        if self.prov:
            env = self.prov.pop()
        elif self.idle and now - self.idle[-1].last_used <= self.idle_timeout:
            env = self.idle.pop()
        else:
            self.idle.clear()  # the most recent one is past the idle timeout, so all are
            if not self.new_envs.try_take(now):
                return None
            self.n_envs += 1
            env = Env(self, self.zone_list[self.n_envs % len(self.zone_list)])
            cold = True
        self.cold = cold
        self.busy += 1
        if self.reserved is None:
            self.pool[0] += 1
        if self.busy > self.minute_busy:
            self.minute_busy = self.busy
        return env

    def start_invocation(self, msgs: list[Message] | None, cb: Any, *, rbif: bool = False,
                         user: tuple[int, int] | None = None) -> bool:
        """Run the handler (once, or once per message) acting for ``user``; ``cb(invocation)`` at
        the end. False if throttled."""
        return self._invoke(msgs, cb, rbif, user, None, None) is not None

    def _invoke(self, msgs: list[Message] | None, cb: Any, rbif: bool, user: tuple[int, int] | None,
                req: Request | None, done: Done | None) -> Invocation | None:
        """start_invocation's work; a synchronous caller's ``req`` and ``done`` go on the
        invocation (for :func:`sync_fin`) before it begins. None if throttled."""
        env = self.acquire()
        if env is None:
            self.throttles += 1
            self._minute_throttles += 1
            return None
        self.invocations += 1
        inv = new_invocation(self, env, msgs, cb, rbif, user)
        if req is not None:
            inv.req, inv.done, inv.t_in = req, done, self.engine.now
        env.inv = inv
        if self.cold:
            self.cold_starts += 1
            self.engine.after(self.init(), inv.begin)
        else:
            inv.begin()
        return inv

    def end(self, inv: Invocation, err: str | None) -> None:
        """The invocation finished (``err`` TIMEOUT when it timed out)."""
        inv.live = False
        th = inv.th
        if th >= 0:  # its expire would do nothing: it need not be called
            tm = self.timeout_timer  # tm.cancel(th), inlined: keep in step with Timer.cancel
            j = th - tm._base
            if j >= tm._i:
                tm._cbs[j] = None
        inv.user = None  # read by next() only: the timeout timer may hold the invocation for seconds
        now = self.engine.now
        took = now - inv.t_exec
        ms = math.ceil(took * 1000.0 - 1e-9)
        self.billed_ms += ms if ms > 1 else 1
        b = self.duration_buf  # self.duration.record(took), inlined
        b.append(took)
        if len(b) >= BATCH:
            self.duration.flush()
        env = inv.env
        env.inv = env.run = None
        self.busy -= 1
        if self.reserved is None:
            self.pool[0] -= 1
        if env.up:
            env.last_used = now
            (self.prov if env.provisioned else self.idle).append(env)
        elif env.provisioned:  # AWS replaces a provisioned environment
            self.prov.append(Env(self, env.zone, provisioned=True))
        if err is not None:
            inv.err = err
            if inv.msgs is not None:
                inv.failed = list(inv.msgs)
                inv.ok = []
        cb = inv.cb
        if cb is not sync_fin:
            cb(inv)
            return
        err = inv.err  # sync_fin(inv), inlined: a synchronous caller gets the outcome
        if err is None:
            b = self.lat_buf  # self.latency.record(...), inlined
            b.append(now - inv.t_in)
            if len(b) >= BATCH:
                self.latency.flush()
        else:
            self.errors += 1
        done, req = inv.done, inv.req
        inv.done = inv.req = None
        done(req, err)  # type: ignore[misc,arg-type]

    # ---- synchronous --------------------------------------------------------
    def handle(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        """An Invoke request. A synchronous invoke that finds a warm environment (no reserved
        or provisioned concurrency) starts its handler here, in this one frame: the account
        quota's take (:meth:`RateLimiter.try_take`), :meth:`acquire`'s warm case, ``_invoke``,
        :meth:`Invocation.begin` and the first pass of :meth:`Invocation.next`, inlined in
        that order, so the same counters move, the same timer entry is started and the same
        handler run begins as on the general path (``_invoke``), which takes every other case."""
        self.requests += 1
        now = self.engine.now
        # the invoke request-rate quota: the account's, then the function's own if it has
        # reserved concurrency [aws-facts §5 Invoke request rate]
        lim = self.invokes  # lim.try_take(now), inlined (GCRA, one token)
        tat = lim.tat
        if tat < now:
            tat = now
        if tat - now > lim.tolerance:
            self._rate_throttled(req, done)
            return
        lim.tat = tat + 1.0 / lim.rate
        own = self.own_invokes
        if own is not None and not own.try_take(now):
            self._rate_throttled(req, done)
            return
        if op == "invoke_async":  # accepted at once (202); the event runs later
            self._accept_async(req, done, arg)
            return
        idle = self.idle
        pool = self.pool
        if (self.warm_fast and idle and pool[0] < pool[1]
                and now - idle[-1].last_used <= self.idle_timeout):
            env = idle.pop()  # acquire(): a warm environment, the most recent first (not cold)
            self.busy = busy = self.busy + 1
            pool[0] += 1
            if busy > self.minute_busy:
                self.minute_busy = busy
            self.invocations += 1
            inv = begun_sync(self, env, req, done, now)  # as _invoke(), with begin()'s clock fields
            env.inv = inv
            if self.needs_timer:  # the rest of begin(): its timeout on the function's timer
                # inv.th = self.timeout_timer.start(_inv_expire, inv), inlined (one frame less
                # per invoke, the same seq drawn at the same point): keep in step with Timer.start
                tm = self.timeout_timer
                t = now + tm.delay
                s = next(tm._seq)
                q = tm._q
                q.append(t)
                tm._s.append(s)
                tm._cbs.append((_inv_expire, inv))
                n = len(q) - 1
                if n == tm._i:  # nothing else waits: this is the head
                    heappush(tm._heap, (t, s, tm._fire, None))
                inv.th = tm._base + n
            r = new_request(now, None, None)  # next(): the one handler run of a synchronous invoke
            r.user = inv.user
            run = Run(env, r, None, self.steps, now)
            env.run = run
            run.advance()
            inv.sync = False
            if not inv.pending and inv.live:  # the handler finished within advance()
                self.end(inv, None)
            return
        if self._invoke(None, sync_fin, False, getattr(req, "user", None), req, done) is None:
            self.errors += 1
            done(req, THROTTLED)

    def _rate_throttled(self, req: Request, done: Done) -> None:
        """A synchronous invoke, or an asynchronous one from a non-AWS source, over an invoke rate."""
        self.rate_throttles += 1
        self.throttles += 1
        self._minute_throttles += 1
        self.errors += 1
        done(req, THROTTLED)

    # ---- metrics ------------------------------------------------------------
    def held_messages(self) -> Any:
        return self.holding.values()

    def on_minute(self, now: float) -> None:
        self.series_busy.append(float(self.minute_busy))
        self.series_throttles.append(float(self._minute_throttles))
        self.max_busy = max(self.max_busy, self.minute_busy)
        self.minute_busy = self.busy
        self._minute_throttles = 0

    def series(self) -> dict[str, list[float]]:
        return {"concurrency": self.series_busy, "throttles": self.series_throttles}

    def gb_seconds(self) -> float:
        return self.billed_ms / 1000.0 * self.memory / 1024.0

    def usage(self) -> dict[str, float]:
        out = {"Request": float(self.invocations), "Lambda-GB-Second": self.gb_seconds()}
        prov = self.spec.provisioned_concurrency
        if prov:  # unpriced: no sourced price yet
            out["Lambda-Provisioned-Concurrency"] = prov * self.memory / 1024.0 * self.engine.now
        return {k: v for k, v in out.items() if v}

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update({
            # every invocation, whatever started it (sync calls, async events, event source
            # batches), and every failed or refused one: a stream-fed function is not idle
            "requests": self.invocations + self.throttles,
            "errors": self.errors_in + self.timeouts + self.throttles,
            "invocations": self.invocations, "cold_starts": self.cold_starts, "throttles": self.throttles,
            "rate_throttles": self.rate_throttles,
            "timeouts": self.timeouts, "function_errors": self.errors_in,
            "max_concurrency": max(self.max_busy, self.minute_busy), "environments": self.n_envs,
            "billed_ms": self.billed_ms, "gb_seconds": round(self.gb_seconds(), 6),
            "duration_ms": self.duration.summary_ms(),
            "async": {"accepted": self.async_in, "succeeded": self.async_ok, "retries": self.async_retries,
                      "retries_dropped": self.retries_dropped,
                      "dead_lettered": self.dead, "lost": self.lost, "waiting": len(self.holding),
                      "failed_after_attempts": {str(k): v for k, v in sorted(self.failed_after.items())},
                      "end_to_end_ms": self.e2e.summary_ms()},
            "event_sources": [m.stats() for m in self.mappings],
        })
        return out
