"""Schema of ``sns``: a topic, its subscriptions, filter policies and delivery policies.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.sns`. :func:`check` returns the
cross-reference problems as ``(path, message)`` pairs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from cloudtwin import catalogue
from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Model, Name
from cloudtwin.spec.loader import Path
from cloudtwin.spec.message import FilterPolicy
from cloudtwin.spec.sqs import need_queue
from cloudtwin.spec.units import parse_distribution as _d

SNS_MAX_SIZE = 262_144  # bytes; the PublishBatch payload limit [aws-facts §7], applied to one publish



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


def subscription_protocol(sub: Subscription, comps: dict[str, Any]) -> str | None:
    if sub.protocol is not None:
        return sub.protocol
    kind = getattr(comps.get(sub.target or ""), "type", None)
    return {"sqs": "sqs", "lambda": "lambda"}.get(kind or "", "http" if kind else None)


HTTP_TARGETS = (*catalogue.family("load_balancer"), *catalogue.family("compute"))


def _check_subscription(topic: SNS, sub: Subscription, p: Path, comps: dict[str, Any],
                        out: list[tuple[Path, str]]) -> None:
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
        need_queue(out, comps, (*p, "dlq"), sub.dlq, "subscription dead-letter queue", fifo=topic.fifo)


def check(arch: Any) -> list[tuple[Path, str]]:
    """A topic's subscriptions: targets, protocols, FIFO pairing, dead-letter queues."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for n, c in comps.items():
        if c.type == "sns":
            for i, sub in enumerate(c.subscriptions):
                _check_subscription(c, sub, ("components", n, "subscriptions", i), comps, out)
    return out
