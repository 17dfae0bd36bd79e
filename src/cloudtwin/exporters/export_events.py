"""EventBridge, CloudTrail and SES to CloudFormation: an ``AWS::Events::EventBus`` and one ``AWS::Events::Rule`` per
rule (event pattern or schedule), with its targets' retry policies and dead-letter queues, and the
permissions that let EventBridge invoke a function, send to a queue, publish to a topic or run an
ECS task.

AWS services (S3, CloudTrail) send their events to the account's default bus, and a schedule
rule can only be on the default bus: such rules are put on the default bus, and the notes say
so. The other rules are on the exported bus, which the application's ``PutEvents`` reach.
A trail gets its own log bucket; an SES component is a sending identity.
"""

from __future__ import annotations

from typing import Any

from cloudtwin.exporters.export_containers import run_task_target
from cloudtwin.exporters.export_messaging import secs
from cloudtwin.exporters.template import Out, getatt, ref

__all__ = ["cloudtrail", "eventbridge", "ses"]


def _on_default_bus(out: Out, name: str, rule: Any) -> bool:
    """Whether ``rule`` must be on the default bus: a schedule, or events only AWS services send."""
    if rule.schedule is not None:
        return True
    fed = any(getattr(c, "events", None) == name or getattr(c, "bus", None) == name
              for _, c in out.comps() if c.type in ("s3", "cloudtrail"))
    sources = (rule.pattern or {}).get("source")  # flattened: top-level keys are as written
    aws_only = isinstance(sources, list) and bool(sources) and all(
        isinstance(s, str) and s.startswith("aws.") for s in sources)
    return fed or aws_only


def _allow(out: Out, name: str, rule_id: str, target: str) -> None:
    """Let the rule deliver to ``target`` (a function, queue or topic)."""
    kind, lid = out.kind(target), out.lid(target)
    if any(k.startswith(f"{rule_id}Invoke{lid}") or k.startswith(f"{rule_id}To{lid}") for k in out.resources):
        return  # a queue that is both a target and a DLQ
    source = getatt(rule_id, "Arn")
    stmt: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                            "Condition": {"ArnEquals": {"aws:SourceArn": source}}}
    if kind == "lambda":
        out.add(f"{rule_id}Invoke{lid}Permission", "AWS::Lambda::Permission", {
            "FunctionName": ref(lid), "Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com",
            "SourceArn": source})
    elif kind == "sqs":
        out.add(f"{rule_id}To{lid}Policy", "AWS::SQS::QueuePolicy", {
            "Queues": [ref(lid)], "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {**stmt, "Action": "sqs:SendMessage", "Resource": getatt(lid, "Arn")}]}})
    elif kind == "sns":
        out.add(f"{rule_id}To{lid}Policy", "AWS::SNS::TopicPolicy", {
            "Topics": [ref(lid)], "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {**stmt, "Action": "sns:Publish", "Resource": ref(lid)}]}})


def _nest(flat: dict[str, Any] | None) -> dict[str, Any] | None:
    """The spec keeps a pattern flattened to dotted keys (``detail.eventName``); EventBridge wants
    it nested (``detail: {eventName: [...]}``)."""
    if flat is None:
        return None
    got: dict[str, Any] = {}
    for key, values in flat.items():
        *path, last = key.split(".")
        at = got
        for p in path:
            at = at.setdefault(p, {})
        at[last] = values
    return got


def eventbridge(out: Out, name: str, c: Any) -> None:
    bus = out.add(out.lid(name), "AWS::Events::EventBus", {"Name": f"{out.arch.name}-{name}"[:256]})
    for rule in c.rules:
        rule_id = out.lid(name) + out.lid(rule.name) + "Rule"
        targets: list[dict[str, Any]] = []
        for t in rule.targets:
            kind = out.kind(t.target)
            if kind not in ("lambda", "sqs", "sns", "ecs"):
                out.note(name, f"rule {rule.name}: the target {t.target} ({kind}) is not exported")
                continue
            entry: dict[str, Any] = {"Id": t.target}
            if kind == "ecs":
                entry.update(run_task_target(out, rule_id, t.target, out.comp(t.target)))
            else:
                entry["Arn"] = ref(out.lid(t.target)) if kind == "sns" else getatt(out.lid(t.target), "Arn")
            entry |= {
                "RetryPolicy": {"MaximumRetryAttempts": t.retry_policy.max_retries,
                                "MaximumEventAgeInSeconds": secs(t.retry_policy.max_event_age)}}
            if t.dlq:
                entry["DeadLetterConfig"] = {"Arn": getatt(out.lid(t.dlq), "Arn")}
                _allow(out, name, rule_id, t.dlq)
            if out.kind(t.target) == "sqs" and out.comp(t.target).fifo:
                entry["SqsParameters"] = {"MessageGroupId": name}
            targets.append(entry)
            _allow(out, name, rule_id, t.target)
        if not targets:
            out.note(name, f"rule {rule.name} is not exported: none of its targets is")
            continue
        default = _on_default_bus(out, name, rule)
        if default:
            out.note(name, f"rule {rule.name} is on the account's default bus (AWS services and schedules deliver "
                           "there)")
        out.add(rule_id, "AWS::Events::Rule", {
            "EventBusName": None if default else ref(bus),
            "EventPattern": _nest(rule.pattern), "ScheduleExpression": rule.schedule, "State": "ENABLED",
            "Targets": targets})


def cloudtrail(out: Out, name: str, c: Any) -> None:
    """A multi-Region trail logging to its own bucket (with the policy CloudTrail needs). The API
    calls it records reach EventBridge's default bus without it; the trail keeps them."""
    bucket = out.helper(name, "Bucket", "AWS::S3::Bucket", {"BucketEncryption": {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}})
    principal = {"Service": "cloudtrail.amazonaws.com"}
    policy = out.helper(name, "BucketPolicy", "AWS::S3::BucketPolicy", {
        "Bucket": ref(bucket), "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": principal, "Action": "s3:GetBucketAcl", "Resource": getatt(bucket, "Arn")},
            {"Effect": "Allow", "Principal": principal, "Action": "s3:PutObject",
             "Resource": {"Fn::Sub": f"${{{bucket}.Arn}}/AWSLogs/${{AWS::AccountId}}/*"},
             "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}]}})
    out.add(out.lid(name), "AWS::CloudTrail::Trail", {
        "IsLogging": True, "S3BucketName": ref(bucket), "IsMultiRegionTrail": True,
        "IncludeGlobalServiceEvents": True, "EnableLogFileValidation": True}, DependsOn=policy)
    out.note(name, f"the {c.service} API calls it records reach the default event bus ({c.bus}) whether or not a "
                   "trail exists; the trail keeps them in its bucket")


def ses(out: Out, name: str, c: Any) -> None:
    """A verified sending identity (a domain: a Parameter). Sandbox and quotas are account
    settings, not resources."""
    out.parameters.setdefault("SesDomain", {
        "Type": "String", "Default": "example.com",
        "Description": "The domain SES sends from (verify it with the DKIM records SES gives)"})
    out.add(out.lid(name), "AWS::SES::EmailIdentity", {"EmailIdentity": ref("SesDomain")})
    out.note(name, f"{'the sandbox' if c.sandbox else 'production access'} and the sending quotas are account "
                   "settings (a support request), not resources")
