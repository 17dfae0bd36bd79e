"""An Elastic Beanstalk worker environment: its queue and the daemon on each instance.

The environment's queue ``<env>.queue`` (with its dead-letter queue ``<env>.dlq``) is an
ordinary ``sqs`` component; a workload entering the environment sends to it. On every
in-service instance of the group the daemon (sqsd) keeps ``http_connections`` loops, each
long-polling the queue for one message and POSTing it to the application on the instance
(a run of the environment's handler). A 200 (the handler succeeds) deletes the message;
anything else leaves it in flight, so it is received again after the visibility timeout,
and after ``max_retries`` receives SQS moves it to the dead-letter queue. An instance whose
application is down (a deployment restarting it) answers nothing: its POSTs fail the same
way. New instances get their daemon within ``DAEMON_CHECK`` seconds of going in service.

Defaults (assumptions, the sqsd options' documented defaults, not aws-facts rows):
VisibilityTimeout 300 s, MaxRetries 10, HttpConnections 50, a 20 s long poll. Left out: the
ErrorVisibilityTimeout (a failed message here waits the whole visibility timeout), the
InactivityTimeout, periodic tasks (cron.yaml), and receiving several messages per call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from cloudtwin.request import Request
from cloudtwin.services.sqs import SQS
from cloudtwin.spec.sqs import SQS as SQSSpec

if TYPE_CHECKING:
    from cloudtwin.messaging import Message
    from cloudtwin.services.asg import ASG
    from cloudtwin.services.beanstalk import Beanstalk
    from cloudtwin.services.instance import Instance

VISIBILITY_TIMEOUT: Final = 300.0  # sqsd VisibilityTimeout default (assumption: documented option default)
MAX_RETRIES: Final = 10  # sqsd MaxRetries default: receives before the dead-letter queue (assumption)
HTTP_CONNECTIONS: Final = 50  # sqsd HttpConnections default: concurrent POSTs per instance (assumption)
LONG_POLL: Final = 20.0  # the daemon long-polls for the maximum 20 s (assumption) [aws-facts §6]
DAEMON_CHECK: Final = 10.0  # how often new instances are given a daemon (assumption)
RETRY_PAUSE: Final = 1.0  # after a throttled receive (assumption)


def worker_parts(env: Beanstalk, group: ASG) -> tuple[SQS, Daemons]:
    """Add the queue and its dead-letter queue to ``env``; return the queue and the daemons."""
    dlq = env.add_part("dlq", SQS, SQSSpec.model_validate({"type": "sqs", "retention": 1_209_600.0}))
    spec = SQSSpec.model_validate({"type": "sqs", "visibility_timeout": VISIBILITY_TIMEOUT,
                                   "max_receive_count": MAX_RETRIES, "receive_wait": LONG_POLL, "dlq": "x"})
    queue: SQS = env.add_part("queue", SQS, spec.model_copy(update={"dlq": dlq.name}))
    return queue, Daemons(env, group, queue)


class Daemons:
    """The daemons of a worker environment's instances."""

    def __init__(self, env: Beanstalk, group: ASG, queue: SQS) -> None:
        self.env, self.group, self.queue = env, group, queue
        self.running: set[int] = set()  # id() of the instances with a daemon
        self.posted = self.succeeded = self.failed = 0

    def start(self) -> None:
        self.env.engine.every(DAEMON_CHECK, self.check, start=0.0)

    def check(self, _: float = 0.0) -> None:
        for g in self.env.groups:
            for m in g.members:
                if id(m) not in self.running and m.state == "running":
                    self.running.add(id(m))
                    for _k in range(HTTP_CONNECTIONS):
                        _Loop(self, m).poll()

    def stats(self) -> dict[str, Any]:
        return {"posted": self.posted, "succeeded": self.succeeded, "failed": self.failed,
                "daemons": len(self.running)}


class _Loop:
    """One of a daemon's connections: receive one message, POST it, delete it on success."""

    __slots__ = ("d", "inst", "msg")

    def __init__(self, d: Daemons, inst: Instance) -> None:
        self.d, self.inst = d, inst
        self.msg: Message | None = None

    def poll(self, _: object = None) -> None:
        if self.inst.state != "running":
            self.d.running.discard(id(self.inst))
            return  # the instance is gone: its daemon with it
        self.d.queue.receive(1, LONG_POLL, self.got)

    def got(self, msgs: list[Message] | None) -> None:
        if msgs is None:
            self.d.env.engine.after(RETRY_PAUSE, self.poll)
            return
        if not msgs:
            self.poll()
            return
        self.msg = msgs[0]
        self.d.posted += 1
        self.inst.handle(Request(self.d.env.engine.now, None, None), "", self.done)

    def done(self, req: Request, err: str | None) -> None:
        d = self.d
        if err is None and self.msg is not None:
            d.queue.delete(self.msg)
            d.succeeded += 1
        else:  # not deleted: SQS makes it visible again after the visibility timeout
            d.failed += 1
        self.msg = None
        d.env.engine.after(0.0, self.poll)
