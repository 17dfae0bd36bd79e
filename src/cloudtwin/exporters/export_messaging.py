"""Application integration to CloudFormation: SQS queues, SNS topics and subscriptions, Lambda
functions (with their execution role, event source mappings and asynchronous invocation
config)."""

from __future__ import annotations

import json
import math
from typing import Any

from cloudtwin.exporters.template import Out, getatt, ref, sub

__all__ = ["lambda_", "secs", "sns", "sqs"]

_PARTITION_POLICY = "arn:${AWS::Partition}:iam::aws:policy/service-role/"


def secs(v: float) -> int:
    """A duration as CloudFormation's whole seconds (rounded up: never shorter than the spec's)."""
    return int(math.ceil(v - 1e-9))


def sqs(out: Out, name: str, c: Any) -> None:
    props: dict[str, Any] = {
        "FifoQueue": True if c.fifo else None,
        "VisibilityTimeout": secs(c.visibility_timeout),
        "MessageRetentionPeriod": secs(c.retention),
        "DelaySeconds": secs(c.delay),
        "ReceiveMessageWaitTimeSeconds": secs(c.receive_wait),
    }
    if c.max_message_size < 1_048_576:  # 1 MiB is AWS's default now [aws-facts §6]
        props["MaximumMessageSize"] = int(c.max_message_size)
    if c.dlq:
        props["RedrivePolicy"] = {"deadLetterTargetArn": getatt(out.lid(c.dlq), "Arn"),
                                  "maxReceiveCount": c.max_receive_count}
    out.add(out.lid(name), "AWS::SQS::Queue", props)


def _queue_policy(out: Out, owner: str, queue: str, service: str, source: dict[str, Any] | None) -> str:
    """Let ``service`` (sns, s3) send to ``queue``."""
    cond: dict[str, Any] = {"ArnEquals": {"aws:SourceArn": source}} if source is not None else {
        "StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}}
    return out.helper(owner, f"To{out.lid(queue)}Policy", "AWS::SQS::QueuePolicy", {
        "Queues": [ref(out.lid(queue))],
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": f"{service}.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": getatt(out.lid(queue), "Arn"), "Condition": cond}]}})


def _invoke_permission(out: Out, owner: str, fn: str, service: str, source: dict[str, Any] | None) -> str:
    """Let ``service`` invoke function ``fn``."""
    return out.helper(owner, f"Invoke{out.lid(fn)}Permission", "AWS::Lambda::Permission", {
        "FunctionName": ref(out.lid(fn)), "Action": "lambda:InvokeFunction",
        "Principal": f"{service}.amazonaws.com",
        "SourceArn": source, "SourceAccount": ref("AWS::AccountId") if source is None else None})


def _http_endpoint(out: Out, target: str, protocol: str) -> dict[str, Any] | None:
    kind = out.kind(target)
    if kind in ("alb", "nlb", "clb"):
        return sub(f"{protocol}://${{{out.lid(target)}.DNSName}}/")
    if kind == "ec2":
        return sub(f"{protocol}://${{{out.lid(target)}.PublicDnsName}}/")
    return None


def sns(out: Out, name: str, c: Any) -> None:
    topic = out.add(out.lid(name), "AWS::SNS::Topic", {"FifoTopic": True if c.fifo else None})
    for i, s in enumerate(c.subscriptions, 1):
        protocol = s.protocol or {"sqs": "sqs", "lambda": "lambda"}.get(out.kind(s.target), "https")
        endpoint: Any
        if protocol == "sqs":
            endpoint = getatt(out.lid(s.target), "Arn")
            _queue_policy(out, name, s.target, "sns", ref(topic))
        elif protocol == "lambda":
            endpoint = getatt(out.lid(s.target), "Arn")
            _invoke_permission(out, name, s.target, "sns", ref(topic))
        elif protocol == "email":
            endpoint = s.endpoint
        else:
            endpoint = _http_endpoint(out, s.target, protocol)
            if endpoint is None:
                out.note(name, f"the {protocol} subscription to {s.target} ({out.kind(s.target)}) is left out: an "
                               "Auto Scaling group has no address of its own")
                continue
        props: dict[str, Any] = {"TopicArn": ref(topic), "Protocol": protocol, "Endpoint": endpoint}
        if s.filter_policy is not None:
            props["FilterPolicy"] = s.filter_policy
            props["FilterPolicyScope"] = "MessageAttributes"
        if s.dlq:
            props["RedrivePolicy"] = {"deadLetterTargetArn": getatt(out.lid(s.dlq), "Arn")}
            _queue_policy(out, name, s.dlq, "sns", ref(topic))
        if s.delivery_policy is not None and protocol in ("http", "https"):
            d = s.delivery_policy
            props["DeliveryPolicy"] = {"healthyRetryPolicy": {
                "numRetries": d.num_retries, "minDelayTarget": secs(d.min_delay), "maxDelayTarget": secs(d.max_delay),
                "backoffFunction": d.backoff}}
        out.helper(name, f"Subscription{i}", "AWS::SNS::Subscription", props)


def _policies(out: Out, name: str, c: Any) -> list[dict[str, Any]]:
    """The managed policies of function ``name``'s execution role: logs, and the pollers' reads."""
    got = [sub(_PARTITION_POLICY + "AWSLambdaBasicExecutionRole")]
    if c.event_sources:
        got.append(sub(_PARTITION_POLICY + "AWSLambdaSQSQueueExecutionRole"))
    for _, other in out.comps():
        if other.type == "kinesis" and any(s.function == name for s in other.consumers):
            got.append(sub(_PARTITION_POLICY + "AWSLambdaKinesisExecutionRole"))
        if other.type == "dynamodb" and other.stream and any(s.function == name for s in other.stream.consumers):
            got.append(sub(_PARTITION_POLICY + "AWSLambdaDynamoDBExecutionRole"))
    return list({json.dumps(p): p for p in got}.values())


def _role(out: Out, name: str, c: Any) -> str:
    sends = [q for q in (c.dlq, c.on_failure) if q]
    for _, other in out.comps():  # stream consumers' on-failure queues
        streams = other.consumers if other.type == "kinesis" else (
            other.stream.consumers if other.type == "dynamodb" and other.stream else [])
        sends += [s.on_failure for s in streams if s.function == name and s.on_failure]
    props: dict[str, Any] = {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "ManagedPolicyArns": _policies(out, name, c)}
    if sends:
        props["Policies"] = [{"PolicyName": "send-failures", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sqs:SendMessage",
            "Resource": [getatt(out.lid(q), "Arn") for q in dict.fromkeys(sends)]}]}}]
    return out.helper(name, "Role", "AWS::IAM::Role", props)


