"""Checks of the asynchronous message flow across services: ``message:`` where no message is
sent, and loops of sends, publishes, subscriptions and event sources (a warning).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cloudtwin.spec.graph import first_cycle
from cloudtwin.spec.loader import Path
from cloudtwin.spec.steps import CallStep, Step


def _handlers(arch: Any) -> Iterator[tuple[str, list[Step]]]:
    for n, c in arch.components.items():
        if c.type in ("ec2", "asg", "lambda", "ecs"):
            yield n, c.handler


def _calls(steps: list[Step], path: Path) -> Iterator[tuple[CallStep, Path]]:
    for i, st in enumerate(steps):
        if isinstance(st, CallStep):
            yield st, (*path, i)
            if st.on_miss:
                yield from _calls(st.on_miss, (*path, i, "on_miss"))


def check(arch: Any) -> list[tuple[Path, str]]:
    """`message:` given where no message is sent."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for wname, w in arch.workloads.items():
        kind = getattr(comps.get(w.entry), "type", None)
        if w.message is not None and kind not in ("sqs", "sns", "kinesis", "eventbridge", "s3", "cloudtrail",
                                                  "firehose"):
            out.append((("workloads", wname, "message"), "`message:` applies to a workload whose entry is an "
                        "sqs, sns, kinesis, eventbridge, s3, cloudtrail or firehose component"))
    for n, steps in _handlers(arch):
        for st, p in _calls(steps, ("components", n, "handler")):
            kind = getattr(comps.get(st.target), "type", None)
            if st.message is not None and not (kind in ("sqs", "sns", "kinesis", "eventbridge", "s3", "cloudtrail",
                                                         "ecs", "firehose")
                                               or (kind == "lambda" and st.op == "invoke_async")):
                out.append(((*p, "message"), "`message:` applies to a call to an sqs queue (send), an sns "
                            "topic (publish), a kinesis stream, an eventbridge bus, an s3 bucket or a firehose "
                            "(put), a cloudtrail trail, an ecs cluster (run_task) or a lambda (invoke_async)"))
    return out


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """A loop in the asynchronous message flow: legal, but each message may cause another for ever."""
    out: list[tuple[Path, str]] = []
    loop = _message_loop(arch)
    if loop:
        out.append((("components", loop[0]), f"messages can go round in a loop ({' -> '.join(loop)}): each one "
                    "may cause another for ever, and the run grows without bound (AWS's recursive loop "
                    "detection is not modelled)"))
    return out


def _message_loop(arch: Any) -> list[str]:
    """A cycle in the asynchronous flow (sends, publishes, async invokes, subscriptions, event
    sources), as component names, or []."""
    comps = arch.components
    edges: dict[str, set[str]] = {n: set() for n in comps}
    for n, c in comps.items():
        if c.type == "sns":
            edges[n].update(s.target for s in c.subscriptions if s.target)
        if c.type == "lambda":
            for es in c.event_sources:
                edges.setdefault(es.queue, set()).add(n)
        if c.type in ("ec2", "asg", "lambda"):
            for st, _ in _calls(c.handler, ()):
                edges[n].add(st.target)
        if c.type == "kinesis":
            edges[n].update(k.function for k in c.consumers)
        if c.type == "apigateway":
            edges[n].add(c.integration.target)
    return first_cycle(edges)
