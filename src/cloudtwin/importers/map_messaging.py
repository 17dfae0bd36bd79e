"""Application integration: SQS queues, SNS topics and subscriptions, Lambda functions and
their event source mappings."""

from __future__ import annotations

from typing import Any

from cloudtwin.importers.mapping import Ctx


def _secs(v: float) -> str:
    return f"{int(v)}s" if float(v).is_integer() else f"{v}s"


def sqs(ctx: Ctx, q: str) -> None:
    p = ctx.tpl.props(q)
    spec: dict[str, Any] = {"type": "sqs"}
    if ctx.flag(p, "FifoQueue"):
        spec["fifo"] = True
    for prop, key in (("VisibilityTimeout", "visibility_timeout"), ("MessageRetentionPeriod", "retention"),
                      ("DelaySeconds", "delay"), ("ReceiveMessageWaitTimeSeconds", "receive_wait")):
        v = ctx.num(q, p, prop, structural=False)
        if v is not None:
            spec[key] = _secs(v)
    if "visibility_timeout" not in spec:
        spec["visibility_timeout"] = ctx.default(q, "VisibilityTimeout", "visibility_timeout", "30s")
    size = ctx.num(q, p, "MaximumMessageSize", structural=False)
    if size is not None:
        spec["max_message_size"] = int(size)
    redrive = p.get("RedrivePolicy")
    if isinstance(redrive, str):  # a JSON string is allowed too
        import json

        try:
            redrive = json.loads(redrive)
        except ValueError:
            redrive = None
    if isinstance(redrive, dict):
        dlq = ctx.comp(redrive.get("deadLetterTargetArn"))
        if dlq is not None:
            spec["dlq"] = dlq
            count = ctx.num(q, redrive, "maxReceiveCount", structural=False)
            spec["max_receive_count"] = int(count) if count is not None else ctx.default(
                q, "RedrivePolicy.maxReceiveCount", "max_receive_count", 5, "the spec's default; AWS requires it")
    ctx.add(q, spec)


def _endpoint_target(ctx: Ctx, protocol: str, endpoint: Any) -> dict[str, Any] | None:
    proto = protocol.lower()
    if proto in ("sqs", "lambda"):
        target = ctx.comp(endpoint)
        return {"protocol": proto, "target": target} if target else None
    if proto in ("http", "https"):
        target = ctx.comp(endpoint)  # an URL built from a load balancer's or instance's DNS name
        if target and ctx.components.get(target, {}).get("type") in ("alb", "nlb", "clb", "ec2", "asg"):
            return {"protocol": proto, "target": target}
        return None
    if proto in ("email", "email-json") and isinstance(endpoint, str):
        return {"protocol": "email", "endpoint": endpoint}
    return None


def _subscription(ctx: Ctx, owner: str, raw: dict[str, Any]) -> dict[str, Any] | None:
    got = _endpoint_target(ctx, str(raw.get("Protocol", "")), raw.get("Endpoint"))
    if got is None:
        return None
    fp = raw.get("FilterPolicy")
    if isinstance(fp, str):
        import json

        try:
            fp = json.loads(fp)
        except ValueError:
            fp = None
    if isinstance(fp, dict) and raw.get("FilterPolicyScope", "MessageAttributes") == "MessageAttributes":
        got["filter_policy"] = fp
    redrive = raw.get("RedrivePolicy")
    if isinstance(redrive, dict) and ctx.comp(redrive.get("deadLetterTargetArn")):
        got["dlq"] = ctx.comp(redrive.get("deadLetterTargetArn"))
    return got


def sns(ctx: Ctx, t: str) -> None:
    p = ctx.tpl.props(t)
    spec: dict[str, Any] = {"type": "sns"}
    if ctx.flag(p, "FifoTopic"):
        spec["fifo"] = True
    subs: list[dict[str, Any]] = []
    for raw in p.get("Subscription") or []:
        if isinstance(raw, dict):
            s = _subscription(ctx, t, raw)
            if s is None:
                ctx.assume(f"{ctx.names[t]}: a {raw.get('Protocol')} subscription to {raw.get('Endpoint')} "
                           "is left out (its endpoint is not a component)")
            else:
                subs.append(s)
    for sub in ctx.of_type("AWS::SNS::Subscription"):
        sp = ctx.tpl.props(sub)
        if ctx.target(sp.get("TopicArn")) != t:
            continue
        s = _subscription(ctx, t, sp)
        if s is None:
            ctx.leave(sub, f"its {sp.get('Protocol')} endpoint is not a component cloudtwin maps")
            continue
        subs.append(s)
        ctx.fold(sub, ctx.names[t])
    if subs:
        spec["subscriptions"] = subs
    ctx.add(t, spec)


