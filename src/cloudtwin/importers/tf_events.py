"""Terraform translators of EventBridge: ``aws_cloudwatch_event_bus``, ``aws_cloudwatch_event_rule``
and ``aws_cloudwatch_event_target`` (a part of its rule: CloudFormation lists a rule's targets in
the rule), into the CloudFormation properties :mod:`cloudtwin.importers.map_events` reads."""

from __future__ import annotations

from cloudtwin.importers.tf_view import Props, View, json_doc


def bus(r: View) -> Props:
    p: Props = {}
    r.put(p, "Name", "name")
    return p


def rule(r: View) -> Props:
    p: Props = {}
    pattern = json_doc(r.v("event_pattern"))
    if isinstance(pattern, dict):
        p["EventPattern"] = pattern
    r.put(p, "ScheduleExpression", "schedule_expression")
    bus_ref = r.ref("event_bus_name", attr="name")
    if bus_ref is not None:
        p["EventBusName"] = bus_ref
    state = r.v("state")
    if isinstance(state, str):
        p["State"] = state.upper()
    elif r.v("is_enabled") is False:
        p["State"] = "DISABLED"
    return p


def target(r: View, into: Props) -> None:
    """Append the target to its rule's ``Targets``."""
    t: Props = {"Id": r.v("target_id") or r.res.name, "Arn": r.ref("arn")}
    dlq = r.ref("dead_letter_config", 0, "arn")
    if dlq is not None:
        t["DeadLetterConfig"] = {"Arn": dlq}
    retry = r.block("retry_policy")
    if retry:
        t["RetryPolicy"] = {k: v for k, v in (("MaximumRetryAttempts", retry.get("maximum_retry_attempts")),
                                              ("MaximumEventAgeInSeconds", retry.get("maximum_event_age_in_seconds")))
                            if v is not None}
    task = r.ref("ecs_target", 0, "task_definition_arn")
    if task is not None:
        t["EcsParameters"] = {"TaskDefinitionArn": task}
    into.setdefault("Targets", []).append(t)
