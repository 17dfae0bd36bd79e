"""Events and delivery: EventBridge buses and rules (patterns, schedules, targets with their
retry policies and dead-letter queues), Firehose delivery streams and CloudTrail trails."""

from __future__ import annotations

import json
from typing import Any

from cloudtwin.importers.mapping import Ctx, kebab
from cloudtwin.spec.eventbridge import MAX_TARGETS, check_event_pattern
from cloudtwin.spec.schedule import parse_schedule

_TARGET_KINDS = ("lambda", "sqs", "sns", "ecs")  # cloudtwin's rule targets (spec/eventbridge.py)


def _secs(v: float) -> str:
    return f"{int(v)}s" if float(v).is_integer() else f"{v}s"


def _ecs_target(ctx: Ctx, t: dict[str, Any]) -> str | None:
    """The ECS service component that runs the task definition a rule's ECS target names."""
    task = ctx.target((t.get("EcsParameters") or {}).get("TaskDefinitionArn"))
    for svc in ctx.of_type("AWS::ECS::Service"):
        if task is not None and ctx.target(ctx.tpl.props(svc).get("TaskDefinition")) == task:
            return ctx.names.get(svc)
    return None


def _target(ctx: Ctx, rule: str, t: dict[str, Any]) -> dict[str, Any] | None:
    comp = _ecs_target(ctx, t) if t.get("EcsParameters") else ctx.comp(t.get("Arn"))
    kind = ctx.components.get(comp or "", {}).get("type")
    if comp is None or kind not in _TARGET_KINDS:
        ctx.assume(f"{ctx.names.get(rule, kebab(rule))}: the target {t.get('Id', '?')} ({t.get('Arn')}) is left out: "
                   "not a Lambda function, queue, topic or ECS service of the template")
        return None
    out: dict[str, Any] = {"target": comp}
    dlq = ctx.comp((t.get("DeadLetterConfig") or {}).get("Arn"))
    if dlq is not None and ctx.components.get(dlq, {}).get("type") == "sqs":
        out["dlq"] = dlq
    rp = t.get("RetryPolicy")
    policy: dict[str, Any] = {}
    if isinstance(rp, dict):
        n = ctx.int_(rule, rp, "MaximumRetryAttempts", structural=False)
        age = ctx.num(rule, rp, "MaximumEventAgeInSeconds", structural=False)
        if n is not None:
            policy["max_retries"] = n
        if age is not None:
            policy["max_event_age"] = _secs(age)
    if "max_retries" not in policy:
        ctx.default(rule, f"Targets[{t.get('Id', '?')}].RetryPolicy.MaximumRetryAttempts",
                    "retry_policy.max_retries", 185, "AWS's default [aws-facts §8 Default retry policy]")
    if "max_event_age" not in policy:
        ctx.default(rule, f"Targets[{t.get('Id', '?')}].RetryPolicy.MaximumEventAgeInSeconds",
                    "retry_policy.max_event_age", "24h", "AWS's default [aws-facts §8 Default retry policy]")
    if policy:
        out["retry_policy"] = policy
    return out


def _rule(ctx: Ctx, r: str) -> dict[str, Any] | None:
    """A rule's spec, or None (and the rule listed as not mapped, with why)."""
    p = ctx.tpl.props(r)
    if str(p.get("State", "ENABLED")).upper() != "ENABLED":
        ctx.leave(r, f"the rule is {p.get('State')}")
        return None
    spec: dict[str, Any] = {"name": kebab(r)}
    pattern = p.get("EventPattern")
    if isinstance(pattern, str):
        try:
            pattern = json.loads(pattern)
        except ValueError:
            pattern = None
    try:
        if pattern is not None:
            check_event_pattern(pattern)
            spec["pattern"] = pattern
        elif isinstance(p.get("ScheduleExpression"), str):
            spec["schedule"] = parse_schedule(p["ScheduleExpression"]).text
        else:
            ctx.leave(r, "neither an event pattern nor a schedule expression that is known")
            return None
    except ValueError as e:
        ctx.leave(r, f"its pattern or schedule is outside what cloudtwin models: {e}")
        return None
    targets = [t for t in (_target(ctx, r, raw) for raw in p.get("Targets") or [] if isinstance(raw, dict)) if t]
    if not targets:
        ctx.leave(r, "none of its targets is a Lambda function, queue, topic or ECS service of the template")
        return None
    spec["targets"] = targets[:MAX_TARGETS]  # 5 per rule [aws-facts §8 Targets per rule]
    return spec


