"""Schema of ``cloudwatch_alarm``: a metric alarm on one component's per-minute series or status check.

Defaults cite aws-facts.md rows where it has one (it has little on CloudWatch); the
rest follow the CloudWatch API reference (PutMetricAlarm) and user guide, listed in
docs/spec.md. Live model: :mod:`cloudtwin.services.cloudwatch`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, model_validator

from cloudtwin.spec.base import ComponentSpec, Duration, Name
from cloudtwin.spec.loader import Path

STATUS_METRICS = ("StatusCheckFailed", "StatusCheckFailed_System", "StatusCheckFailed_Instance")
EC2_ACTIONS = ("ec2:recover", "ec2:reboot")
WORKLOAD_SERIES = ("requests", "errors", "p50_ms", "p90_ms", "p99_ms")  # what clients see: no CloudWatch metric
ONE_DAY = 86_400.0  # evaluation_periods x period may not exceed one day (PutMetricAlarm)
_SCALE = re.compile(r"^([a-z][a-z0-9_-]*):([+-]\d{1,4})$")


class Alarm(ComponentSpec):
    type: Literal["cloudwatch_alarm"]
    component: Name  # whose metric (the alarm's dimension: an instance, a group, a function...)
    metric: str = Field(min_length=1, max_length=64)  # a series of `component`, or a status-check metric
    statistic: Literal["Average", "Sum", "Minimum", "Maximum"] = "Average"
    period: Duration = Field(60.0, ge=60, le=ONE_DAY)  # whole minutes here (10/30 s high resolution left out)
    evaluation_periods: int = Field(1, ge=1, le=1440)
    datapoints_to_alarm: int | None = Field(None, ge=1)  # M of N; None: = evaluation_periods
    comparison: Literal["GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
                        "LessThanOrEqualToThreshold"]
    threshold: float
    treat_missing_data: Literal["missing", "notBreaching", "breaching", "ignore"] = "missing"  # API default
    alarm_actions: list[str] = Field(default_factory=list, max_length=5)  # at most 5 per state (PutMetricAlarm)
    ok_actions: list[str] = Field(default_factory=list, max_length=5)

    @model_validator(mode="after")
    def _rules(self) -> Alarm:
        if self.period % 60:
            raise ValueError(f"period must be a whole number of minutes here (got {self.period:g} s)")
        if self.datapoints_to_alarm is not None and self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError(f"datapoints_to_alarm ({self.datapoints_to_alarm}) cannot exceed evaluation_periods "
                             f"({self.evaluation_periods})")
        if self.period * self.evaluation_periods > ONE_DAY:
            raise ValueError("evaluation_periods x period may not exceed one day (86,400 s)")
        return self

    @property
    def m(self) -> int:
        return self.datapoints_to_alarm or self.evaluation_periods


def parse_action(text: str) -> tuple[str, str, int]:
    """An action as ``(kind, target, adjustment)``: ``("ec2", "recover"|"reboot", 0)``,
    ``("scale", <asg>, n)`` or ``("component", <name>, 0)`` (an SNS topic or Lambda function)."""
    if text in EC2_ACTIONS:
        return "ec2", text.split(":", 1)[1], 0
    m = _SCALE.match(text)
    if m:
        return "scale", m.group(1), int(m.group(2))
    return "component", text, 0


def check(arch: Any) -> list[tuple[Path, str]]:
    """The watched component and every action's target exist and can do what is asked."""
    from cloudtwin.results import SAMPLING

    out: list[tuple[Path, str]] = []
    comps = arch.components
    for n, c in comps.items():
        if c.type != "cloudwatch_alarm":
            continue
        base = ("components", n)
        src = comps.get(c.component)
        if src is None:
            out.append(((*base, "component"), f"watched component {c.component!r} is not a component "
                                              f"(have: {', '.join(sorted(comps))})"))
        elif c.metric in STATUS_METRICS:
            if src.type not in ("ec2", "asg"):
                out.append(((*base, "metric"), f"{c.metric} is an EC2 status check; {c.component!r} is a "
                                               f"{src.type}, not an ec2 or asg"))
        elif c.metric not in SAMPLING or c.metric in WORKLOAD_SERIES:
            names = sorted(set(SAMPLING) - set(WORKLOAD_SERIES))
            out.append(((*base, "metric"), f"unknown metric {c.metric!r}; use a component's per-minute series "
                                           f"({', '.join(names)}) or one of {', '.join(STATUS_METRICS)}"))
        for key in ("alarm_actions", "ok_actions"):
            for i, a in enumerate(getattr(c, key)):
                path = (*base, key, i)
                kind, target, _ = parse_action(a)
                if kind == "ec2":
                    if src is not None and src.type != "ec2":
                        out.append((path, f"{a} acts on the alarm's instance: `component` must be an ec2"))
                    elif c.metric not in STATUS_METRICS and target == "recover":
                        out.append((path, "ec2:recover needs a status-check metric (StatusCheckFailed_System)"))
                    continue
                t = comps.get(target)
                want = ("asg",) if kind == "scale" else ("sns", "lambda")
                if t is None or t.type not in want:
                    what = "an Auto Scaling group (`<asg>:+1`)" if kind == "scale" else (
                        "an sns topic, a lambda function, `<asg>:+N`/`<asg>:-N`, ec2:recover or ec2:reboot")
                    out.append((path, f"{a!r} is not {what}"))
    return out
