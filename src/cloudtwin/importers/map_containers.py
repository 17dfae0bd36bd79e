"""Containers: ECS services with their task definitions, clusters and capacity providers."""

from __future__ import annotations

import re
from typing import Any

from cloudtwin.importers.mapping import Ctx


def _cpu(v: Any) -> float | None:
    """Task CPU: ``256`` CPU units or ``0.25 vCPU`` -> vCPUs."""
    s = str(v).strip() if isinstance(v, str | int | float) and not isinstance(v, bool) else ""
    if m := re.fullmatch(r"(\d+(?:\.\d+)?)\s*vcpu", s, re.I):
        return float(m.group(1))
    if re.fullmatch(r"\d+", s):
        return int(s) / 1024.0  # 1,024 CPU units per vCPU
    return None


def _memory(v: Any) -> float | None:
    """Task memory: ``512`` MiB or ``1 GB`` (ECS's GB is GiB) -> MiB."""
    s = str(v).strip() if isinstance(v, str | int | float) and not isinstance(v, bool) else ""
    if m := re.fullmatch(r"(\d+(?:\.\d+)?)\s*gb", s, re.I):
        return float(m.group(1)) * 1024
    if re.fullmatch(r"\d+", s):
        return float(s)
    return None


def _launch(ctx: Ctx, svc: str, p: dict[str, Any], spec: dict[str, Any]) -> bool:
    name = ctx.names[svc]
    strategy = p.get("CapacityProviderStrategy")
    if isinstance(strategy, list) and strategy:
        weights: dict[str, float] = {}
        for s in strategy:
            if isinstance(s, dict):
                w = ctx.num(svc, s, "Weight", structural=False)
                weights[str(s.get("CapacityProvider"))] = w if w is not None else 0.0
        if set(weights) - {"FARGATE", "FARGATE_SPOT"}:
            ctx.leave(svc, "its capacity providers are EC2 Auto Scaling groups (a cluster of instances is not "
                           "modelled; Fargate and Fargate Spot are)")
            return False
        total = sum(weights.values()) or 1.0
        spot = weights.get("FARGATE_SPOT", 0.0) / total
        spec["launch_type"] = "fargate"
        if spot:
            spec["fargate_spot"] = round(spot, 6)
            if any(isinstance(s, dict) and s.get("Base") for s in strategy):
                ctx.assume(f"{name}: the capacity provider strategy's Base is not modelled; tasks split by Weight")
        return True
    kind = str(p.get("LaunchType", "")).upper()
    cluster = ctx.target(p.get("Cluster"))
    if not kind and cluster is not None:  # the cluster's default capacity provider strategy
        for src in [cluster, *(a for a in ctx.of_type("AWS::ECS::ClusterCapacityProviderAssociations")
                               if ctx.target(ctx.tpl.props(a).get("Cluster")) == cluster)]:
            default = ctx.tpl.props(src).get("DefaultCapacityProviderStrategy")
            if isinstance(default, list) and default:
                return _launch(ctx, svc, {"CapacityProviderStrategy": default}, spec)
    if kind == "EXTERNAL":
        ctx.leave(svc, "an ECS Anywhere (EXTERNAL) service runs on servers outside AWS")
        return False
    spec["launch_type"] = "ec2" if kind == "EC2" else "fargate" if kind == "FARGATE" else ctx.default(
        svc, "LaunchType", "launch_type", "ec2",
        "assumption: no launch type nor capacity provider strategy, the service's or its cluster's")
    return True


