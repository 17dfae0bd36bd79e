"""Running a handler: the steps one request executes on one instance.

Steps are compiled once per component into :class:`CStep` records holding
their samplers and resolved targets. A :class:`Run` walks them: ``cpu`` asks the
host for a worker slot, ``sleep`` waits, ``call`` sends a synchronous request
to another component (with hop latency, an optional timeout, and retries with
exponential backoff and full jitter) and resumes on the reply. A cache ``get``
that misses runs its ``on_miss`` steps, which reuse the same key.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.engine import make_sampler
from cloudtwin.engine.sampling import Sampler, uniform_sampler
from cloudtwin.request import SERVER_ERROR, THROTTLED, TIMEOUT, UNAVAILABLE, Batch, Request
from cloudtwin.spec.steps import CallStep, CpuStep, SleepStep, Step

if TYPE_CHECKING:
    from cloudtwin.component import Component
    from cloudtwin.context import Context

CPU: Final = 0  # a step's kind
SLEEP: Final = 1
CALL: Final = 2
FAIL: Final = 3  # an injected-errors fault (see faults.py)
SCREEN: Final = 4  # a filter in front of a component (cloudtwin.guard.install): its target is the filter
MISS: Final = "miss"  # a cache reply that is not a failure
RETRYABLE = frozenset((TIMEOUT, THROTTLED, UNAVAILABLE, SERVER_ERROR))


class CStep:
    """One compiled step."""

    __slots__ = ("kind", "sample", "target", "op", "key", "ttl", "timeout", "retries", "backoff",
                 "on_miss", "jitter", "size", "message", "rate", "batch", "plain", "timer",
                 "regional", "net", "hot")

    def __init__(self, kind: int) -> None:
        self.kind = kind
        self.rate = 0.0  # FAIL steps: the probability of failing the request
        self.sample: Sampler | None = None
        self.target: Component | None = None
        self.op = ""
        self.key: Sampler | None = None
        self.ttl: float | None = None
        self.timeout: float | None = None
        self.retries = 0
        self.backoff = 0.1
        self.on_miss: tuple[CStep, ...] = ()
        self.jitter: Sampler | None = None
        self.size: float | None = None  # bytes of the call, for the cross-AZ data-transfer bill
        self.message: Any = None  # a MessageFactory: what a send/publish/invoke_async call sends
        self.batch: int | None = None  # entries per call through the target's batch API
        # compiled calls only: the call passes just its key (no TTL, message, caller or batch),
        # decided once here instead of per call; False (the default) takes the general path
        self.plain = False
        self.timer: Any = None  # compiled calls with a timeout: the engine's Timer for it
        # compiled calls only, decided once (a CStep built by hand keeps these and looks them up):
        self.regional = False  # the target keeps Component.endpoint_zone (''): never a cross-AZ hop
        self.net: Any = None  # the run's Network
        self.hot: Any = None  # the engine's (heap, seq)


def compile_steps(steps: list[Step], ctx: Context, owner: str, path: str = "handler") -> tuple[CStep, ...]:
    """Compile spec steps of component ``owner``; each gets its own random stream."""
    out: list[CStep] = []
    for i, st in enumerate(steps):
        name = f"{owner}.{path}[{i}]"
        if isinstance(st, CpuStep):
            c = CStep(CPU)
            c.sample = make_sampler(st.cpu, ctx.stream(name))
        elif isinstance(st, SleepStep):
            c = CStep(SLEEP)
            c.sample = make_sampler(st.sleep, ctx.stream(name))
        elif isinstance(st, CallStep):
            c = CStep(CALL)
            c.target = ctx.components[st.target]
            c.op = st.op
            c.key = make_sampler(st.key, ctx.stream(name + ".key")) if st.key else None
            c.ttl, c.timeout, c.retries, c.backoff = st.ttl, st.timeout, st.retries, st.backoff
            c.size = st.size
            c.batch = st.batch
            if st.message is not None:
                from cloudtwin.messaging import MessageFactory

                c.message = MessageFactory(st.message, ctx.seed, name + ".message")
            c.jitter = uniform_sampler(ctx.stream(name + ".jitter")) if st.retries else None
            c.plain = (st.op != "set" and c.message is None and not c.target.needs_caller
                       and st.batch is None)
            if st.timeout is not None:  # the same Timer engine.timer() hands out at call time
                c.timer = ctx.engine.timer(st.timeout)
            from cloudtwin.component import Component  # here: component imports this module

            c.regional = type(c.target).endpoint_zone is Component.endpoint_zone
            c.net = ctx.network
            c.hot = ctx.engine.hot()
            if st.on_miss:
                c.on_miss = compile_steps(st.on_miss, ctx, owner, f"{path}[{i}].on_miss")
        else:  # pragma: no cover - the schema admits only these
            raise TypeError(st)
        out.append(c)
    return tuple(out)


MAX_NESTED: Final = 200
"""Calls (and replies) that complete at the same instant nest on Python's stack; past this
depth the next one continues from the event loop at the same simulated time, so a chain of
any length runs. Specs with shorter chains (every blueprint) are not affected."""


class _Depth:
    """How many calls and replies are nesting now (a slot, not a module global: compiled, a
    global is a dictionary lookup and a boxed int at every read and write)."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


