"""The links a spec declares between its components, in one place.

A link is "``src`` sends requests, messages, records or data to ``dst``": a DNS
record to its target, a load balancer to its targets, a topic to its subscribers
and its DLQs, a rule to its targets, a queue to the functions and services that
poll it, a stream to its consumers, a fleet to the file systems it mounts.
Handlers' ``call`` steps are links too, but they are walked by the review's
context (which keeps where each one is); workloads are not components.

The diagram draws every link; the review follows them to find what traffic can
reach. Both read this one list, so a new kind of link shows in both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cloudtwin import catalogue
from cloudtwin.spec.schema import Architecture

__all__ = ["ASYNC_OPS", "REFERS", "Link", "component_links"]

ASYNC_OPS = ("invoke_async", "run_task")  # calls that hand work over and do not wait for it
# the key naming the one component these types read from or invoke
REFERS = {"dax": "table", "athena": "bucket", "redshift": "load_bucket", "quicksight": "source",
          "cognito": "post_confirmation"}


@dataclass(frozen=True)
class Link:
    src: str
    dst: str
    label: str
    sync: bool  # the sender waits for the answer
    kind: str  # target, alias, origin, integration, subscription, dlq, event, event_source, stream, ...


def component_links(arch: Architecture) -> Iterator[Link]:
    """Every link a component's own keys declare (not handlers' calls), in spec order."""
    for n, c in arch.components.items():
        for src, dst, label, sync, kind in _of(n, c):
            if src and dst:
                yield Link(src, dst, label, sync, kind)


def _of(n: str, c: Any) -> Iterator[tuple[str | None, str | None, str, bool, str]]:
    t = c.type
    if t in catalogue.family("load_balancer"):
        for target in c.target_names:
            yield n, target, "", True, "target"
    elif t == "route53":
        for r in c.records:
            yield n, r.alias or r.a, f"{r.name} ({'alias' if r.alias else 'A'})", True, "alias"
    elif t == "cloudfront":
        for b in c.behaviors:
            yield n, b.origin, b.path, True, "origin"
    elif t == "apigateway":
        yield n, c.integration.target, c.integration.op, c.integration.op not in ASYNC_OPS, "integration"
    elif t == "sns":
        for s in c.subscriptions:
            yield n, s.target, s.protocol or "", False, "subscription"
            yield n, s.dlq, "dlq", False, "dlq"
    elif t == "sqs":
        yield n, c.dlq, "dlq", False, "dlq"
    elif t == "eventbridge":
        for r in c.rules:
            for rt in r.targets:
                yield n, rt.target, r.name, False, "event"
                yield n, rt.dlq, "dlq", False, "dlq"
    elif t == "lambda":
        for es in c.event_sources:
            yield es.queue, n, "event source", False, "event_source"
        yield n, c.dlq, "dlq", False, "dlq"
        yield n, c.on_failure, "on failure", False, "dlq"
    elif t == "ecs" and c.consumes is not None:
        yield c.consumes.queue, n, "poll", False, "event_source"
    elif t in ("kinesis", "dynamodb"):
        consumers = c.consumers if t == "kinesis" else (c.stream.consumers if c.stream else [])
        for s in consumers:
            yield n, s.function, "stream", False, "stream"
            yield n, s.on_failure, "on failure", False, "dlq"
    elif t == "s3":
        yield n, c.events, "events", False, "event"
        for nt in c.notifications:
            yield n, nt.target, "notification", False, "notification"
    elif t == "firehose":
        yield c.source, n, "source", False, "stream"
        yield n, c.s3, "deliver", False, "delivery"
        yield n, c.redshift, "COPY", False, "delivery"
        yield n, c.transform.function if c.transform else None, "transform", True, "call"
    elif t == "cloudtrail":
        yield n, c.bus, "events", False, "event"
    elif t == "cloudwatch_alarm":
        from cloudtwin.spec.cloudwatch import parse_action

        yield c.component, n, c.metric, False, "metric"
        for action in [*c.alarm_actions, *c.ok_actions]:
            kind, target, _ = parse_action(action)
            yield n, c.component if kind == "ec2" else target, action, False, "alarm_action"
    if t in REFERS:  # a DAX cluster's table, an Athena workgroup's bucket...
        yield n, getattr(c, REFERS[t]), REFERS[t].replace("_", " "), True, "reference"
    if t in catalogue.family("compute"):
        for m in c.mounts:
            yield n, m, "mount", True, "mount"