def service(ctx: Ctx, svc: str) -> None:
    p = ctx.tpl.props(svc)
    name = ctx.names[svc]
    if str(p.get("SchedulingStrategy", "REPLICA")).upper() == "DAEMON":
        ctx.leave(svc, "a DAEMON service runs one task per container instance; instances of a cluster are not "
                       "modelled")
        return
    spec: dict[str, Any] = {"type": "ecs"}
    if not _launch(ctx, svc, p, spec):
        return
    td = ctx.target(p.get("TaskDefinition"))
    tp = ctx.tpl.props(td) if td is not None and ctx.res_type(td) == "AWS::ECS::TaskDefinition" else {}
    cpu, mem = _cpu(tp.get("Cpu")), _memory(tp.get("Memory"))
    if td is not None and tp:
        ctx.fold(td, name)
    spec["cpu"] = cpu if cpu is not None else ctx.default(svc, "TaskDefinition.Cpu", "cpu", 0.25,
                                                          "the spec's default (Fargate's smallest task)")
    spec["memory"] = f"{mem:g}MiB" if mem is not None else ctx.default(
        svc, "TaskDefinition.Memory", "memory", "512MiB", "the spec's default (Fargate's smallest task)")
    desired = ctx.int_(svc, p, "DesiredCount")
    # CloudFormation creates a service without DesiredCount with 1 task (ECS in CloudFormation, 2021)
    spec["desired"] = desired if desired is not None else ctx.default(
        svc, "DesiredCount", "desired", 1, "AWS's default when CloudFormation creates the service")
    net = ((p.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or {})
    zones, _ = ctx.subnet_zones(net.get("Subnets"))
    if zones:
        spec["zones"] = zones
        ctx.zones[name] = zones
    cluster = ctx.target(p.get("Cluster"))
    if cluster is not None and ctx.res_type(cluster) == "AWS::ECS::Cluster":
        ctx.fold(cluster, name)
        for a in ctx.of_type("AWS::ECS::ClusterCapacityProviderAssociations"):
            if ctx.target(ctx.tpl.props(a).get("Cluster")) == cluster:
                ctx.fold(a, name)
    for lb in p.get("LoadBalancers") or []:
        if isinstance(lb, dict):
            _target_group(ctx, svc, ctx.target(lb.get("TargetGroupArn")))
    _scaling(ctx, svc)
    ctx.add(svc, spec)


def _target_group(ctx: Ctx, svc: str, tg: str | None) -> None:
    """A target group of the service's tasks, and the load balancers that forward to it, are listed
    with that reason: cloudtwin's load balancers target EC2 instances and Auto Scaling groups."""
    why = (f"its targets are the tasks of the ECS service {svc}; cloudtwin's load balancers target EC2 instances and "
           "Auto Scaling groups, not ECS tasks")
    if tg is None or ctx.res_type(tg) != "AWS::ElasticLoadBalancingV2::TargetGroup":
        return
    if tg not in ctx.folded and tg not in {u[0] for u in ctx.unmapped}:
        ctx.leave(tg, why)
    lbs = {ctx.target(ctx.tpl.props(ls).get("LoadBalancerArn"))
           for ls in ctx.of_type("AWS::ElasticLoadBalancingV2::Listener")
           if any(ctx.target(a.get("TargetGroupArn")) == tg for a in ctx.tpl.props(ls).get("DefaultActions") or []
                  if isinstance(a, dict))}
    for i, (logical, kind, line, _) in enumerate(ctx.unmapped):
        if logical in lbs:
            ctx.unmapped[i] = (logical, kind, line, f"its listener forwards to {tg}, whose {why[4:]}")


def _scaling(ctx: Ctx, svc: str) -> None:
    """Application Auto Scaling of the service: listed with why (the ecs model scales on a queue's
    backlog per task, which a template's target tracking on CPU or requests is not)."""
    targets = []
    for t in ctx.of_type("AWS::ApplicationAutoScaling::ScalableTarget"):
        tp = ctx.tpl.props(t)
        rid = tp.get("ResourceId")
        if tp.get("ServiceNamespace") == "ecs" and (ctx.target(rid) == svc or re.search(rf"<{svc}[.>]", str(rid))):
            targets.append(t)
            ctx.leave(t, f"scaling of the ECS service {svc}: cloudtwin's ecs scaling tracks a queue's backlog per "
                         "task, not this target's metrics")
    for pol in ctx.of_type("AWS::ApplicationAutoScaling::ScalingPolicy"):
        pp = ctx.tpl.props(pol)
        if ctx.target(pp.get("ScalingTargetId")) in targets:
            metric = ((pp.get("TargetTrackingScalingPolicyConfiguration") or {})
                      .get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType", "a custom metric")
            ctx.leave(pol, f"target tracking on {metric}: cloudtwin's ecs scaling tracks a queue's backlog per task")
