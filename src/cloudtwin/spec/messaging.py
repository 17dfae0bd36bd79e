"""Schemas of the messaging components (``sqs``, ``sns``, ``lambda``) and their checks.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented
source (docs/spec.md lists them). :func:`check` holds the cross-reference rules
(dead-letter queues of the right type, FIFO pairing, concurrency budgets) and
:func:`warnings` the settings that are legal but that AWS advises against; both
return ``(path, message)`` pairs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from cloudtwin import catalogue
from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Model, Size
from cloudtwin.spec.message import FilterPolicy
from cloudtwin.spec.steps import CallStep, Step
from cloudtwin.spec.units import parse_distribution

# the same as components.Name / components.Zone (components imports this module, not the reverse)
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]
Zone = Annotated[str, Field(pattern=r"^[a-z]$")]
Path = tuple[str | int, ...]

ACCOUNT_CONCURRENCY = 1000  # per Region [aws-facts §5 Account concurrency]
UNRESERVED_MIN = 100  # at least this much must stay unreserved [aws-facts §5 Account concurrency]
SNS_MAX_SIZE = 262_144  # bytes; the PublishBatch payload limit [aws-facts §7], applied to one publish


def _d(text: str) -> Any:
    return parse_distribution(text)


class SQS(ComponentSpec):
    type: Literal["sqs"]
    fifo: bool = False
    visibility_timeout: Duration = Field(30.0, le=43_200)  # default 30 s, max 12 h [aws-facts §6]
    retention: Duration = Field(345_600.0, ge=60, le=1_209_600)  # 4 d; 60 s-14 d [aws-facts §6]
    delay: Duration = Field(0.0, le=900)  # default 0, max 15 min [aws-facts §6]
    receive_wait: Duration = Field(0.0, le=20)  # 0 = short polling; max 20 s [aws-facts §6]
    max_message_size: Size = Field(1_048_576.0, ge=1024, le=1_048_576)  # 1 MiB now [aws-facts §6 CHANGED]
    dlq: Name | None = None
    max_receive_count: int = Field(5, ge=1, le=1000)  # the recommended minimum [aws-facts §5]
    duplicate_rate: float = Field(1e-4, ge=0, le=1)  # assumption: at-least-once delivery [aws-facts §6]
    latency: Dist = Field(default_factory=lambda: _d("lognormal(median=5ms, p99=25ms)"))  # assumption


class DeliveryPolicy(Model):
    """The HTTP/S delivery retry policy [aws-facts §7 HTTP/S default policy]."""

    num_retries: int = Field(3, ge=0, le=100)
    min_delay: Duration = Field(20.0, le=3600)
    max_delay: Duration = Field(20.0, le=3600)
    backoff: Literal["linear", "exponential"] = "linear"

    @model_validator(mode="after")
    def _order(self) -> DeliveryPolicy:
        if self.min_delay > self.max_delay:
            raise ValueError(f"min_delay {self.min_delay:g}s > max_delay {self.max_delay:g}s")
        return self


PROTOCOLS = ("sqs", "lambda", "http", "https", "email")


class Subscription(Model):
    protocol: Literal["sqs", "lambda", "http", "https", "email"] | None = None  # default: from the target
    target: Name | None = None
    endpoint: str | None = Field(None, max_length=256)  # an email address (protocol email)
    filter_policy: FilterPolicy | None = None
    dlq: Name | None = None
    delivery_policy: DeliveryPolicy | None = None  # HTTP/S only
    error_rate: float = Field(0.0, ge=0, le=1)  # email: fraction of failed attempts (the endpoint is not simulated)

    @model_validator(mode="after")
    def _shape(self) -> Subscription:
        if self.protocol == "email":
            if self.target is not None or not self.endpoint:
                raise ValueError("an email subscription needs `endpoint:` (an address) and no `target:`")
        elif self.target is None:
            raise ValueError("a subscription needs `target:` (an sqs, lambda or http component), "
                             "or protocol: email with an endpoint")
        elif self.endpoint is not None:
            raise ValueError("`endpoint:` is for email subscriptions; give `target:` only")
        if self.delivery_policy is not None and self.protocol not in ("http", "https", None):
            raise ValueError("delivery_policy applies to http/https subscriptions only [aws-facts §7]")
        return self


class SNS(ComponentSpec):
    type: Literal["sns"]
    fifo: bool = False
    subscriptions: list[Subscription] = Field(default_factory=list)
    latency: Dist = Field(default_factory=lambda: _d("lognormal(median=10ms, p99=50ms)"))  # assumption
    delivery_latency: Dist = Field(default_factory=lambda: _d("lognormal(median=20ms, p99=100ms)"))  # assumption
    http_timeout: Duration = Field(15.0, gt=0, le=60)  # assumption


class EventSource(Model):
    """An SQS event source mapping [aws-facts §5 SQS event source]."""

    queue: Name
    batch_size: int = Field(10, ge=1, le=10_000)
    batching_window: Duration = Field(0.0, le=300)
    report_batch_item_failures: bool = False
    maximum_concurrency: int | None = Field(None, ge=2, le=1000)


class Lambda(ComponentSpec):
    type: Literal["lambda"]
    handler: list[Step] = Field(default_factory=list)
    memory: int = Field(128, ge=128, le=10_240)  # MB [aws-facts §5 Memory]; 128 is the API default
    timeout: Duration = Field(3.0, ge=1, le=900)  # default 3 s, max 900 s [aws-facts §5]
    reserved_concurrency: int | None = Field(None, ge=0, le=ACCOUNT_CONCURRENCY - UNRESERVED_MIN)
    provisioned_concurrency: int = Field(0, ge=0, le=ACCOUNT_CONCURRENCY - UNRESERVED_MIN)
    init_duration: Dist = Field(default_factory=lambda: _d("lognormal(median=250ms, p99=1.5s)"))  # assumption
    idle_timeout: Duration = Field(600.0, gt=0)  # assumption: an idle environment is reclaimed after this
    error_rate: float = Field(0.0, ge=0, le=1)
    poison: FilterPolicy | None = Field(default_factory=lambda: {"poison": [True]})
    retries: int = Field(2, ge=0, le=2)  # async retries [aws-facts §5]
    max_event_age: Duration = Field(21_600.0, ge=60, le=21_600)  # 6 h [aws-facts §5]
    dlq: Name | None = None
    on_failure: Name | None = None
    event_sources: list[EventSource] = Field(default_factory=list)
    zones: list[Zone] | None = None  # where environments run; default the spec's zones

    @model_validator(mode="after")
    def _provisioned(self) -> Lambda:
        r = self.reserved_concurrency
        if r is not None and self.provisioned_concurrency > r:
            raise ValueError(f"provisioned_concurrency {self.provisioned_concurrency} exceeds "
                             f"reserved_concurrency {r}")
        return self


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


def subscription_protocol(sub: Subscription, comps: dict[str, Any]) -> str | None:
    if sub.protocol is not None:
        return sub.protocol
    kind = getattr(comps.get(sub.target or ""), "type", None)
    return {"sqs": "sqs", "lambda": "lambda"}.get(kind or "", "http" if kind else None)


HTTP_TARGETS = (*catalogue.family("load_balancer"), *catalogue.family("compute"))


def check(arch: Any) -> list[tuple[Path, str]]:
    """Cross-reference problems of the messaging components."""
    out: list[tuple[Path, str]] = []
    comps = arch.components

    def queue(path: Path, name: str, what: str, *, fifo: bool | None = None) -> None:
        q = comps.get(name)
        if q is None or q.type != "sqs":
            got = "not a component" if q is None else f"a {q.type}"
            out.append((path, f"{what} {name!r} must be an sqs queue; it is {got}"))
        elif fifo is not None and q.fifo != fifo:
            want = "FIFO" if fifo else "standard"
            out.append((path, f"{what} {name!r} must be a {want} queue [aws-facts §6 DLQ and redrive policy]"))

    reserved = 0
    for n, c in comps.items():
        base: Path = ("components", n)
        if c.type == "sqs" and c.dlq is not None:
            if c.dlq == n:
                out.append(((*base, "dlq"), "a queue cannot be its own dead-letter queue"))
            else:
                queue((*base, "dlq"), c.dlq, "dead-letter queue", fifo=c.fifo)
        if c.type == "sns":
            for i, sub in enumerate(c.subscriptions):
                _check_subscription(c, sub, (*base, "subscriptions", i), comps, out, queue)
        if c.type == "lambda":
            reserved += c.reserved_concurrency or 0
            for key in ("dlq", "on_failure"):
                if getattr(c, key) is not None:
                    queue((*base, key), getattr(c, key), "a Lambda " + key.replace("_", "-"), fifo=False)
            for i, es in enumerate(c.event_sources):
                p = (*base, "event_sources", i)
                queue((*p, "queue"), es.queue, "event source")
                q = comps.get(es.queue)
                if getattr(q, "fifo", False) and es.batch_size > 10:
                    out.append(((*p, "batch_size"), f"a FIFO queue allows batch_size at most 10, got "
                                f"{es.batch_size} [aws-facts §5 SQS event source: batch]"))
                if es.batch_size > 10 and es.batching_window < 1:
                    out.append(((*p, "batching_window"), f"batch_size {es.batch_size} > 10 needs "
                                "batching_window >= 1s [aws-facts §5 SQS event source: batch]"))
    if reserved > ACCOUNT_CONCURRENCY - UNRESERVED_MIN:
        first = next(n for n, c in comps.items() if c.type == "lambda" and c.reserved_concurrency)
        out.append((("components", first, "reserved_concurrency"), f"the functions reserve {reserved} in all; "
                    f"at most {ACCOUNT_CONCURRENCY - UNRESERVED_MIN} of the account's {ACCOUNT_CONCURRENCY} "
                    "may be reserved [aws-facts §5 Account concurrency]"))
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


def _check_subscription(topic: SNS, sub: Subscription, p: Path, comps: dict[str, Any],
                        out: list[tuple[Path, str]], queue: Any) -> None:
    proto = subscription_protocol(sub, comps)
    target = comps.get(sub.target or "")
    if sub.target is not None and target is None:
        out.append(((*p, "target"), f"subscription target {sub.target!r} is not a component"))
        return
    if proto in ("sqs", "lambda") and target is not None and target.type != proto:
        out.append(((*p, "target"), f"a {proto} subscription needs a {proto} target; {sub.target!r} is a "
                    f"{target.type}"))
    if proto in ("http", "https") and target is not None and target.type not in HTTP_TARGETS:
        out.append(((*p, "target"), f"an http subscription needs a load balancer or instances "
                    f"({', '.join(HTTP_TARGETS)}); {sub.target!r} is a {target.type}"))
    if topic.fifo and proto != "sqs":
        out.append(((*p, "protocol"), "a FIFO topic delivers only to SQS queues"))
    if proto == "sqs" and target is not None and target.type == "sqs" and target.fifo and not topic.fifo:
        out.append(((*p, "target"), f"FIFO queue {sub.target!r} cannot subscribe to a standard topic; "
                    "make the topic `fifo: true` or the queue standard"))
    if sub.dlq is not None:
        queue((*p, "dlq"), sub.dlq, "subscription dead-letter queue", fifo=topic.fifo)


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """Legal settings AWS advises against: printed by validate and run, never fatal."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for n, c in comps.items():
        if c.type == "lambda":
            for i, es in enumerate(c.event_sources):
                q = comps.get(es.queue)
                if q is None or q.type != "sqs":
                    continue
                p: Path = ("components", n, "event_sources", i, "queue")
                need = 6 * c.timeout + es.batching_window
                if q.visibility_timeout < need:
                    over = " (it is even below the function timeout)" if q.visibility_timeout < c.timeout else ""
                    out.append((p, f"queue {es.queue!r} has visibility_timeout {q.visibility_timeout:g}s{over}; "
                                f"AWS recommends at least 6 x the function timeout + batching_window = {need:g}s "
                                "[aws-facts §5]: a batch still running when its messages turn visible again is "
                                "received and processed twice"))
                if q.dlq is not None and q.max_receive_count < 5:
                    out.append((p, f"queue {es.queue!r} has max_receive_count {q.max_receive_count}; AWS "
                                "recommends at least 5 with a Lambda consumer [aws-facts §5], or throttled "
                                "batches reach the dead-letter queue"))
        if c.type == "sqs" and c.dlq is not None:
            d = comps.get(c.dlq)
            if d is not None and d.type == "sqs" and d.retention <= c.retention:
                out.append((("components", n, "dlq"), f"dead-letter queue {c.dlq!r} keeps messages "
                            f"{d.retention:g}s, not longer than {n!r} ({c.retention:g}s): expiry counts from "
                            "the original enqueue time [aws-facts §6], so moved messages may expire at once"))
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
    state: dict[str, int] = {}

    def visit(n: str, trail: list[str]) -> list[str]:
        state[n] = 1
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1 and m in trail:
                return [*trail[trail.index(m):], m]
            if m not in state:
                found = visit(m, [*trail, m])
                if found:
                    return found
        state[n] = 2
        return []

    for n in sorted(edges):
        if n not in state:
            found = visit(n, [n])
            if found:
                return found
    return []