_nested: Final = _Depth()


class Attempt:
    """One try of a call with a timeout: whichever of reply and timer comes first wins.

    The timer holds it until the timeout, long after most replies: the reply drops its
    reference to the run, so a finished request is freed at once rather than kept alive
    (and walked by the garbage collector) until its timer fires."""

    __slots__ = ("run", "live", "tm", "th")

    def __init__(self, run: Run) -> None:
        self.run: Run | None = run
        self.live = True
        self.tm: Any = None  # the timer and its handle, to cancel on a reply
        self.th = -1

    def reply(self, req: Request, err: str | None) -> None:
        """The target's answer, if the timer has not fired: :meth:`Run.reply`, inline (one frame
        fewer per call with a timeout, issue 17)."""
        if self.live:
            self.live = False
            self.tm.cancel(self.th)  # answered: the timeout never fires (it still counts as an event)
            run = self.run
            assert run is not None
            self.run = None
            if _nested.n >= MAX_NESTED:  # a long chain of instant replies: go on from the event loop
                eng = run.host.engine
                eng.at(eng.now, run._reply_later, (req, err))
                return
            _nested.n += 1
            try:
                if err is None:  # _reply's first case, inlined: most replies are successes
                    run.advance()
                else:
                    run._reply(req, err)
            finally:
                _nested.n -= 1

    def expire(self, _: object = None) -> None:
        if self.live:
            self.live = False
            run = self.run
            self.run = None
            run.reply(run.req, TIMEOUT)  # type: ignore[union-attr]