def lambda_(ctx: Ctx, fn: str) -> None:
    p = ctx.tpl.props(fn)
    spec: dict[str, Any] = {"type": "lambda"}
    mem = ctx.int_(fn, p, "MemorySize", structural=False)
    spec["memory"] = mem if mem is not None else ctx.default(fn, "MemorySize", "memory", 128)
    timeout = ctx.num(fn, p, "Timeout", structural=False)
    spec["timeout"] = _secs(timeout) if timeout is not None else ctx.default(fn, "Timeout", "timeout", "3s")
    reserved = ctx.int_(fn, p, "ReservedConcurrentExecutions")
    if reserved is not None:
        spec["reserved_concurrency"] = reserved
    dlc = p.get("DeadLetterConfig")
    if isinstance(dlc, dict) and ctx.comp(dlc.get("TargetArn")):
        target = ctx.comp(dlc.get("TargetArn"))
        if ctx.res_type(ctx.target(dlc.get("TargetArn")) or "") == "AWS::SQS::Queue":
            spec["dlq"] = target
    for cfg in ctx.of_type("AWS::Lambda::EventInvokeConfig"):
        cp = ctx.tpl.props(cfg)
        if ctx.target(cp.get("FunctionName")) != fn and cp.get("FunctionName") != fn:
            continue
        retries = ctx.int_(cfg, cp, "MaximumRetryAttempts", structural=False)
        if retries is not None:
            spec["retries"] = retries
        age = ctx.num(cfg, cp, "MaximumEventAgeInSeconds", structural=False)
        if age is not None:
            spec["max_event_age"] = _secs(age)
        dest = (cp.get("DestinationConfig") or {}).get("OnFailure") or {}
        on_failure = ctx.comp(dest.get("Destination")) if isinstance(dest, dict) else None
        if on_failure and ctx.components.get(on_failure, {}).get("type", "sqs") == "sqs" and \
                ctx.res_type(ctx.target(dest.get("Destination")) or "") == "AWS::SQS::Queue":
            spec["on_failure"] = on_failure
        ctx.fold(cfg, ctx.names[fn])
    sources: list[dict[str, Any]] = []
    for esm in ctx.of_type("AWS::Lambda::EventSourceMapping"):
        ep = ctx.tpl.props(esm)
        if ctx.target(ep.get("FunctionName")) != fn and ep.get("FunctionName") != fn:
            continue
        src = ctx.target(ep.get("EventSourceArn"))
        kind = ctx.res_type(src) if src else ""
        if kind == "AWS::SQS::Queue" and ctx.comp(ep.get("EventSourceArn")):
            es: dict[str, Any] = {"queue": ctx.comp(ep.get("EventSourceArn"))}
            batch = ctx.int_(esm, ep, "BatchSize", structural=False)
            es["batch_size"] = batch if batch is not None else ctx.default(esm, "BatchSize", "batch_size", 10)
            window = ctx.num(esm, ep, "MaximumBatchingWindowInSeconds", structural=False)
            if window:
                es["batching_window"] = _secs(window)
            if "ReportBatchItemFailures" in (ep.get("FunctionResponseTypes") or []):
                es["report_batch_item_failures"] = True
            scaling = ep.get("ScalingConfig")
            if isinstance(scaling, dict):
                mc = ctx.int_(esm, scaling, "MaximumConcurrency", structural=False)
                if mc is not None:
                    es["maximum_concurrency"] = mc
            sources.append(es)
            ctx.fold(esm, ctx.names[fn])
        elif kind == "AWS::Kinesis::Stream" and ctx.comp(ep.get("EventSourceArn")):
            stream = ctx.components.get(str(ctx.comp(ep.get("EventSourceArn"))))
            consumer: dict[str, Any] = {"function": ctx.names[fn]}
            batch = ctx.int_(esm, ep, "BatchSize", structural=False)
            consumer["batch_size"] = batch if batch is not None else ctx.default(esm, "BatchSize", "batch_size", 100)
            if ctx.flag(ep, "BisectBatchOnFunctionError"):
                consumer["bisect_on_error"] = True
            retries = ctx.int_(esm, ep, "MaximumRetryAttempts", structural=False)
            if retries is not None:
                consumer["max_retry_attempts"] = retries
            pf = ctx.int_(esm, ep, "ParallelizationFactor", structural=False)
            if pf is not None:
                consumer["parallelization_factor"] = pf
            if stream is not None:
                stream.setdefault("consumers", []).append(consumer)
                ctx.fold(esm, ctx.names[fn])
        else:
            ctx.leave(esm, "its event source is not an SQS queue or Kinesis stream of the template")
    if sources:
        spec["event_sources"] = sources
    ctx.add(fn, spec)
