"""A structural check of an AWS FIS experiment template, from the CreateExperimentTemplate API
reference (docs.aws.amazon.com/fis/latest/APIReference/API_CreateExperimentTemplate.html) and the
FIS user guide's pages on actions, targets and stop conditions.

:func:`check_template` returns the problems of a template (a dict, as ``aws fis
create-experiment-template --cli-input-json`` takes it): required keys, key types, action id
format, ISO 8601 durations, targets that exist and fit their action's resource type, ``startAfter``
names that exist and do not go round in a circle, stop-condition sources. It checks structure, not
whether the resources exist: that is for FIS when the template is created.
"""

from __future__ import annotations

import re
from typing import Any

from cloudtwin.spec.fis import ACTION_ID_RE, ACTIONS, parse_iso_duration

TOP_KEYS = {"clientToken", "description", "stopConditions", "targets", "actions", "roleArn", "tags",
            "logConfiguration", "experimentOptions", "experimentReportConfiguration"}
REQUIRED = ("description", "stopConditions", "actions", "roleArn")
ACTION_KEYS = {"actionId", "description", "parameters", "targets", "startAfter"}
TARGET_KEYS = {"resourceType", "resourceArns", "resourceTags", "filters", "selectionMode", "parameters"}
DURATION_PARAMS = {"duration", "startInstancesAfterDuration", "durationBeforeInterruption", "maxDuration"}
NAME_RE = re.compile(r"^[\S]{1,64}$")
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
ALARM_ARN_RE = re.compile(r"^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:\d{12}:alarm:.+$")
SELECTION_RE = re.compile(r"^(ALL|COUNT\(\d+\)|PERCENT\(\d+\))$")
RESOURCE_TYPE_RE = re.compile(r"^aws:[a-z0-9-]+:[a-z0-9-]+$")
# resource types of actions cloudtwin writes beyond its own vocabulary (spec.fis.ACTIONS)
EXTRA_ROLES = {"aws:ebs:pause-volume-io": ("Volumes", "aws:ec2:ebs-volume")}
MAX_STOP_CONDITIONS = 5  # FIS quota: stop conditions per experiment template


def _str_map(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())


def check_template(doc: Any) -> list[str]:
    """Every structural problem of FIS experiment template ``doc``; empty when it is well formed."""
    if not isinstance(doc, dict):
        return ["the template is not a JSON object"]
    out = [f"unknown top-level key {k!r}" for k in doc if k not in TOP_KEYS]
    out += [f"missing required key {k!r}" for k in REQUIRED if k not in doc]
    desc = doc.get("description")
    if "description" in doc and not (isinstance(desc, str) and 0 < len(desc) <= 512):
        out.append("description must be a string of 1-512 characters")
    if "roleArn" in doc and not (isinstance(doc["roleArn"], str) and ROLE_ARN_RE.match(doc["roleArn"])):
        out.append(f"roleArn {doc['roleArn']!r} is not an IAM role ARN")
    if "tags" in doc and not _str_map(doc["tags"]):
        out.append("tags must map strings to strings")
    out += _stop_conditions(doc.get("stopConditions"))
    targets = doc.get("targets", {})
    if not isinstance(targets, dict):
        out.append("targets must be an object")
        targets = {}
    for name, t in targets.items():
        out += [f"targets.{name}: {p}" for p in _target(name, t)]
    actions = doc.get("actions")
    if not isinstance(actions, dict) or not actions:
        out.append("actions must be an object with at least one action")
        return out
    for name, a in actions.items():
        out += [f"actions.{name}: {p}" for p in _action(name, a, targets, actions)]
    if not out and (cycle := _cycle(actions)):
        out.append("startAfter goes round in a circle: " + " -> ".join(cycle))
    return out


def _stop_conditions(sc: Any) -> list[str]:
    if sc is None:
        return []
    if not isinstance(sc, list) or not sc:
        return ["stopConditions must be a non-empty list"]
    out = []
    if len(sc) > MAX_STOP_CONDITIONS:
        out.append(f"{len(sc)} stop conditions; FIS allows {MAX_STOP_CONDITIONS} per template")
    for i, c in enumerate(sc):
        if not isinstance(c, dict) or set(c) - {"source", "value"}:
            out.append(f"stopConditions[{i}] must be an object with source (and value)")
            continue
        src = c.get("source")
        if src == "none":
            if "value" in c:
                out.append(f"stopConditions[{i}]: source none takes no value")
        elif src == "aws:cloudwatch:alarm":
            if not (isinstance(c.get("value"), str) and ALARM_ARN_RE.match(c["value"])):
                out.append(f"stopConditions[{i}]: value must be a CloudWatch alarm ARN")
        else:
            out.append(f"stopConditions[{i}]: source must be none or aws:cloudwatch:alarm, got {src!r}")
    return out


