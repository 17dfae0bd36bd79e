"""Schemas of the event-driven components (``eventbridge``, ``ecs``, ``cloudtrail``) and their
cross-reference checks (the ``s3`` bucket's schema is in :mod:`cloudtwin.spec.s3`; its bus is checked here).

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). An event is a message whose attributes are the event's fields,
flattened with dots: ``source``, ``detail-type`` and ``detail.<name>...``. An event pattern
is written nested, as in AWS (``{detail: {eventName: [DeleteBucket]}}``), and is checked and
flattened here into a filter policy (:mod:`cloudtwin.spec.message`) that
:func:`cloudtwin.messaging.matches` evaluates. :func:`check` returns ``(path, message)``
pairs like :func:`cloudtwin.spec.messaging.check`.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Model, Rate, Size
from cloudtwin.spec.message import FilterPolicy, check_filter_policy
from cloudtwin.spec.schedule import parse_schedule
from cloudtwin.spec.steps import Step
from cloudtwin.spec.units import parse_distribution

# the same as components.Name / components.Zone (components imports this module, not the reverse)
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]
Zone = Annotated[str, Field(pattern=r"^[a-z]$")]
Path = tuple[str | int, ...]

MAX_TARGETS = 5  # per rule [aws-facts §8 Targets per rule]
MAX_RULES = 300  # per event bus [aws-facts §8 Rules per event bus]
MAX_PATTERN_CHARS = 2048  # [aws-facts §8 Other quotas]
MAX_RETRIES = 185  # [aws-facts §8 Default retry policy]
MAX_EVENT_AGE = 86_400.0  # 24 h [aws-facts §8 Default retry policy]
TOP_LEVEL = ("source", "detail-type", "account", "region", "resources", "id", "time", "version")
TARGET_KINDS = ("lambda", "ecs", "sqs", "sns")  # [issue 3]; AWS has many more


def _d(text: str) -> Any:
    return parse_distribution(text)


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


class Consumes(Model):
    """The SQS queue a service's tasks poll."""

    queue: Name
    batch_size: int = Field(1, ge=1, le=10)  # MaxNumberOfMessages (API default 1); at most 10 [aws-facts §6]
    wait: Duration = Field(20.0, le=20)  # long polling, at most 20 s [aws-facts §6]; 20 s: assumption


def _consumes(v: Any) -> Any:
    return {"queue": v} if isinstance(v, str) else v


class EcsScaling(Model):
    """Target tracking on the queue's backlog per task."""

    target_backlog_per_task: float = Field(gt=0)
    min: int = Field(1, ge=0, le=5000)
    max: int = Field(ge=1, le=5000)
    scale_out_cooldown: Duration = 300.0  # assumption (Application Auto Scaling's default; no facts row)
    scale_in_cooldown: Duration = 300.0  # assumption
    disable_scale_in: bool = False


class ECS(ComponentSpec):
    type: Literal["ecs"]
    launch_type: Literal["fargate", "ec2"] = "fargate"
    cpu: float = Field(0.25, ge=0.25, le=16)  # vCPU per task; Fargate at most 16 [aws-facts §16]
    memory: Size = Field(512 * 1024**2, ge=128 * 1024**2, le=120 * 1024**3)  # at most 120 GB [aws-facts §16]
    workers: int | None = Field(None, ge=1, le=1024)  # default: max(1, floor(cpu))
    handler: list[Step] = Field(default_factory=list)
    desired: int = Field(0, ge=0, le=5000)  # service tasks; 0: one-off tasks (RunTask) only
    consumes: Annotated[Consumes | None, BeforeValidator(_consumes)] = None
    scaling: EcsScaling | None = None
    startup_time: Dist = Field(default_factory=lambda: _d("uniform(20s, 60s)"))  # assumption
    fargate_spot: float = Field(0.0, ge=0, le=1)  # the share of tasks on Fargate Spot
    stop_timeout: Duration = Field(30.0, le=120)  # default 30 s, max 120 s [aws-facts §16]
    max_tasks: int | None = Field(None, ge=1, le=100_000)
    overlap: Literal["allow", "skip"] = "allow"
    error_rate: float = Field(0.0, ge=0, le=1)
    poison: FilterPolicy | None = Field(default_factory=lambda: {"poison": [True]})
    zones: list[Zone] | None = None

    @property
    def backlog(self) -> int:
        return 0  # a task's worker loops never queue work inside the task

    @property
    def slots(self) -> int:
        return self.workers or max(1, math.floor(self.cpu))

    @model_validator(mode="after")
    def _shape(self) -> ECS:
        if self.scaling is not None:
            if self.consumes is None:
                raise ValueError("scaling tracks the backlog of the queue the service consumes: add `consumes:`")
            s = self.scaling
            if not s.min <= self.desired <= s.max:
                raise ValueError(f"need scaling.min <= desired <= scaling.max, got {s.min} <= {self.desired} "
                                 f"<= {s.max}")
        if self.consumes is not None and self.desired == 0 and self.scaling is None:
            raise ValueError("a service that consumes a queue needs `desired:` >= 1 (or `scaling:`)")
        if self.fargate_spot and self.launch_type != "fargate":
            raise ValueError("fargate_spot needs launch_type: fargate")
        if self.max_tasks is not None and self.desired > self.max_tasks:
            raise ValueError(f"desired {self.desired} exceeds max_tasks {self.max_tasks}")
        return self