def _bus(ctx: Ctx, origin: str, rules: list[str], name: str) -> None:
    specs: list[dict[str, Any]] = []
    kept: list[str] = []
    for r in rules:
        got = _rule(ctx, r)
        if got is not None:
            specs.append(got)
            kept.append(r)
    if ctx.res_type(origin) == "AWS::Events::Rule":  # the default bus: its first mapped rule stands for it
        if not specs:
            return  # every rule of the default bus was listed as not mapped
        origin = kept[0]
        ctx.assume(f"{name}: the rules on the account's default event bus ({', '.join(kept)}) are one `eventbridge` "
                   "component")
    for r in kept:
        if r != origin:
            ctx.fold(r, name)
            ctx.names.pop(r, None)
    for perm in ctx.of_type("AWS::Lambda::Permission"):  # the permissions that let the rules invoke
        if ctx.target(ctx.tpl.props(perm).get("SourceArn")) in kept:
            ctx.fold(perm, name)
    ctx.names[origin] = name
    ctx.add(origin, {"type": "eventbridge", "rules": specs})


def _bus_of(ctx: Ctx, r: str) -> str | None:
    """The template's EventBus a rule is on; None for the default bus."""
    return ctx.target(ctx.tpl.props(r).get("EventBusName"))


def event_bus(ctx: Ctx, b: str) -> None:
    rules = [r for r in ctx.of_type("AWS::Events::Rule") if _bus_of(ctx, r) == b]
    if not rules:
        ctx.assume(f"{ctx.names[b]}: an event bus with no rule of the template: events put to it go nowhere")
    _bus(ctx, b, rules, ctx.names[b])


def rule(ctx: Ctx, r: str) -> None:
    bus = ctx.tpl.props(r).get("EventBusName")
    if bus is not None and bus != "default" and _bus_of(ctx, r) is None:
        ctx.leave(r, f"it is on the event bus {bus}, which is not in the template")
        return
    rules = [x for x in ctx.of_type("AWS::Events::Rule") if x in ctx.names and _bus_of(ctx, x) is None and
             ctx.tpl.props(x).get("EventBusName") in (None, "default")]
    taken = set(ctx.names.values()) - {ctx.names[r]}
    name, i = "default-bus", 2
    while name in taken:
        name, i = f"default-bus-{i}", i + 1
    _bus(ctx, r, rules, name)


# ------------------------------------------------------------------ Firehose
_COMPRESSION = {"UNCOMPRESSED": "none", "GZIP": "gzip", "SNAPPY": "snappy", "HADOOP_SNAPPY": "snappy", "ZIP": "zip"}