def _target(name: str, t: Any) -> list[str]:
    if not NAME_RE.match(name):
        return ["a target name is 1-64 characters without spaces"]
    if not isinstance(t, dict):
        return ["must be an object"]
    out = [f"unknown key {k!r}" for k in t if k not in TARGET_KEYS]
    rt = t.get("resourceType")
    if not (isinstance(rt, str) and RESOURCE_TYPE_RE.match(rt)):
        out.append(f"resourceType {rt!r} is not aws:service:type")
    if not (isinstance(t.get("selectionMode"), str) and SELECTION_RE.match(t["selectionMode"])):
        out.append(f"selectionMode {t.get('selectionMode')!r} is not ALL, COUNT(n) or PERCENT(n)")
    ways = [k for k in ("resourceArns", "resourceTags", "filters", "parameters") if k in t]
    if not ways:
        out.append("needs resourceArns, resourceTags, filters or parameters to select resources")
    if "resourceArns" in t and "resourceTags" in t:
        out.append("resourceArns and resourceTags cannot both be given")
    if "resourceArns" in t and not (isinstance(t["resourceArns"], list) and t["resourceArns"]
                                   and all(isinstance(a, str) and a.startswith("arn:") for a in t["resourceArns"])):
        out.append("resourceArns must be a non-empty list of ARNs")
    for k in ("resourceTags", "parameters"):
        if k in t and not _str_map(t[k]):
            out.append(f"{k} must map strings to strings")
    for i, f in enumerate(t.get("filters") or []):
        if not (isinstance(f, dict) and set(f) == {"path", "values"} and isinstance(f["path"], str)
                and isinstance(f["values"], list) and all(isinstance(v, str) for v in f["values"])):
            out.append(f"filters[{i}] must be {{path: string, values: [string]}}")
    return out


def _action(name: str, a: Any, targets: dict[str, Any], actions: dict[str, Any]) -> list[str]:
    if not NAME_RE.match(name):
        return ["an action name is 1-64 characters without spaces"]
    if not isinstance(a, dict):
        return ["must be an object"]
    out = [f"unknown key {k!r}" for k in a if k not in ACTION_KEYS]
    aid = a.get("actionId")
    if not (isinstance(aid, str) and ACTION_ID_RE.match(aid)):
        return [*out, f"actionId {aid!r} is not aws:service:action-type"]
    params = a.get("parameters", {})
    if not _str_map(params):
        out.append("parameters must map strings to strings")
        params = {}
    for k, v in params.items():
        if k in DURATION_PARAMS:
            try:
                parse_iso_duration(v)
            except ValueError as exc:
                out.append(f"parameters.{k}: {exc}")
    role_type = (ACTIONS[aid].role, ACTIONS[aid].resource_type) if aid in ACTIONS else EXTRA_ROLES.get(aid)
    used = a.get("targets", {})
    if not _str_map(used):
        return [*out, "targets must map a resource role to a target name"]
    for role, tname in used.items():
        if tname not in targets:
            out.append(f"targets.{role}: no target named {tname!r}")
        elif role_type is not None and (role, targets[tname].get("resourceType")) != role_type:
            out.append(f"targets.{role}: {aid} takes {role_type[0]} of type {role_type[1]}, got {role} "
                       f"-> {targets[tname].get('resourceType')}")
    if role_type is not None and role_type[0] is not None and not used:
        out.append(f"{aid} needs a target ({role_type[0]})")
    after = a.get("startAfter", [])
    if not (isinstance(after, list) and all(isinstance(n, str) for n in after)):
        return [*out, "startAfter must be a list of action names"]
    for n in after:
        if n not in actions:
            out.append(f"startAfter: no action named {n!r}")
        elif n == name:
            out.append("startAfter names the action itself")
    return out


def _cycle(actions: dict[str, Any]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(n: str, trail: list[str]) -> list[str] | None:
        state[n] = 1
        for m in actions[n].get("startAfter", []):
            if state.get(m) == 1:
                return [*trail[trail.index(m):], m]
            if m not in state and (c := visit(m, [*trail, m])) is not None:
                return c
        state[n] = 2
        return None

    for n in actions:
        if n not in state and (c := visit(n, [n])) is not None:
            return c
    return None
