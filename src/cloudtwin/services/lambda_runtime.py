"""Where a Lambda invocation runs: execution environments and invocations.

An :class:`Env` is the host a handler :class:`~cloudtwin.handler.Run` executes on, with one
slot: a ``cpu`` step takes its time x the function's ``cpu_scale`` (1,769 MB = 1 vCPU). An
:class:`Invocation` runs the function's steps once (a synchronous call or one async event)
or once per message of a batch, one message after another, and decides each outcome: a
failed step, a message matching the ``poison`` rule, or a draw under ``error_rate`` fails
it. Without partial batch responses the first failure ends the batch. The ``timeout`` is a
timer only when the handler has ``call`` or ``sleep`` steps; with ``cpu`` steps alone the
deadline is checked when a step is scheduled. A timed-out environment is discarded.
:class:`cloudtwin.services.lambda_.Lambda` owns both and does the accounting in ``end()``.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.handler import Run, _advance
from cloudtwin.messaging import Message
from cloudtwin.metrics import BATCH
from cloudtwin.request import SERVER_ERROR, TIMEOUT, Done, Request, new_request

if TYPE_CHECKING:
    from cloudtwin.services.lambda_ import Lambda


class Env:
    """One execution environment: the host a handler Run executes on (one slot).

    ``up`` is False once the environment is discarded (a timed-out invocation's)."""

    __slots__ = ("fn", "ctx", "engine", "hot", "zone", "up", "run", "inv", "last_used", "provisioned")

    def __init__(self, fn: Lambda, zone: str, provisioned: bool = False) -> None:
        self.fn = fn
        self.ctx = fn.ctx
        self.engine = fn.engine
        self.hot = fn.engine.hot()
        self.zone = zone
        self.up = True
        self.run: Run | None = None
        self.inv: Invocation | None = None
        self.last_used = fn.engine.now
        self.provisioned = provisioned

    def cpu(self, run: Run, seconds: float) -> None:
        """``engine.at(end, run.advance)``, pushed straight on the heap without a bound method
        (``end`` is never before now: a step's time is not negative)."""
        fn = self.fn
        inv = self.inv
        assert inv is not None
        eng = self.engine
        now = eng.now
        end = now + seconds * fn.cpu_scale
        if not fn.needs_timer and end > inv.deadline:
            eng.at(inv.deadline, _inv_expire, inv)
            return
        heap, seq = self.hot
        heappush(heap, (end if end > now else now, next(seq), _advance, run))

    def finish(self, run: Run, err: str | None) -> None:
        """The handler run ended. An invocation without messages (a synchronous or asynchronous
        invoke: one run) takes :meth:`Invocation.step_done` inlined here (its ``msg`` is None, so
        only the ``error_rate`` draw can fail it), one frame fewer per invocation."""
        inv = self.inv
        if run is self.run and inv is not None:
            self.run = None
            if inv.msgs is not None:
                inv.step_done(err)
                return
            fn = inv.fn
            inv.pending = False
            if err is None and fn.error_rate and fn.u() < fn.error_rate:
                err = SERVER_ERROR
            inv.i += 1
            if err is not None:
                fn.errors_in += 1
                inv.err = err
                if not inv.rbif:
                    inv.i = inv.n
            if not inv.sync and inv.live:  # i >= n: the only run is done (next() ends it when sync)
                fn.end(inv, None)


class Invocation:
    """One invocation: the handler once (sync, or one async event) or once per message of a batch."""

    __slots__ = ("fn", "env", "msgs", "n", "i", "cb", "t_exec", "deadline", "live", "ok", "failed", "err",
                 "sync", "pending", "rbif", "user", "req", "done", "t_in", "th")

    # made by new_invocation and begun_sync, every field set there (no __init__: compiled, a
    # class without one can be made blank; interpreted, a class call costs a frame)
    fn: Lambda
    env: Env
    msgs: list[Message] | None
    n: int
    i: int
    cb: Any
    t_exec: float
    deadline: float
    live: bool
    # the messages that succeeded and failed; an invocation without messages (a synchronous or
    # asynchronous invoke) never adds to them, so it shares one empty tuple
    ok: list[Message] | tuple[()]
    failed: list[Message] | tuple[()]
    err: str | None
    sync: bool
    pending: bool
    rbif: bool
    user: tuple[int, int] | None  # a synchronous caller's user (req.user), whom the handler acts for
    # a synchronous invoke's caller (see sync_fin): its request, reply and arrival time
    req: Request | None
    done: Done | None
    t_in: float
    th: int  # the timeout timer's handle, if it has one (fn.needs_timer at begin)

    def begin(self, _: object = None) -> None:
        fn = self.fn
        now = fn.engine.now
        self.t_exec = now
        self.deadline = now + fn.timeout
        if fn.needs_timer:  # at(self.deadline): the same now + timeout, through the timeout's FIFO
            self.th = fn.timeout_timer.start(_inv_expire, self)
        self.next()

    def next(self) -> None:
        fn, env = self.fn, self.env
        if fn.cpu_only is not None and self.msgs is not None and env.up:
            self._next_cpu()
            return
        while self.live:
            if self.i >= self.n:
                fn.end(self, None)
                return
            self.sync = self.pending = True
            req = new_request(fn.engine.now, None, None)
            req.user = self.user
            if self.msgs is not None:  # the record's user (a DynamoDB stream write's) is whom the run acts for
                attrs = self.msgs[self.i].attrs
                uid = attrs.get("user") if attrs is not None else None
                if isinstance(uid, int) and not isinstance(uid, bool):
                    req.user = (uid, uid)
            run = Run(env, req, None, fn.steps, fn.engine.now)
            env.run = run
            run.advance()
            self.sync = False
            if self.pending:
                return  # step_done() continues when the handler finishes

    def _next_cpu(self) -> None:
        """:meth:`next` for a batch whose handler is one ``cpu`` step (a Firehose transform, a
        queue consumer that only computes), without a Request, a :class:`Run` or their frames.

        The general path would build both, and ``Run.advance`` would call ``Env.cpu``: the same
        draw of the step's sampler, the same deadline test (such a handler has no timer: a step
        that would end past the deadline schedules :meth:`expire` at it instead) and the same
        heap entry at the step's end, whose callback (:func:`_cpu_done`) does what
        ``Run.advance`` then ``Env.finish`` would do there: :meth:`step_done` with no error.
        Nothing can take the environment down in between (only :meth:`expire` does, and it is
        not scheduled on this path), and the handler's steps are re-read per message, as the
        general path reads them, so an injected fault step sends the next message the general
        way. A record's user is not read: a cpu step makes no call to act for anyone."""
        fn, env = self.fn, self.env
        env.run = None
        if not self.live:
            return
        if self.i >= self.n:
            fn.end(self, None)
            return
        eng = fn.engine
        now = eng.now
        self.pending = True
        self.sync = False
        end = now + fn.cpu_only() * fn.cpu_scale  # Env.cpu, inline
        if end > self.deadline:
            eng.at(self.deadline, _inv_expire, self)
            return
        heap, seq = env.hot
        heappush(heap, (end if end > now else now, next(seq), _cpu_done, self))

    def step_done(self, err: str | None) -> None:
        fn = self.fn
        self.pending = False
        msg = self.msgs[self.i] if self.msgs is not None else None
        if err is None and ((msg is not None and fn.poison is not None and msg.attrs is not None
                             and fn.poison(msg.attrs)) or (fn.error_rate and fn.u() < fn.error_rate)):
            err = SERVER_ERROR
        self.i += 1
        if msg is not None:
            (self.ok if err is None else self.failed).append(msg)  # type: ignore[union-attr]
        if err is not None:
            fn.errors_in += 1
            self.err = err
            if not self.rbif:
                self.i = self.n  # the function throws: the rest of the batch is not processed
        if not self.sync:
            if self.i >= self.n:  # next()'s first case, inlined: the last (or only) run is done
                if self.live:
                    fn.end(self, None)
            else:
                self.next()

    def expire(self, _: object = None) -> None:
        if self.live and self.fn.engine.now >= self.deadline:
            self.env.up = False  # a timed-out environment is reset
            self.err = TIMEOUT
            self.fn.timeouts += 1
            self.fn.end(self, TIMEOUT)


_inv_expire = Invocation.expire  # an engine callback taking the invocation as its argument


def _cpu_done(inv: Invocation) -> None:
    """The end of :meth:`Invocation._next_cpu`'s cpu step: ``Run.advance`` (no step left) and
    ``Env.finish`` (this environment's invocation) as they would run here, then step_done."""
    if inv.env.inv is inv:
        inv.step_done(None)
_new: Final = Invocation.__new__  # object.__new__ interpreted; compiled, the class's own (no __init__ to run)


def new_invocation(fn: Lambda, env: Env, msgs: list[Message] | None, cb: Any, rbif: bool,
                   user: tuple[int, int] | None = None) -> Invocation:
    """An invocation of ``fn`` in ``env``: of the batch ``msgs`` (None: one invoke, sync or
    async), whose end calls ``cb(inv)``; ``rbif``: report batch item failures. Not begun."""
    inv: Invocation = _new(Invocation)
    inv.fn, inv.env, inv.msgs, inv.cb, inv.rbif = fn, env, msgs, cb, rbif
    inv.user = user
    inv.n = len(msgs) if msgs is not None else 1
    inv.i = 0
    inv.t_exec = inv.deadline = 0.0
    inv.live = True
    inv.ok = [] if msgs is not None else ()
    inv.failed = [] if msgs is not None else ()
    inv.err = None
    inv.sync = inv.pending = False
    inv.req = inv.done = None
    inv.t_in = 0.0
    inv.th = -1
    return inv


def begun_sync(fn: Lambda, env: Env, req: Request, done: Done, now: float) -> Invocation:
    """A synchronous invoke's invocation as ``new_invocation(fn, env, None, sync_fin, False, user)``
    with its caller (``req``, ``done``, ``t_in``) and :meth:`Invocation.begin`'s clock fields
    set, and marked running its one handler run (``sync``, ``pending``) as ``next()`` does: the
    fields are set here, not by :func:`new_invocation` behind a call (a frame more, once per
    invoke). Keep in step with :func:`new_invocation`."""
    inv: Invocation = _new(Invocation)
    inv.fn, inv.env, inv.msgs, inv.cb, inv.rbif = fn, env, None, sync_fin, False
    inv.user = getattr(req, "user", None)
    inv.n = 1
    inv.i = 0
    inv.t_exec = now
    inv.deadline = now + fn.timeout
    inv.live = True
    inv.ok = inv.failed = ()
    inv.err = None
    inv.sync = inv.pending = True
    inv.req, inv.done, inv.t_in = req, done, now
    inv.th = -1
    return inv


def sync_fin(inv: Invocation) -> None:
    """The end of a synchronous invoke (an invocation's ``cb``): its caller, kept on the
    invocation itself (``req``, ``done``, ``t_in``), gets the outcome. The invocation may wait
    for its timeout timer long after: the references to the caller are dropped here."""
    fn = inv.fn
    if inv.err is None:
        b = fn.lat_buf  # fn.latency.record(...), inlined
        b.append(fn.engine.now - inv.t_in)
        if len(b) >= BATCH:
            fn.latency.flush()
    else:
        fn.errors += 1
    done, req = inv.done, inv.req
    inv.done = inv.req = None
    done(req, inv.err)  # type: ignore[misc,arg-type]
