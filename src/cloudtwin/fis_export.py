"""``cloudtwin export-fis``: a spec's faults as an AWS FIS experiment template, for the user to
run for real (``aws fis create-experiment-template --cli-input-json file://TEMPLATE.json``).

Each fault becomes one or more FIS actions on targets chosen by tag, with placeholders where the
spec cannot know a real name: resources are selected by the tag ``cloudtwin:component`` (ASG
instances by their automatic ``aws:autoscaling:groupName`` tag), API-error actions name a
placeholder IAM role, and the experiment role is a placeholder ARN. An ``az_outage`` and the
scenario *AZ Availability: Power Interruption* become the scenario's actions for the components in
that zone (stop instances, pause ASG launches, cut the zone's subnets off, fail the database and
cache over, pause EBS I/O). A fault's ``at`` becomes an ``aws:fis:wait`` it starts after (FIS
starts every other action when the experiment starts); ``start_after`` keeps its order.

The hypothesis becomes one CloudWatch-alarm stop condition per check (alarm ARNs to create);
without one, the stop condition is ``none``. Faults with no FIS counterpart are named, not
guessed: an ASG instance refresh, Fargate Spot interruptions, an ElastiCache test failover,
latency or errors injected into anything but a Lambda function (or API errors on anything but
Kinesis), and the random failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cloudtwin.spec.fis import SCENARIO, is_scenario, iso_duration, length, param_text, start_times
from cloudtwin.spec.hypothesis import CHECKS
from cloudtwin.spec.schema import Architecture, Fault

ACCOUNT = "123456789012"  # placeholder account id (AWS's documentation example)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/REPLACE-ME-fis-experiment-role"
TAG = "cloudtwin:component"
WAIT_MIN, WAIT_MAX = 60.0, 12 * 3600.0  # aws:fis:wait takes one minute to 12 hours


@dataclass
class Exported:
    """The template, and the faults (by index) it could not express, with why."""

    template: dict[str, Any]
    unmapped: list[tuple[int, str]] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)


class _Builder:
    def __init__(self, arch: Architecture) -> None:
        self.arch = arch
        self.targets: dict[str, dict[str, Any]] = {}
        self.actions: dict[str, dict[str, Any]] = {}
        self.notes: list[str] = []  # the current fault's

    def az(self, zone: str) -> str:
        return f"{self.arch.region}{zone}"

    def target(self, kind: str, comp: str | None, *, zone: str | None = None, selection: str = "ALL",
               by_zone_param: bool = False) -> str:
        """The name of a template target (added once): ``kind`` resources of component ``comp``."""
        name = "-".join(x for x in (comp or "zone", kind.split(":")[-1], zone, selection.lower()
                                    .replace("(", "").replace(")", "") if selection != "ALL" else "") if x)[:64]
        if name in self.targets:
            return name
        t: dict[str, Any] = {"resourceType": kind}
        if kind == "aws:iam:role":
            t["resourceArns"] = [f"arn:aws:iam::{ACCOUNT}:role/REPLACE-ME-{comp}-caller"]
        elif kind == "aws:ecs:task":
            t["parameters"] = {"cluster": "REPLACE-ME-cluster", "service": comp or ""}
        elif kind == "aws:ec2:subnet":
            t["resourceTags"] = {"AzImpairmentPower": "DisruptSubnet"}
        elif comp is not None and self.arch.components[comp].type == "asg" and kind in (
                "aws:ec2:instance", "aws:ec2:spot-instance"):
            t["resourceTags"] = {"aws:autoscaling:groupName": comp}
        else:
            t["resourceTags"] = {TAG: comp or ""}
        if kind == "aws:ecs:task":
            zone = None  # tasks are chosen by cluster and service (the zone is not a task filter here)
        if zone is not None and by_zone_param:
            t["parameters"] = {"availabilityZoneIdentifier": self.az(zone)}
        elif zone is not None:
            path = {"aws:ec2:subnet": "AvailabilityZone", "aws:ec2:ebs-volume": "AvailabilityZone"}.get(
                kind, "Placement.AvailabilityZone")
            t["filters"] = [{"path": path, "values": [self.az(zone)]}]
        if kind in ("aws:ec2:instance", "aws:ec2:spot-instance"):
            t.setdefault("filters", []).append({"path": "State.Name", "values": ["running"]})
        t["selectionMode"] = selection
        self.targets[name] = t
        return name

    def action(self, name: str, action_id: str, params: dict[str, Any], targets: dict[str, str],
               after: list[str], description: str) -> str:
        base, k = name[:60], 1
        while name in self.actions:
            k += 1
            name = f"{base}-{k}"
        a: dict[str, Any] = {"actionId": action_id, "description": description[:512],
                             "parameters": {p: param_text(v) for p, v in params.items()}, "targets": targets}
        if after:
            a["startAfter"] = list(after)
        self.actions[name] = a
        return name


def _comp_zones(arch: Architecture, name: str) -> list[str]:
    c: Any = arch.components[name]
    if c.type == "ec2":
        return list(c.zones or [arch.zones[0]])
    if c.type in ("rds", "aurora", "ebs"):
        return [c.zone or arch.zones[0]]
    return list(getattr(c, "zones", None) or arch.zones)


def _scenario(b: _Builder, zone: str, seconds: float, after: list[str], label: str) -> list[str]:
    """The AZ power interruption's actions for what the spec has in ``zone``."""
    arch, d, out = b.arch, iso_duration(seconds), []
    for n, c in arch.components.items():
        if zone not in _comp_zones(arch, n):
            continue
        cz: Any = c
        if c.type in ("ec2", "asg"):
            extra = {"completeIfInstancesTerminated": True} if c.type == "asg" else {}
            out.append(b.action(f"Stop-Instances-{n}", "aws:ec2:stop-instances",
                                {"startInstancesAfterDuration": d, **extra},
                                {"Instances": b.target("aws:ec2:instance", n, zone=zone)}, after,
                                f"{label}: stop {n}'s instances in {b.az(zone)}"))
        if c.type == "asg":
            out.append(b.action(f"Pause-ASG-Launches-{n}", "aws:ec2:asg-insufficient-instance-capacity-error",
                                {"duration": d, "availabilityZoneIdentifiers": b.az(zone), "percentage": 100},
                                {"AutoScalingGroups": b.target("aws:ec2:autoscaling-group", n)}, after,
                                f"{label}: no launches of {n} in {b.az(zone)}"))
        if c.type == "ecs":
            b.notes.append(f"{n}'s tasks in {b.az(zone)}: the scenario stops them with the EC2 instances they "
                           "run on; Fargate tasks of one zone cannot be targeted, so they are left out")
        if c.type == "aurora" or (c.type == "rds" and cz.deployment == "multi_az_cluster"):
            out.append(b.action(f"Failover-{n}", "aws:rds:failover-db-cluster", {},
                                {"Clusters": b.target("aws:rds:cluster", n)}, after, f"{label}: fail {n} over"))
        elif c.type == "rds" and cz.any_multi_az:
            out.append(b.action(f"Failover-{n}", "aws:rds:reboot-db-instances", {"forceFailover": True},
                                {"DBInstances": b.target("aws:rds:db", n)}, after, f"{label}: fail {n} over"))
        if c.type == "elasticache":
            out.append(b.action(f"Pause-ElastiCache-{n}", "aws:elasticache:replicationgroup-interrupt-az-power",
                                {"duration": d}, {"ReplicationGroups": b.target(
                                    "aws:elasticache:replicationgroup", n, zone=zone, by_zone_param=True)}, after,
                                f"{label}: {n}'s nodes in {b.az(zone)} lose power"))
        if c.type == "ebs":
            out.append(b.action(f"Pause-EBS-{n}", "aws:ebs:pause-volume-io", {"duration": d},
                                {"Volumes": b.target("aws:ec2:ebs-volume", n, zone=zone)}, after,
                                f"{label}: {n}'s I/O paused"))
    out.append(b.action(f"Pause-Network-{zone}", "aws:network:disrupt-connectivity",
                        {"scope": "all", "duration": d},
                        {"Subnets": b.target("aws:ec2:subnet", None, zone=zone)}, after,
                        f"{label}: the subnets of {b.az(zone)} cut off"))
    return out