class Run:
    """One request executing a handler on one host (an instance)."""

    __slots__ = ("host", "req", "done", "t_in", "steps", "i", "stack", "cur", "attempt", "key")

    def __init__(self, host: Any, req: Any, done: Any, steps: tuple[CStep, ...], t_in: float) -> None:
        self.host = host
        self.req = req  # a Request, or a bare start time (an EC2 fast path's, while a fault holds it)
        self.done = done
        self.t_in = t_in
        self.steps = steps
        self.i = 0
        self.stack: list[tuple[tuple[CStep, ...], int]] | None = None
        self.cur: CStep | None = None
        self.attempt = 0
        self.key: Any = None

    def advance(self, _: object = None) -> None:
        host = self.host
        if not host.up:
            host.finish(self, UNAVAILABLE)
            return
        while True:
            steps = self.steps
            i = self.i
            if i < len(steps):
                st = steps[i]
                self.i = i + 1
                k = st.kind
                if k == CPU:
                    host.cpu(self, st.sample())  # type: ignore[misc]
                elif k == SLEEP:  # engine.after(delay, self.advance), without a bound method
                    heap, seq = host.engine.hot()
                    heappush(heap, (host.engine.now + st.sample(), next(seq), _advance, self))  # type: ignore[misc]
                elif k == FAIL:
                    if st.sample() < st.rate:  # type: ignore[misc]
                        host.finish(self, st.op or SERVER_ERROR)  # op: an FIS fault's error kind
                        return
                    continue
                else:
                    self.cur = st
                    self.attempt = 0
                    if st.key is not None:
                        self.key = st.key()
                    self.send()
                return
            if not self.stack:
                host.finish(self, None)
                return
            self.steps, self.i = self.stack.pop()

    def send(self, _: object = None) -> None:
        """Send the current call step's request to its target, after the hop's latency.

        A compiled step carries the run's Network and the engine's heap, and knows whether its
        target is regional (no zone: never a cross-AZ hop, and no ``endpoint_zone`` to ask), so
        :meth:`Network.rtt` is inline here: the same draw on the same stream, or none where the
        hop costs exactly 0.

        Scheduled callbacks are plain functions with the object as their argument
        (``_expire(attempt)``, ``_deliver(job)``), as ``engine.after(d, obj.method)`` would run
        them, at the same times and seqs, without a bound method per call."""
        st = self.cur
        assert st is not None
        target = st.target
        assert target is not None
        host = self.host
        eng = host.engine
        if st.timeout is not None:
            att = Attempt(self)
            tm = st.timer
            if tm is None:  # a call step not compiled by compile_steps
                tm = eng.timer(st.timeout)
            att.tm = tm
            att.th = tm.start(_expire, att)  # as after(), with the heap kept small
            reply = att.reply
        else:
            reply = self.reply
        arg = self.key
        if not st.plain:
            if st.op == "set":
                arg = (arg, st.ttl)  # a cache set needs its TTL
            elif st.message is not None:
                arg = st.message  # a queue, topic or async invoke draws the message from it
            elif target.needs_caller:
                arg = (arg, host, st.size)  # AZ-bound storage (EBS, EFS): which instance calls, and the bytes
            if st.batch is not None:  # one call of st.batch entries through the target's batch API
                keyed = st.key is not None and st.message is None and st.op != "set" and not target.needs_caller
                arg = Batch(st.batch, arg, st.key if keyed else None)
        net = st.net
        if net is None:  # a call step not compiled by compile_steps
            zone = host.zone
            rtt = host.ctx.network.rtt(zone, target.endpoint_zone(zone), st.size)
        elif st.regional:  # net.rtt(zone, ''): a same-zone hop, drawn only if it may cost more than 0
            rtt = 0.0 if net.same_zero else net.same()
        else:  # net.rtt(zone, target.endpoint_zone(zone), st.size), inlined
            zone = host.zone
            tz = target.endpoint_zone(zone)
            if zone == tz or not zone or not tz:
                rtt = 0.0 if net.same_zero else net.same()
            else:  # net.cross_hop(st.size): counted for the bill
                net.cross_az_requests += 1
                size = st.size
                if size is None:
                    net.cross_az_unsized += 1
                else:
                    net.cross_az_bytes += size
                rtt = 0.0 if net.cross_zero else net.cross()
        if rtt > 0.0:
            heap, seq = st.hot or eng.hot()  # engine.after(rtt, ...)
            heappush(heap, (eng.now + rtt, next(seq), _deliver, (target, self.req, st.op, reply, arg)))
            return
        if _nested.n >= MAX_NESTED:  # a long chain of instant calls: go on from the event loop
            eng.at(eng.now, _deliver, (target, self.req, st.op, reply, arg))
            return
        _nested.n += 1
        try:
            target.handle(self.req, st.op, reply, arg)
        finally:
            _nested.n -= 1

    def reply(self, req: Request, err: str | None) -> None:
        if _nested.n >= MAX_NESTED:  # a long chain of instant replies: go on from the event loop
            self.host.engine.at(self.host.engine.now, self._reply_later, (req, err))
            return
        _nested.n += 1
        try:
            if err is None:  # _reply's first case, inlined: most replies are successes
                self.advance()
            else:
                self._reply(req, err)
        finally:
            _nested.n -= 1

    def _reply_later(self, args: tuple[Request, str | None]) -> None:
        self._reply(*args)

    def _reply(self, req: Request, err: str | None) -> None:
        if err is None:
            self.advance()
            return
        st = self.cur
        assert st is not None
        if err == MISS:
            if st.on_miss:
                if self.stack is None:
                    self.stack = []
                self.stack.append((self.steps, self.i))
                self.steps, self.i = st.on_miss, 0
            self.advance()
            return
        if err in RETRYABLE and self.attempt < st.retries and self.host.up:
            self.attempt += 1
            cap = st.backoff * (2 ** self.attempt)
            self.host.engine.after(cap * st.jitter(), self.send)  # type: ignore[misc]
            return
        self.host.finish(self, err)


class Probe(Run):
    """A load balancer's health-check request running the target's health handler: the host
    serves it like any request (workers, accept queue, calls) but does not count it as one of
    its requests (:meth:`cloudtwin.services.instance.Instance.finish`)."""

    __slots__ = ()


_advance = Run.advance  # engine callbacks taking the object as their argument
_expire = Attempt.expire


def _deliver(job: tuple[Component, Request, str, Any, Any]) -> None:
    """A request in flight on the network, delivered after the hop latency:
    ``job`` is ``(target, req, op, reply, arg)``."""
    target, req, op, reply, arg = job
    target.handle(req, op, reply, arg)
