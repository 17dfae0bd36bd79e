"""CT-REL-020: a queue without a dead-letter queue.

Every ``sqs`` component needs a ``dlq`` (its redrive policy), unless it is itself
a dead-letter queue: the ``dlq`` of another queue, of a Lambda function (or its
``on_failure`` destination), of an SNS subscription, of an EventBridge rule target
or the ``on_failure`` of a Kinesis stream consumer. The dead-letter setting
is read under any of the names in ``DLQ_KEYS``.
"""

from __future__ import annotations

from typing import Any

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule

DLQ_KEYS = ("dlq", "dead_letter_queue", "redrive_policy", "redrive", "dead_letter")


def dlq_of(c: Any) -> Any:
    for k in DLQ_KEYS:
        v = getattr(c, k, None)
        if v:
            return v
    return None


class QueueWithoutDlq(Rule):
    id = "CT-REL-020"
    title = "A queue has no dead-letter queue"
    pillar = "reliability"
    best_practices = ("REL05-BP04",)
    severity = "high"
    description = ("An `sqs` queue with no dead-letter queue (redrive policy): a message that always fails is "
                   "received again and again until it expires, blocking work and hiding the failure.")

    def check(self, ctx: Context) -> list[Finding]:
        queues = ctx.of_type("sqs")
        targets = {str(getattr(d, "target", d)) for _, q in queues if (d := dlq_of(q)) is not None}
        for _, c in ctx.of_type("lambda"):
            targets.update(t for t in (c.dlq, c.on_failure) if t)
        for _, c in ctx.of_type("sns"):
            targets.update(s.dlq for s in c.subscriptions if s.dlq)
        for _, c in ctx.of_type("eventbridge"):
            targets.update(t.dlq for r in c.rules for t in r.targets if t.dlq)
        for _, c in ctx.of_type("kinesis"):
            targets.update(k.on_failure for k in c.consumers if k.on_failure)
        out: list[Finding] = []
        for name, q in queues:
            if dlq_of(q) is not None or name in targets:
                continue
            out.append(self.finding(
                ctx, ("components", name),
                f"queue {name!r} has no dead-letter queue: a poison message is retried until its retention "
                f"expires, and is then lost silently.",
                "Give it a redrive policy to a dead-letter queue with `max_receive_count` of 5 or more "
                "[aws-facts §5, §6], and alarm on the DLQ's depth.",
                component=name, evidence=[Evidence("static", f"none of {', '.join(DLQ_KEYS)} is set")]))
        return out