def firehose(ctx: Ctx, f: str) -> None:
    p = ctx.tpl.props(f)
    spec: dict[str, Any] = {"type": "firehose"}
    if str(p.get("DeliveryStreamType", "DirectPut")) == "KinesisStreamAsSource":
        src = ctx.comp((p.get("KinesisStreamSourceConfiguration") or {}).get("KinesisStreamARN"))
        if src is None or ctx.components.get(src, {}).get("type") != "kinesis":
            ctx.leave(f, "its source Kinesis stream is not a stream of the template")
            return
        spec["source"] = src
    dest = p.get("ExtendedS3DestinationConfiguration") or p.get("S3DestinationConfiguration")
    red = p.get("RedshiftDestinationConfiguration")
    if isinstance(red, dict):
        cluster = ctx.comp(red.get("ClusterJDBCURL"))
        if cluster is None or ctx.components.get(cluster, {}).get("type") != "redshift":
            ctx.leave(f, "its Redshift destination is not a cluster of the template")
            return
        spec["redshift"] = cluster
        dest = red.get("S3Configuration")
    if not isinstance(dest, dict):
        ctx.leave(f, "its destination is not S3 or Redshift (OpenSearch, Splunk, HTTP endpoints are not modelled)")
        return
    bucket = ctx.comp(dest.get("BucketARN"))
    if bucket is None or ctx.components.get(bucket, {}).get("type") != "s3":
        ctx.leave(f, "its destination bucket is not a bucket of the template")
        return
    spec["s3"] = bucket
    for prop, key in (("Prefix", "prefix"), ("ErrorOutputPrefix", "error_prefix")):
        if isinstance(dest.get(prop), str):
            spec[key] = dest[prop]
    hints = dest.get("BufferingHints") or {}
    size = ctx.num(f, hints, "SizeInMBs", structural=False)
    secs = ctx.num(f, hints, "IntervalInSeconds", structural=False)
    spec["buffer_size"] = f"{size:g}MiB" if size is not None else ctx.default(
        f, "BufferingHints.SizeInMBs", "buffer_size", "5MiB", "AWS's default [aws-facts §9 Firehose buffering hints]")
    spec["buffer_interval"] = _secs(secs) if secs is not None else ctx.default(
        f, "BufferingHints.IntervalInSeconds", "buffer_interval", "300s",
        "AWS's default [aws-facts §9 Firehose buffering hints]")
    comp = str(dest.get("CompressionFormat", "UNCOMPRESSED")).upper()
    if comp in _COMPRESSION:
        spec["compression"] = _COMPRESSION[comp]
    conv = dest.get("DataFormatConversionConfiguration")
    if isinstance(conv, dict) and ctx.flag(conv, "Enabled") is not False:
        serde = ((conv.get("OutputFormatConfiguration") or {}).get("Serializer") or {})
        fmt = "parquet" if "ParquetSerDe" in serde else "orc" if "OrcSerDe" in serde else None
        if fmt:
            spec["format"], spec["compression"] = fmt, "none"
    _transform(ctx, f, dest, spec)
    retry = ctx.num(f, (red if isinstance(red, dict) else dest).get("RetryOptions") or {}, "DurationInSeconds",
                    structural=False)
    if retry is not None:
        spec["retry_duration"] = _secs(retry)
    ctx.add(f, spec)


def _transform(ctx: Ctx, f: str, dest: dict[str, Any], spec: dict[str, Any]) -> None:
    proc = dest.get("ProcessingConfiguration")
    if not isinstance(proc, dict) or ctx.flag(proc, "Enabled") is False:
        return
    for pr in proc.get("Processors") or []:
        if not isinstance(pr, dict) or pr.get("Type") != "Lambda":
            continue
        params = {str(x.get("ParameterName")): x.get("ParameterValue") for x in pr.get("Parameters") or []
                  if isinstance(x, dict)}
        fn = ctx.comp(params.get("LambdaArn"))
        if fn is None or ctx.components.get(fn, {}).get("type") != "lambda":
            ctx.assume(f"{ctx.names[f]}: its Lambda transform is not a function of the template: left out")
            return
        t: dict[str, Any] = {"function": fn}
        for key, field, fmt in (("BufferSizeInMBs", "buffer_size", "{:g}MiB"),
                                ("BufferIntervalInSeconds", "buffer_interval", "{:g}s"),
                                ("NumberOfRetries", "retries", None)):
            v = ctx.num(f, params, key, structural=False)
            if v is not None:
                t[field] = fmt.format(v) if fmt else int(v)
        spec["transform"] = t


# ------------------------------------------------------------------ CloudTrail
def trail(ctx: Ctx, t: str) -> None:
    """A trail is modelled by the events it puts on an event bus: the template's bus whose rule
    matches CloudTrail's API-call events."""
    for name, c in ctx.components.items():
        if c["type"] != "eventbridge":
            continue
        for r in c["rules"]:
            if "AWS API Call via CloudTrail" in ((r.get("pattern") or {}).get("detail-type") or []):
                source = ((r.get("pattern") or {}).get("source") or ["aws.iam"])[0]
                spec: dict[str, Any] = {"type": "cloudtrail", "bus": name}
                if isinstance(source, str) and source.startswith("aws."):
                    spec["service"] = source[4:]
                ctx.add(t, spec)
                return
    ctx.leave(t, "cloudtwin models a trail by the API-call events it puts on an event bus; no rule of the template "
                 "matches 'AWS API Call via CloudTrail'")
