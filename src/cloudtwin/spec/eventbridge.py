"""Schema of ``eventbridge``: a bus, its rules (event patterns or schedules), targets and retry policies.

An event is a message whose attributes are the event's fields, flattened with dots:
``source``, ``detail-type`` and ``detail.<name>...``. An event pattern is written nested, as in
AWS, and is checked and flattened here into a filter policy (:mod:`cloudtwin.spec.message`)
that :func:`cloudtwin.messaging.matches` evaluates.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.eventbridge`. :func:`check` returns the
cross-reference problems as ``(path, message)`` pairs.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Model, Name, Rate, expect
from cloudtwin.spec.loader import Path
from cloudtwin.spec.message import check_filter_policy
from cloudtwin.spec.schedule import parse_schedule
from cloudtwin.spec.units import parse_distribution as _d

MAX_TARGETS = 5  # per rule [aws-facts §8 Targets per rule]


MAX_RULES = 300  # per event bus [aws-facts §8 Rules per event bus]


MAX_PATTERN_CHARS = 2048  # [aws-facts §8 Other quotas]


MAX_RETRIES = 185  # [aws-facts §8 Default retry policy]


MAX_EVENT_AGE = 86_400.0  # 24 h [aws-facts §8 Default retry policy]


TOP_LEVEL = ("source", "detail-type", "account", "region", "resources", "id", "time", "version")


TARGET_KINDS = ("lambda", "ecs", "sqs", "sns")  # [issue 3]; AWS has many more



def _flatten(pattern: Any, prefix: str, out: dict[str, Any]) -> None:
    if not isinstance(pattern, dict) or not pattern:
        where = f" at {prefix!r}" if prefix else ""
        raise ValueError(f"an event pattern is a non-empty mapping of field names{where}, got {pattern!r}")
    for k, v in pattern.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict):
            _flatten(v, key, out)
        elif isinstance(v, list):
            out[key] = v
        else:
            raise ValueError(f"event pattern field {key!r}: values are lists (e.g. {key.rsplit('.', 1)[-1]}: "
                             f"[value]) or nested mappings, got {v!r}")


def check_event_pattern(pattern: Any) -> dict[str, list[Any]]:
    """Validate an EventBridge event pattern (the safe subset) and flatten it to dotted keys."""
    if len(json.dumps(pattern, default=str)) > MAX_PATTERN_CHARS:
        raise ValueError(f"an event pattern is at most {MAX_PATTERN_CHARS:,} characters [aws-facts §8]")
    flat: dict[str, Any] = {}
    _flatten(pattern, "", flat)
    return check_filter_policy(flat)


EventPattern = Annotated[dict[str, Any], AfterValidator(check_event_pattern)]


def _schedule(v: Any) -> str:
    return parse_schedule(v).text


ScheduleExpr = Annotated[str, BeforeValidator(_schedule)]


class RetryPolicy(Model):
    """A target's retry policy [aws-facts §8 Default retry policy]."""

    max_retries: int = Field(MAX_RETRIES, ge=0, le=MAX_RETRIES)
    max_event_age: Duration = Field(MAX_EVENT_AGE, ge=60, le=MAX_EVENT_AGE)


class RuleTarget(Model):
    target: Name
    dlq: Name | None = None  # a standard SQS queue [aws-facts §8 DLQ]
    retry_policy: RetryPolicy = Field(default_factory=RetryPolicy)


class Rule(Model):
    name: Name
    pattern: EventPattern | None = None
    schedule: ScheduleExpr | None = None
    targets: list[RuleTarget] = Field(min_length=1, max_length=MAX_TARGETS)

    @model_validator(mode="after")
    def _one_kind(self) -> Rule:
        if (self.pattern is None) == (self.schedule is None):
            raise ValueError("a rule needs exactly one of `pattern:` (an event pattern) or `schedule:` "
                             "(rate(...) or cron(...))")
        return self


class EventBridge(ComponentSpec):
    type: Literal["eventbridge"]
    rules: list[Rule] = Field(default_factory=list, max_length=MAX_RULES)
    latency: Dist = Field(default_factory=lambda: _d("lognormal(median=10ms, p99=50ms)"))  # PutEvents; assumption
    delivery_latency: Dist = Field(default_factory=lambda: _d("lognormal(median=250ms, p99=1s)"))  # assumption
    schedule_delay: Dist = Field(default_factory=lambda: _d("uniform(0s, 10s)"))  # "several seconds" [aws-facts §8]
    put_events_limit: Rate | None = Field(None, gt=0)  # default by Region [aws-facts §8 PutEvents throttle]
    invocation_limit: Rate | None = Field(None, gt=0)  # default 18,750/s [aws-facts §8 Invocation throttle]

    @model_validator(mode="after")
    def _unique(self) -> EventBridge:
        names = [r.name for r in self.rules]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"rule names must be unique on a bus; repeated: {', '.join(dup)}")
        return self


def check(arch: Any) -> list[tuple[Path, str]]:
    """Rule targets and their dead-letter queues."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for n, c in comps.items():
        if c.type != "eventbridge":
            continue
        for i, r in enumerate(c.rules):
            for j, t in enumerate(r.targets):
                p: Path = ("components", n, "rules", i, "targets", j)
                tc = expect(out, comps, (*p, "target"), t.target, TARGET_KINDS, "rule target")
                if tc is not None and tc.type in ("sqs", "sns") and tc.fifo:
                    out.append(((*p, "target"), f"{t.target!r} is a FIFO {'queue' if tc.type == 'sqs' else 'topic'}"
                                "; this model sends events to standard queues and topics only (no message group "
                                "id)"))
                if t.dlq is not None:
                    q = expect(out, comps, (*p, "dlq"), t.dlq, ("sqs",), "dead-letter queue")
                    if q is not None and q.fifo:
                        out.append(((*p, "dlq"), f"dead-letter queue {t.dlq!r} must be a standard queue "
                                    "[aws-facts §8 DLQ]"))
    return out