def _legacy(b: _Builder, f: Fault, after: list[str], label: str, i: int, ex: Exported) -> list[str] | str:
    """FIS actions for a legacy fault, or why there are none."""
    act, name = f.action, f.target
    kind = b.arch.components[name].type if act != "az_outage" else ""
    if act == "az_outage":
        return _scenario(b, name, f.duration or 0.0, after, label)
    sel = f"COUNT({f.count})"
    if act == "terminate":
        if kind == "ecs":
            if f.zone is not None:
                ex.notes.append((i, f"the tasks are not limited to zone {f.zone} (FIS picks tasks by service)"))
            return [b.action(f"Stop-Tasks-{name}", "aws:ecs:stop-task", {},
                             {"Tasks": b.target("aws:ecs:task", name, zone=f.zone, selection=sel)}, after, label)]
        return [b.action(f"Terminate-{name}", "aws:ec2:terminate-instances", {}, {"Instances": b.target(
            "aws:ec2:instance", name, zone=f.zone, selection=sel)}, after, label)]
    if act == "replace":
        if kind == "asg":
            return "an Auto Scaling instance refresh (replace one at a time) is not an FIS action"
        ex.notes.append((i, "FIS starts stopped instances after at least PT1M; cloudtwin's replace starts them "
                         "at once (one at a time behind load balancers)"))
        return [b.action(f"Stop-Start-{name}", "aws:ec2:stop-instances", {"startInstancesAfterDuration": "PT1M"},
                         {"Instances": b.target("aws:ec2:instance", name)}, after, label)]
    if act == "spot_interruption":
        if kind == "ecs":
            return "Fargate Spot task interruptions are not an FIS action"
        return [b.action(f"Spot-Interrupt-{name}", "aws:ec2:send-spot-instance-interruptions",
                         {"durationBeforeInterruption": "PT2M"}, {"SpotInstances": b.target(
                             "aws:ec2:spot-instance", name, selection=sel)}, after, label)]
    if act == "db_failover":
        c: Any = b.arch.components[name]
        if kind == "aurora" or (kind == "rds" and c.deployment == "multi_az_cluster"):
            return [b.action(f"Failover-{name}", "aws:rds:failover-db-cluster", {},
                             {"Clusters": b.target("aws:rds:cluster", name)}, after, label)]
        if kind == "rds":
            return [b.action(f"Reboot-{name}", "aws:rds:reboot-db-instances", {"forceFailover": c.any_multi_az},
                             {"DBInstances": b.target("aws:rds:db", name)}, after, label)]
        return "an ElastiCache test failover is not an FIS action (aws:elasticache:" \
               "replicationgroup-interrupt-az-power cuts a zone's nodes instead)"
    if act == "link_down":
        return "a network link failure (link_down) is not mapped to an FIS action by cloudtwin"
    if act == "status_check_failure":
        return "a failed system status check has no FIS action (aws:ec2:stop-instances stops the instance instead)"
    if act == "data_loss":
        return "a data-store loss has no FIS action (rehearse the restore itself outside FIS)"
    if kind != "lambda":
        return f"injected {act} on {kind} has no FIS action (FIS injects delays and errors into Lambda functions)"
    d = iso_duration(f.duration or 0.0)
    if act == "latency":
        ms = round(f.add.mean * 1000) if f.add.mean is not None else 0
        if f.add.kind != "const":
            ex.notes.append((i, f"the delay {f.add.text} is exported as its mean, {ms} ms"))
        return [b.action(f"Delay-{name}", "aws:lambda:invocation-add-delay",
                         {"duration": d, "startupDelayMilliseconds": ms, "invocationPercentage": 100},
                         {"Functions": b.target("aws:lambda:function", name)}, after, label)]
    pct = round(f.rate * 100)
    if pct < 1:
        return f"an error rate of {f.rate:g} is below FIS's smallest invocationPercentage (1)"
    return [b.action(f"Errors-{name}", "aws:lambda:invocation-error",
                     {"duration": d, "invocationPercentage": pct, "preventExecution": True},
                     {"Functions": b.target("aws:lambda:function", name)}, after, label)]


