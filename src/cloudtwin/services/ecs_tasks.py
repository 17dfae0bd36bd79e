"""What runs inside an ECS task: the worker loops of a queue-polling service, and a one-off run.

A task is an :class:`~cloudtwin.services.instance.Instance` (worker slots, the compiled handler)
owned by :class:`cloudtwin.services.ecs.ECS`; these classes drive it.

* :class:`Worker`: one per worker slot of a service task that ``consumes`` a queue. It
  receives up to ``batch_size`` messages with a ``wait``-second long poll, runs the handler
  once per message, one after another, and deletes each message it processed. A message
  that fails (a failed step, the ``poison`` rule, an ``error_rate`` draw) is not deleted:
  SQS makes it visible again after its visibility timeout. A worker of a stopping task
  (SIGTERM) finishes the message in hand and exits; the rest of its batch stays in flight
  and comes back after the visibility timeout. A killed task's messages come back the same
  way, so the queue keeps every message.
* :class:`OneOff`: a task started by RunTask for one event (an EventBridge target, or a
  handler's ``call: <ecs>.run_task``): it runs the handler once and stops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from cloudtwin.messaging import Message
from cloudtwin.request import Request

if TYPE_CHECKING:
    from cloudtwin.services.ecs import ECS
    from cloudtwin.services.instance import Instance

IDLE_PAUSE: Final = 1.0  # assumption: a short-polling worker (wait 0) sleeps this long after an empty receive
THROTTLE_PAUSE: Final = 1.0  # assumption: after a throttled receive


class Worker:
    """One worker loop of a service task: receive, process one by one, delete, repeat."""

    __slots__ = ("ecs", "task", "batch", "i", "_got", "_done", "_poll", "_checks")

    def __init__(self, ecs: ECS, task: Instance) -> None:
        self.ecs, self.task = ecs, task
        self.batch: list[Message] = []
        self.i = 0
        # bound once: the callbacks handed to the queue, the task and the engine
        self._got, self._done, self._poll = self.got, self.done, self.poll
        # whether a processed message may still fail (ecs.fails has work to do): decided once
        self._checks = ecs.spec.poison is not None or bool(ecs.spec.error_rate)

    def poll(self, _: object = None) -> None:
        task = self.task
        if task.meta["stopping"] or not task.live:
            self.exit()
            return
        ecs = self.ecs
        ecs.queue.receive(ecs.batch_size, ecs.wait, self._got)

    def got(self, msgs: list[Message] | None) -> None:
        ecs = self.ecs
        if msgs is None:  # the receive was throttled
            ecs.engine.after(THROTTLE_PAUSE, self._poll)
            return
        if not self.task.live:  # died while polling; what it received comes back after the timeout
            self.exit()
            return
        if not msgs:
            if ecs.wait > 0.0:
                self.poll()
            else:
                ecs.engine.after(IDLE_PAUSE, self._poll)
            return
        ecs.received += len(msgs)
        self.batch, self.i = msgs, 0
        self.next()

    def next(self) -> None:
        if self.i >= len(self.batch):
            self.batch = []
            self.ecs.engine.after(0.0, self._poll)  # a fresh event: no recursion through a long queue
            return
        if self.task.meta["stopping"]:
            self.batch = []
            self.exit()
            return
        self.task.handle(Request(self.ecs.engine.now, None, None), "", self._done)

    def done(self, req: Request, err: str | None) -> None:
        ecs = self.ecs
        msg = self.batch[self.i]
        self.i += 1
        if err is None and self._checks and ecs.fails(msg):  # fails() is False when it has nothing to check
            err = "server_error"
        if err is None:
            ecs.queue.delete_batch([msg])  # DeleteMessage: one request, as a batch of one is
            ecs.processed += 1
        else:
            ecs.failed_messages += 1
        if not self.task.live:
            self.batch = []
            self.exit()
            return
        self.next()

    def exit(self) -> None:
        meta = self.task.meta
        meta["loops"] -= 1
        if meta["loops"] == 0 and meta["stopping"]:
            self.ecs.stopped_gracefully(self.task)


class OneOff:
    """The single run of a task started for one event."""

    __slots__ = ("ecs", "task")

    def __init__(self, ecs: ECS, task: Instance) -> None:
        self.ecs, self.task = ecs, task

    def done(self, req: Request, err: str | None) -> None:
        self.ecs.run_ended(self.task, err)