_CODE = ("def handler(event, context):\n"
         "    # exported by cloudtwin: put the function's code here ({steps} handler steps in the spec)\n"
         "    return {{'statusCode': 200, 'body': 'ok'}}\n")


def lambda_(out: Out, name: str, c: Any) -> None:
    role = _role(out, name, c)
    fn = out.add(out.lid(name), "AWS::Lambda::Function", {
        "Runtime": "python3.12", "Handler": "index.handler",
        "Code": {"ZipFile": _CODE.format(steps=len(c.handler))},
        "Role": getatt(role, "Arn"),
        "MemorySize": c.memory, "Timeout": secs(c.timeout),
        "ReservedConcurrentExecutions": c.reserved_concurrency,
        "DeadLetterConfig": {"TargetArn": getatt(out.lid(c.dlq), "Arn")} if c.dlq else None})
    if c.provisioned_concurrency:
        out.note(name, f"provisioned_concurrency {c.provisioned_concurrency} is not exported (it needs a published "
                       "version and an alias)")
    if c.zones:
        out.note(name, f"zones {c.zones} are not exported (a function in a VPC needs its subnets and a NAT)")
    if c.retries != 2 or c.max_event_age != 21_600.0 or c.on_failure:
        out.helper(name, "EventInvokeConfig", "AWS::Lambda::EventInvokeConfig", {
            "FunctionName": ref(fn), "Qualifier": "$LATEST",
            "MaximumRetryAttempts": c.retries, "MaximumEventAgeInSeconds": secs(c.max_event_age),
            "DestinationConfig": {"OnFailure": {"Destination": getatt(out.lid(c.on_failure), "Arn")}}
            if c.on_failure else None})
    for es in c.event_sources:
        props: dict[str, Any] = {
            "EventSourceArn": getatt(out.lid(es.queue), "Arn"), "FunctionName": ref(fn),
            "BatchSize": es.batch_size,
            "MaximumBatchingWindowInSeconds": secs(es.batching_window) if es.batching_window else None,
            "FunctionResponseTypes": ["ReportBatchItemFailures"] if es.report_batch_item_failures else None,
            "ScalingConfig": {"MaximumConcurrency": es.maximum_concurrency} if es.maximum_concurrency else None}
        out.helper(name, f"{out.lid(es.queue)}EventSource", "AWS::Lambda::EventSourceMapping", props)


def stream_consumer(out: Out, owner: str, arn: dict[str, Any], s: Any) -> None:
    """An event source mapping of a Kinesis stream or DynamoDB stream to a function."""
    out.helper(owner, f"{out.lid(s.function)}EventSource", "AWS::Lambda::EventSourceMapping", {
        "EventSourceArn": arn, "FunctionName": ref(out.lid(s.function)), "StartingPosition": "LATEST",
        "BatchSize": s.batch_size,
        "BisectBatchOnFunctionError": True if s.bisect_on_error else None,
        "MaximumRetryAttempts": s.max_retry_attempts,
        "MaximumRecordAgeInSeconds": secs(s.max_record_age) if s.max_record_age else None,
        "ParallelizationFactor": s.parallelization_factor,
        "DestinationConfig": {"OnFailure": {"Destination": getatt(out.lid(s.on_failure), "Arn")}}
        if s.on_failure else None})
    if getattr(s, "enhanced_fan_out", False):
        out.note(owner, f"{s.function}'s enhanced fan-out consumer is not exported (a shared-throughput "
                        "mapping is)")