def _fis(b: _Builder, f: Fault, after: list[str], label: str) -> list[str] | str:
    fis = f.fis or ""
    if is_scenario(fis):
        assert f.zone is not None
        return _scenario(b, f.zone, length(f), after, label)
    from cloudtwin.spec.fis import ACTIONS

    act = ACTIONS[fis]
    params: dict[str, Any] = dict(f.parameters)
    targets: dict[str, str] = {}
    if act.role == "Subnets":
        assert f.zone is not None
        targets["Subnets"] = b.target("aws:ec2:subnet", None, zone=f.zone)
    elif act.role is not None and act.resource_type is not None:
        comp = f.target
        if act.resource_type == "aws:iam:role":
            kind = b.arch.components[comp].type
            svc = str(params.get("service", "kinesis" if kind == "kinesis" else ""))
            if svc not in ("ec2", "kinesis") or (kind != "kinesis" and svc == "kinesis"):
                return f"FIS injects API errors into ec2 and kinesis calls only; {comp!r} is {kind}"
            params["service"] = svc
        by_param = act.resource_type == "aws:elasticache:replicationgroup"
        targets[act.role] = b.target(act.resource_type, comp, zone=f.zone, selection=f.selection or "ALL",
                                     by_zone_param=by_param)
    if "availabilityZoneIdentifiers" in params:
        params["availabilityZoneIdentifiers"] = ",".join(
            z.strip() if z.strip().startswith(b.arch.region) else b.az(z.strip())
            for z in str(params["availabilityZoneIdentifiers"]).split(","))
    short = fis.split(":")[-1]
    return [b.action(f.name or f"{short}-{f.target}".strip("-"), fis, params, targets, after, label)]


