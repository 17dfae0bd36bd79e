"""Schema of ``beanstalk``: an Elastic Beanstalk environment and the deployments of its versions.

An environment is made of ordinary components (see :mod:`cloudtwin.services.beanstalk`): a
load-balanced web environment is a CNAME record, an ALB and an Auto Scaling group; a
single-instance one a CNAME record and one EC2 instance with an Elastic IP. A deployment
is a scheduled event of the scenario, listed under the environment's ``deployments:``.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.beanstalk`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, model_validator

from cloudtwin.limits import MAX_FAULTS
from cloudtwin.spec.asg import Capacity
from cloudtwin.spec.base import Dist, Duration, Model, Zone
from cloudtwin.spec.ec2 import Compute, check_instance_types
from cloudtwin.spec.loader import Path
from cloudtwin.spec.units import parse_distribution as _d

POLICIES = ("all_at_once", "rolling", "rolling_with_additional_batch", "immutable", "traffic_splitting",
            "blue_green")
Policy = Literal["all_at_once", "rolling", "rolling_with_additional_batch", "immutable", "traffic_splitting",
                 "blue_green"]
# the policies that need a load balancer [aws-facts §15 Rolling; Traffic splitting "Requires an ALB"]
LB_ONLY = ("rolling", "rolling_with_additional_batch", "traffic_splitting")


class TrafficSplit(Model):
    # NewVersionPercent default 10 (1-100), EvaluationTime default 5 min (3-600 min) [aws-facts §15]
    new_version_percent: int = Field(10, ge=1, le=100)
    evaluation_time: Duration = Field(300.0, ge=180.0, le=36_000.0)


class Deployment(Model):
    """One deployment of a new application version, at ``at`` into the run."""

    at: Duration
    policy: Policy | None = None  # None: the environment's deployment_policy
    batch_size_type: Literal["percentage", "fixed"] | None = None  # None: the environment's
    batch_size: int | None = Field(None, ge=1, le=10_000)  # None: the environment's
    version: str = Field("v2", min_length=1, max_length=100)  # the version label (shown in the timeline)
    traffic_split: TrafficSplit | None = None  # None: the environment's
    terminate_after: Duration | None = None  # blue/green: the old environment goes this long after the swap


class Beanstalk(Compute):
    type: Literal["beanstalk"]
    tier: Literal["web", "worker"] = "web"
    # EnvironmentType: LoadBalanced or SingleInstance (assumption: the option's default LoadBalanced)
    environment_type: Literal["load_balanced", "single_instance"] = "load_balanced"
    zones: list[Zone] | None = None  # default: the spec's zones (single instance: the first)
    capacity: Capacity = Field(default_factory=lambda: Capacity(min=1, max=4))  # assumption: MinSize 1, MaxSize 4
    version: str = Field("v1", min_length=1, max_length=100)  # the version running at the start
    # aws-facts §15 Option defaults: DeploymentPolicy AllAtOnce, BatchSizeType Percentage, BatchSize 100
    deployment_policy: Policy = "all_at_once"
    batch_size_type: Literal["percentage", "fixed"] = "percentage"
    batch_size: int = Field(100, ge=1, le=10_000)
    command_timeout: Duration = Field(600.0, ge=1.0, le=3600.0)  # command Timeout 600 s [aws-facts §15]
    deploy_time: Dist = Field(default_factory=lambda: _d("30s"))  # one instance's deploy + restart (assumption)
    health_timeout: Duration = 1800.0  # a batch must be healthy within PT30M [aws-facts §15]
    traffic_split: TrafficSplit = Field(default_factory=TrafficSplit)
    cname_ttl: Duration = Field(60.0, ge=0.0, le=172_800.0)  # the environment CNAME's TTL (assumption)
    deregistration_delay: Duration = Field(20.0, ge=0.0, le=3600.0)  # assumption: EB's target-group default
    deployments: list[Deployment] = Field(default_factory=list, max_length=MAX_FAULTS)

    @model_validator(mode="after")
    def _fits(self) -> Beanstalk:
        if self.batch_size_type == "percentage" and self.batch_size > 100:
            raise ValueError(f"batch_size {self.batch_size} is a percentage here (1-100)")
        return self


def batch_count(size_type: str, size: int, instances: int) -> int:
    """Instances per batch: a percentage of the environment's instances, rounded up, or a fixed
    count; at least 1 and at most all of them (assumption: AWS does not say how it rounds)."""
    n = math.ceil(instances * size / 100) if size_type == "percentage" else size
    return max(1, min(n, instances))


def policy_of(env: Beanstalk, d: Deployment) -> str:
    return d.policy or env.deployment_policy


def parts(name: str, env: Beanstalk) -> dict[str, str]:
    """The components environment ``name`` is made of in a run, ``{component: type}`` (the live
    model builds these; ``cloudtwin validate`` and the diagram show them)."""
    if env.environment_type == "single_instance":
        return {f"{name}.instance": "ec2", f"{name}.cname": "route53"}
    out = {f"{name}.asg": "asg"}
    if env.tier == "worker":
        return {**out, f"{name}.dlq": "sqs", f"{name}.queue": "sqs"}
    policies = {policy_of(env, d) for d in env.deployments}
    if "traffic_splitting" in policies:
        out[f"{name}.asg-b"] = "asg"
    out[f"{name}.alb"] = "alb"
    if "blue_green" in policies:
        out[f"{name}.green.asg"] = "asg"
        out[f"{name}.green.alb"] = "alb"
    out[f"{name}.cname"] = "route53"
    return out


def describe(name: str, env: Beanstalk) -> str:
    """One line: the tier, the type and the parts, e.g. ``web, load balanced: env.cname (route53) ...``."""
    kind = ("single instance" if env.environment_type == "single_instance"
            else "load balanced" if env.tier == "web" else "Auto Scaling group, no load balancer")
    return f"{env.tier}, {kind}: " + ", ".join(f"{n} ({t})" for n, t in parts(name, env).items())


def check(arch: Any) -> list[tuple[Path, str]]:
    out = check_instance_types(arch, ("beanstalk",))
    for n, c in arch.components.items():
        if c.type != "beanstalk":
            continue
        base: Path = ("components", n)
        single = c.environment_type == "single_instance"
        if single and "capacity" in c.model_fields_set and (c.capacity.start != 1 or c.capacity.top != 1):
            out.append(((*base, "capacity"), "a single-instance environment has exactly one instance "
                        "(capacity min = desired = max = 1, or leave `capacity:` out)"))
        if c.tier == "worker" and single:
            out.append(((*base, "environment_type"), "a single-instance worker environment is not modelled: use "
                        "environment_type: load_balanced (for a worker, an Auto Scaling group with no load balancer)"))
        used = {policy_of(c, d) for d in c.deployments}
        if {"traffic_splitting", "blue_green"} <= used:
            out.append(((*base, "deployments"), "traffic_splitting and blue_green deployments of one environment "
                        "are not modelled together (each builds its own second group): use one of them"))
        if any(not arch.zones or z not in arch.zones for z in (c.zones or [])):
            out.append(((*base, "zones"), f"zones must be among the spec's zones {list(arch.zones)}"))
        for i, d in enumerate(c.deployments):
            p = policy_of(c, d)
            where = (*base, "deployments", i, "policy" if d.policy else "at")
            if single and p != "all_at_once":
                out.append((where, f"{p} is not modelled for a single-instance environment (AWS allows "
                            "all_at_once, immutable and a blue/green swap there; rolling and traffic "
                            "splitting need a load balancer [aws-facts §15]): use all_at_once"))
            if c.tier == "worker" and p in ("traffic_splitting", "blue_green"):
                out.append((where, f"{p} routes web traffic; a worker environment has no load balancer or URL"))
            if d.batch_size_type == "percentage" and (d.batch_size or 0) > 100:
                out.append(((*base, "deployments", i, "batch_size"), "a percentage batch size is 1-100"))
    return out
