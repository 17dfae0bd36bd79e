"""Lambda's SQS event source mapping: pollers that receive batches and invoke the function.

What is modelled [aws-facts §5 SQS event source]
------------------------------------------------
* Each poller long-polls the queue (a 20 s wait, the maximum [aws-facts §6]; that
  the mapping uses it is an assumption) for up to 10 messages per call. With
  ``batch_size`` above 10 or a ``batching_window``, it keeps receiving until it
  holds ``batch_size`` messages or the window (from its first message) ends,
  then invokes the function once with the batch. Messages wait in flight
  meanwhile, which is why AWS wants the visibility timeout to cover 6 x the
  function timeout plus the window.
* The function handles the batch's messages one after another. Without
  ``report_batch_item_failures`` the first failure fails the invocation and no
  message of the batch is deleted: all of them come back after the visibility
  timeout, including those already processed. With it, the processed ones are
  deleted and only the failed ones come back. A timeout fails the whole batch.
* A throttled invocation leaves its batch in flight: the messages come back
  after the visibility timeout with one more receive counted (hence the advice
  of ``max_receive_count`` >= 5); the poller pauses 1 s (assumption).
* Scaling: 5 pollers at first; every 10 s, while more messages are visible than
  the pollers take in one round of receives (assumption: AWS documents only
  "while messages are available"), up to 50 more (300 per minute [aws-facts §5
  CHANGED]), to at most 1,000 or ``maximum_concurrency``; a poller whose long
  poll comes back empty stops while more than the first 5 run. On a FIFO queue the active message groups bound the
  useful pollers, since a group's messages are received one batch at a time.

Left out: the 6 MB payload limit of an invocation, event filtering on the
mapping, and the mapping's own back-off on function errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from cloudtwin.messaging import Message

if TYPE_CHECKING:
    from cloudtwin.services.lambda_ import Lambda
    from cloudtwin.services.lambda_runtime import Invocation
    from cloudtwin.services.sqs import SQS

START_POLLERS: Final = 5  # [aws-facts §5 SQS event source: scaling]
MAX_POLLERS: Final = 1000  # [aws-facts §5 SQS event source: scaling]
SCALE_STEP: Final = 50  # pollers added per 10 s: 300 per minute [aws-facts §5, CHANGED]
SCALE_PERIOD: Final = 10.0
LONG_POLL: Final = 20.0  # assumption: the mapping waits the maximum [aws-facts §6 Long polling]
RECEIVE_MAX: Final = 10  # messages per ReceiveMessage [aws-facts §6 Batch size]
THROTTLE_PAUSE: Final = 1.0  # assumption


class Mapping:
    """One event source mapping from an SQS queue to a function."""

    def __init__(self, fn: Lambda, spec: Any, queue: SQS) -> None:
        self.fn = fn
        self.queue = queue
        self.engine = fn.engine
        self.batch_size: int = spec.batch_size
        self.window: float = spec.batching_window
        self.rbif: bool = spec.report_batch_item_failures
        self.max = min(MAX_POLLERS, spec.maximum_concurrency or MAX_POLLERS)
        self.min = min(START_POLLERS, self.max)
        self.pollers = self.max_pollers = 0
        self.batches = self.messages = self.failed_messages = self.throttled_batches = 0

    def start(self) -> None:
        for _ in range(self.min):
            self.spawn()
        if self.max > self.min:
            self.engine.every(SCALE_PERIOD, self.scale, start=SCALE_PERIOD)

    def spawn(self) -> None:
        self.pollers += 1
        self.max_pollers = max(self.max_pollers, self.pollers)
        Poller(self).poll()

    def scale(self, now: float) -> None:
        if self.queue.visible_count() >= self.pollers * min(RECEIVE_MAX, self.batch_size):
            for _ in range(min(SCALE_STEP, self.max - self.pollers)):
                self.spawn()

    def stats(self) -> dict[str, Any]:
        return {"queue": self.queue.name, "batch_size": self.batch_size, "pollers": self.pollers,
                "max_pollers": self.max_pollers, "batches": self.batches, "messages": self.messages,
                "failed_messages": self.failed_messages, "throttled_batches": self.throttled_batches}


class Poller:
    """One poller: receive, gather a batch, invoke, delete what succeeded, repeat."""

    __slots__ = ("m", "batch", "t_first", "_got", "_done", "_poll", "_receive", "_n")

    def __init__(self, m: Mapping) -> None:
        self.m = m
        self.batch: list[Message] = []
        self.t_first = 0.0
        # bound once: the callbacks handed to the queue, the function and the engine
        self._got, self._done, self._poll = self.got, self.done, self.poll
        self._receive = m.queue.receive
        self._n = min(RECEIVE_MAX, m.batch_size)  # a receive's size with an empty batch

    def poll(self, _: object = None) -> None:
        if self.batch:
            m = self.m
            left = self.t_first + m.window - m.engine.now
            m.queue.receive(min(RECEIVE_MAX, m.batch_size - len(self.batch)), max(0.0, min(LONG_POLL, left)),
                            self._got)
        else:
            self._receive(self._n, LONG_POLL, self._got)

    def got(self, msgs: list[Message] | None) -> None:
        m = self.m
        now = m.engine.now
        if msgs and not self.batch and m.window <= 0.0:
            # no window: messages into an empty batch are invoked at once (the general path's
            # test ``now >= t_first + window`` holds), with the received list as the batch
            self.t_first = now
            m.batches += 1
            m.messages += len(msgs)
            if not m.fn.start_invocation(msgs, self._done, rbif=m.rbif):
                m.throttled_batches += 1
                m.engine.after(THROTTLE_PAUSE, self._poll)
            return
        if msgs is None:  # the queue throttled the receive
            if self.batch:
                self.invoke()
            else:
                m.engine.after(THROTTLE_PAUSE, self._poll)
            return
        if msgs:
            if not self.batch:
                self.t_first = now
            self.batch.extend(msgs)
        if self.batch:
            if len(self.batch) >= m.batch_size or now >= self.t_first + m.window:
                self.invoke()
            else:
                self.poll()
        elif m.pollers > m.min:
            m.pollers -= 1  # nothing to do: this poller stops
        else:  # self.poll() with an empty batch, written out
            self._receive(self._n, LONG_POLL, self._got)

    def invoke(self) -> None:
        m = self.m
        batch, self.batch = self.batch, []
        m.batches += 1
        m.messages += len(batch)
        if not m.fn.start_invocation(batch, self._done, rbif=m.rbif):
            m.throttled_batches += 1
            m.engine.after(THROTTLE_PAUSE, self._poll)

    def done(self, inv: Invocation) -> None:
        m = self.m
        msgs = inv.msgs or []
        ok = inv.ok if (m.rbif or inv.err is None) else []
        if ok:
            m.queue.delete_batch(ok)
        m.failed_messages += len(msgs) - len(ok)
        if inv.t_exec == m.engine.now:  # finished in the event it began: poll from a fresh event
            m.engine.after(0.0, self._poll)
        elif self.batch:
            self.poll()
        else:  # self.poll() with an empty batch, written out
            self._receive(self._n, LONG_POLL, self._got)