class CloudTrail(ComponentSpec):
    type: Literal["cloudtrail"]
    bus: Name
    service: str = Field("iam", pattern=r"^[a-z0-9-]+$", max_length=64)
    latency: Dist = Field(default_factory=lambda: _d("lognormal(median=20ms, p99=100ms)"))  # the API call; assumption
    delivery_delay: Dist = Field(default_factory=lambda: _d("lognormal(median=30s, p99=3m)"))  # assumption
    best_effort_loss: float = Field(0.0, ge=0, le=1)


# ---------------------------------------------------------------- checks
def check(arch: Any) -> list[tuple[Path, str]]:
    """Cross-reference problems of the event-driven components."""
    out: list[tuple[Path, str]] = []
    comps = arch.components

    def need(path: Path, name: str, kinds: tuple[str, ...], what: str) -> Any:
        c = comps.get(name)
        if c is None:
            out.append((path, f"{what} {name!r} is not a component (have: {', '.join(sorted(comps))})"))
        elif c.type not in kinds:
            article = "an" if c.type[0] in "aeiou" else "a"
            out.append((path, f"{what} {name!r} is {article} {c.type}; expected {' or '.join(kinds)}"))
        else:
            return c
        return None

    for n, c in comps.items():
        base: Path = ("components", n)
        if c.type == "eventbridge":
            for i, r in enumerate(c.rules):
                for j, t in enumerate(r.targets):
                    p: Path = (*base, "rules", i, "targets", j)
                    tc = need((*p, "target"), t.target, TARGET_KINDS, "rule target")
                    if tc is not None and tc.type in ("sqs", "sns") and tc.fifo:
                        out.append(((*p, "target"), f"{t.target!r} is a FIFO {'queue' if tc.type == 'sqs' else 'topic'}"
                                    "; this model sends events to standard queues and topics only (no message group "
                                    "id)"))
                    if t.dlq is not None:
                        q = need((*p, "dlq"), t.dlq, ("sqs",), "dead-letter queue")
                        if q is not None and q.fifo:
                            out.append(((*p, "dlq"), f"dead-letter queue {t.dlq!r} must be a standard queue "
                                        "[aws-facts §8 DLQ]"))
        elif c.type == "ecs":
            if c.consumes is not None:
                need((*base, "consumes", "queue"), c.consumes.queue, ("sqs",), "consumed queue")
        elif c.type == "cloudtrail":
            need((*base, "bus"), c.bus, ("eventbridge",), "event bus")
        elif c.type == "s3" and c.events is not None:
            need((*base, "events"), c.events, ("eventbridge",), "event bus")
    for i, f in enumerate(arch.faults):
        c = comps.get(f.spot_interruption or "")
        if c is not None and c.type == "ecs" and not c.fargate_spot:
            out.append((("faults", i, "spot_interruption"), f"{f.spot_interruption!r} has no Fargate Spot tasks; "
                        "set `fargate_spot:` (the share of tasks on Fargate Spot)"))
    return out
