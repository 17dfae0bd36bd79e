"""Map ``AWS::CloudWatch::Alarm`` to a ``cloudwatch_alarm`` component.

An alarm maps when its metric is one cloudtwin has: a dimension names a mapped component
(``InstanceId``, ``AutoScalingGroupName``, ``FunctionName``, ``QueueName``, ``StreamName``,
``TableName``) and its ``MetricName`` is a series of that component or an EC2 status check.
Its actions map when they are an SNS topic or Lambda function of the template, the EC2
``recover`` / ``reboot`` action ARNs, or a simple ``ChangeInCapacity`` scaling policy of a
mapped group; others are left out with a note. Percentile and extended statistics,
metric math and high-resolution periods leave the alarm unmapped.
"""

from __future__ import annotations

from typing import Any

from cloudtwin.importers.mapping import Ctx

# CloudWatch metric name -> the cloudtwin series of the component its dimension names
METRICS = {
    "CPUUtilization": "utilization", "GroupInServiceInstances": "in_service",
    "GroupDesiredCapacity": "desired", "ApproximateNumberOfMessagesVisible": "visible",
    "ApproximateNumberOfMessagesNotVisible": "in_flight", "ConcurrentExecutions": "concurrency",
    "Throttles": "throttles", "IteratorAge": "iterator_age_s", "IncomingRecords": "records_in",
    "StatusCheckFailed": "StatusCheckFailed", "StatusCheckFailed_System": "StatusCheckFailed_System",
    "StatusCheckFailed_Instance": "StatusCheckFailed_Instance",
}
DIMENSIONS = ("InstanceId", "AutoScalingGroupName", "FunctionName", "QueueName", "StreamName", "TableName")
STATISTICS = ("Average", "Sum", "Minimum", "Maximum")
OPERATORS = ("GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
             "LessThanOrEqualToThreshold")


def _source(ctx: Ctx, p: dict[str, Any]) -> str | None:
    for d in p.get("Dimensions") or []:
        if isinstance(d, dict) and d.get("Name") in DIMENSIONS:
            name = ctx.comp(d.get("Value"))
            if name is not None:
                return name
    return None


def _action(ctx: Ctx, logical: str, value: Any) -> str | None:
    text = str(value)
    for act in ("recover", "reboot"):
        if f":ec2:{act}" in text:
            return f"ec2:{act}"
    target = ctx.target(value)
    if target is None:
        return None
    kind = ctx.res_type(target)
    if kind in ("AWS::SNS::Topic", "AWS::Lambda::Function"):
        return ctx.comp(value)
    if kind == "AWS::AutoScaling::ScalingPolicy":
        sp = ctx.tpl.props(target)
        group = ctx.comp(sp.get("AutoScalingGroupName"))
        adjust = ctx.int_(target, sp, "ScalingAdjustment", structural=False)
        if group and adjust is not None and sp.get("AdjustmentType", "ChangeInCapacity") == "ChangeInCapacity":
            ctx.fold(target, ctx.names[logical])
            return f"{group}:{adjust:+d}"
    return None


def alarm(ctx: Ctx, logical: str) -> None:
    p = ctx.tpl.props(logical)
    source = _source(ctx, p)
    metric = METRICS.get(str(p.get("MetricName")))
    if source is None or metric is None or "Metrics" in p:
        ctx.leave(logical, "its metric is not one cloudtwin simulates (a dimension naming a mapped component "
                           f"and one of {', '.join(sorted(METRICS))})")
        return
    stat = p.get("Statistic", "Average")
    period = ctx.num(logical, p, "Period", structural=False) or 60.0
    if stat not in STATISTICS or period % 60:
        ctx.leave(logical, "its statistic or period is not simulated (Average/Sum/Minimum/Maximum, whole minutes)")
        return
    op = p.get("ComparisonOperator")
    threshold = ctx.num(logical, p, "Threshold", structural=False)
    if op not in OPERATORS or threshold is None:
        ctx.leave(logical, "its comparison is not a static threshold cloudtwin simulates")
        return
    spec: dict[str, Any] = {"type": "cloudwatch_alarm", "component": source, "metric": metric,
                            "statistic": stat, "period": f"{period:g}s", "comparison": op,
                            "threshold": threshold}
    n = ctx.int_(logical, p, "EvaluationPeriods", structural=False)
    spec["evaluation_periods"] = n if n is not None else 1
    m = ctx.int_(logical, p, "DatapointsToAlarm", structural=False)
    if m is not None:
        spec["datapoints_to_alarm"] = m
    missing = p.get("TreatMissingData")
    if missing in ("missing", "notBreaching", "breaching", "ignore"):
        spec["treat_missing_data"] = missing
    for prop, key in (("AlarmActions", "alarm_actions"), ("OKActions", "ok_actions")):
        got = []
        for v in p.get(prop) or []:
            a = _action(ctx, logical, v)
            if a is None:
                ctx.assume(f"{ctx.names[logical]}: an {prop} entry ({v}) is left out (not a topic, function, "
                           "EC2 action or simple scaling policy of the template)")
            else:
                got.append(a)
        if got:
            spec[key] = got
    ctx.add(logical, spec)