def export(arch: Architecture) -> Exported:
    """The FIS experiment template for ``arch``'s faults."""
    b = _Builder(arch)
    ex = Exported({})
    starts = start_times(arch.faults)
    made: dict[str, list[str]] = {}  # fault name -> the actions it became
    for i in _order(arch.faults):
        f = arch.faults[i]
        label = f"cloudtwin fault {i}: {f.fis or f.action} {f.target}".strip()
        after: list[str] = [a for n in f.start_after for a in made.get(n, [])]
        lost = [n for n in f.start_after if n not in made]
        if lost:  # it follows a fault that is not exported: keep its time with a wait instead
            ex.notes.append((i, f"it starts after {', '.join(lost)}, which FIS cannot express; it waits "
                             f"until {iso_duration(starts[i])} instead"))
            after = []
        wait_name = None
        if not after and starts[i] > 0:
            wait = min(max(starts[i], WAIT_MIN), WAIT_MAX)
            if wait != starts[i]:
                ex.notes.append((i, f"starts at {starts[i]:g}s; aws:fis:wait takes PT1M-PT12H, so it waits "
                                 f"{iso_duration(wait)}"))
            wait_name = b.action(f"Wait-{i}", "aws:fis:wait", {"duration": iso_duration(wait)}, {}, [],
                                 f"{label}: starts at {iso_duration(starts[i])}")
            after = [wait_name]
        got = _fis(b, f, after, label) if f.fis is not None else _legacy(b, f, after, label, i, ex)
        ex.notes.extend((i, n) for n in b.notes)
        b.notes.clear()
        if isinstance(got, str):
            ex.unmapped.append((i, got))
            if wait_name is not None:  # the wait of a fault not exported
                del b.actions[wait_name]
            continue
        if f.name is not None:
            made[f.name] = got
    ex.unmapped.sort()
    ex.notes.sort()
    if arch.failures:
        ex.notes.append((-1, "random failures (failures:) are not an FIS action; they are not exported"))
    ex.template = {
        "description": (f"cloudtwin {arch.name}: " + (arch.description.strip() or f"faults of {arch.name}"))[:512],
        "targets": b.targets,
        "actions": b.actions,
        "stopConditions": _stop_conditions(arch),
        "roleArn": ROLE,
        "experimentOptions": {"accountTargeting": "single-account", "emptyTargetResolutionMode": "skip"},
        "tags": {"Name": f"cloudtwin-{arch.name}"[:128], "cloudtwin:spec": arch.name},
    }
    return ex


def _order(faults: list[Fault]) -> list[int]:
    """The faults' indices, each after the faults it starts after (the spec check rules out circles)."""
    names = {f.name: i for i, f in enumerate(faults) if f.name is not None}
    out: list[int] = []
    seen: set[int] = set()

    def visit(i: int) -> None:
        if i in seen:
            return
        seen.add(i)
        for n in faults[i].start_after:
            visit(names[n])
        out.append(i)

    for i in range(len(faults)):
        visit(i)
    return out


def _stop_conditions(arch: Architecture) -> list[dict[str, str]]:
    """One CloudWatch alarm per hypothesis check (the alarms are for the user to create), at most
    FIS's five; ``none`` without a hypothesis."""
    h = arch.hypothesis
    if h is None:
        return [{"source": "none"}]
    keys = [k for k in CHECKS if getattr(h, k) is not None][:5]
    return [{"source": "aws:cloudwatch:alarm",
             "value": f"arn:aws:cloudwatch:{arch.region}:{ACCOUNT}:alarm:REPLACE-ME-{arch.name}-{k}"} for k in keys]


__all__ = ["SCENARIO", "Exported", "export"]
