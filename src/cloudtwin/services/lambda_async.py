"""Lambda's asynchronous invokes: the event queue, retries, throttle backoff and the dead end.

An asynchronous invoke (``<fn>.invoke_async``, an SNS subscription, :meth:`AsyncInvokes.push`)
is queued; a function error is retried ``retries`` times (2: 1 min then 2 min later, so 3
attempts in all); a throttled attempt goes back to the queue with backoff from 1 s doubling
to 5 min; an event older than ``max_event_age`` is not attempted again [aws-facts §5]. A
failed or expired event goes to ``on_failure`` if set, else ``dlq``, else it is lost. The
model as a whole: :mod:`cloudtwin.services.lambda_`, whose :class:`Lambda` takes these
methods from :class:`AsyncInvokes`.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component
from cloudtwin.messaging import MessageFactory
from cloudtwin.request import REJECTED, Done, Request

if TYPE_CHECKING:
    from cloudtwin.messaging import Ledger, Message
    from cloudtwin.metrics import Histogram
    from cloudtwin.services.lambda_runtime import Invocation

ASYNC_RETRY_DELAYS = (60.0, 120.0)  # [aws-facts §5 Async retries]
THROTTLE_BACKOFF = (1.0, 300.0)  # from 1 s up to 5 min [aws-facts §5 Async retries on throttles]
ASYNC_MAX_SIZE: Final = 1_048_576  # bytes [aws-facts §5 Payload limits, CHANGED]


class AsyncInvokes(Component):
    """The asynchronous invoke methods of :class:`cloudtwin.services.lambda_.Lambda` (their base,
    the attributes below are the function's)."""

    ledger: Ledger
    factory: MessageFactory
    holding: dict[int, Message]
    reserved: int | None
    async_in: int
    async_ok: int
    async_retries: int
    retries_dropped: int
    dead: int
    lost: int
    failed_after: dict[int, int]
    dl_target: Any
    e2e: Histogram

    @abstractmethod
    def start_invocation(self, msgs: list[Message] | None, cb: Any, *, rbif: bool = False,
                         user: tuple[int, int] | None = None) -> bool:
        """Run the handler: :meth:`cloudtwin.services.lambda_.Lambda.start_invocation`, declared
        here as the method it is, not as an attribute."""

    def _accept_async(self, req: Request, done: Done, arg: Any) -> None:
        """An asynchronous invoke from a caller: accepted at once (202); the event runs later."""
        factory = arg if isinstance(arg, MessageFactory) else self.factory
        if factory.size > ASYNC_MAX_SIZE:
            self.errors += 1
            done(req, REJECTED)
            return
        self.push(factory.make(self.ledger, self.engine.now))
        done(req, None)

    def push(self, msg: Message) -> str | None:
        """An asynchronous invoke with event ``msg``: queued (None), or ``rejected`` if too large."""
        if msg.size > ASYNC_MAX_SIZE:
            return REJECTED
        self.async_in += 1
        self.holding[msg.mid] = msg
        msg.attempts = msg.throttles = 0
        msg.t_accept = self.engine.now
        if self.reserved == 0:
            self._give_up(msg, "reserved_concurrency_0")
        else:
            self._attempt(msg)
        return None

    def _attempt(self, msg: Message) -> None:
        if self.engine.now - msg.t_accept >= self.spec.max_event_age:
            if msg.attempts:  # a retry was due and is not made
                self.retries_dropped += 1
            self._give_up(msg, "max_event_age")
            return
        msg.attempts += 1  # counted first: an invocation that fails at once reports before start_invocation returns
        if msg.attempts > 1:
            self.async_retries += 1  # a retry that runs (undone below if it is throttled)
        if not self.start_invocation([msg], self._async_done):
            msg.attempts -= 1  # a throttled attempt is not an attempt
            if msg.attempts:
                self.async_retries -= 1
            msg.throttles += 1
            lo, hi = THROTTLE_BACKOFF
            self.engine.after(min(hi, lo * 2.0 ** (msg.throttles - 1)), self._attempt, msg)
            return

    def _async_done(self, inv: Invocation) -> None:
        msg = inv.msgs[0]  # type: ignore[index]
        if inv.err is None:
            del self.holding[msg.mid]
            self.async_ok += 1
            if self.ledger.deliver(msg):
                self.e2e.record(self.engine.now - msg.t0)
        elif msg.attempts <= self.spec.retries:
            self.engine.after(ASYNC_RETRY_DELAYS[msg.attempts - 1], self._attempt, msg)
        else:
            self._give_up(msg, "retries_exhausted")

    def _give_up(self, msg: Message, why: str) -> None:
        del self.holding[msg.mid]
        self.failed_after[msg.attempts] = self.failed_after.get(msg.attempts, 0) + 1
        target = self.dl_target
        if target is not None and target.take_dead(msg, keep_enqueue_time=False) is None:
            self.dead += 1
            return
        self.lost += 1
        self.ledger.lose(msg, f"lambda_{why}" if target is None else "lambda_dlq_refused")
