"""Schema of ``ec2``: instances run a handler on vCPU slots (:class:`Compute` is shared with ``asg``).

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.ec2`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cloudtwin.spec.base import ComponentSpec, Dist, Name, Zone, known_row
from cloudtwin.spec.loader import Path
from cloudtwin.spec.steps import Step
from cloudtwin.spec.units import parse_distribution as _d


# ---------------------------------------------------------------- compute
class Compute(ComponentSpec):
    """What EC2 instances and ASG members share."""

    instance_type: str = Field("m5.large", pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$", max_length=40)
    workers: int | None = Field(None, ge=1, le=4096)  # default: vCPUs of instance_type
    backlog: int = Field(1024, ge=0, le=1_000_000)  # accept-queue limit (assumption)
    boot_time: Dist = Field(default_factory=lambda: _d("uniform(40s, 80s)"))  # assumption
    handler: list[Step] = Field(default_factory=list)
    # what answers a load balancer's HTTP health check; None: the handler (the default path `/`
    # is the application itself [aws-facts §1 ALB health-check protocol and path])
    health_handler: list[Step] | None = None
    mounts: list[Name] = Field(default_factory=list)
    # burstable (T2/T3/T3a/T4g) types only: how CPU above the baseline is paid for
    # (cloudtwin.services.cpu_credits). None: the family's default, standard for T2, unlimited for
    # T3/T3a/T4g (RunInstances CreditSpecification; EC2 guide "Launch burstable performance instances")
    credit_specification: Literal["standard", "unlimited"] | None = None
    # earned CPU credits each instance starts with; None: 0 (AWS: T3/T3a/T4g get no launch credits; a
    # T2 standard instance gets its launch credits on top). A run standing for an instance that has been
    # up a while sets it (assumption: AWS has no such setting)
    initial_cpu_credits: float | None = Field(None, ge=0, le=1_000_000)
    # the vpc subnets it runs in, one per zone (none: no VPC is modelled) [spec/vpc.py]
    subnets: list[Name] = Field(default_factory=list, max_length=6)


class EC2(Compute):
    type: Literal["ec2"]
    count: int = Field(1, ge=1, le=1000)
    zones: list[Zone] | None = None  # spread round-robin; default: the first zone
    public_ip: bool = True  # an ephemeral public IPv4 that changes on stop/start [aws-facts §3]
    elastic_ip: bool = False  # a static address, 5 per Region by default [aws-facts §3]
    # another ec2's Elastic IP that `call: <this>.associate_address` moves here (AllowReassociation)
    takes_elastic_ip: Name | None = None
    purchase: Literal["on_demand", "reserved", "spot"] = "on_demand"



def check_instance_types(arch: Any, types: tuple[str, ...]) -> list[tuple[Path, str]]:
    """Each instance of ``types`` has a type the instance table knows (its vCPUs give the worker
    slots), or says its own ``workers:``; an unknown type with ``workers`` is only unpriced. The CPU
    credit keys are for burstable types only, and a starting balance fits under the type's maximum."""
    from cloudtwin.sizes import data_row

    out: list[tuple[Path, str]] = []
    for n, c in arch.components.items():
        if c.type not in types:
            continue
        if c.workers is None:
            known_row(out, ("components", n, "instance_type"), "instance_types.csv", c.instance_type,
                      "instance type", " (or give `workers:`, the vCPUs the type has)")
        row = data_row("burstable_types.csv", c.instance_type)
        for key in ("credit_specification", "initial_cpu_credits"):
            if getattr(c, key) is not None and row is None:
                out.append((("components", n, key), f"`{key}` is for burstable performance instances "
                                                    f"(t2, t3, t3a, t4g); {c.instance_type} is not one"))
        if row is not None and c.initial_cpu_credits is not None and c.initial_cpu_credits > float(row["max_credits"]):
            out.append((("components", n, "initial_cpu_credits"),
                        f"{c.initial_cpu_credits:g} is above the {row['max_credits']} credits a {c.instance_type} "
                        "can accrue (24 hours of earnings)"))
    return out


def check(arch: Any) -> list[tuple[Path, str]]:
    out = check_instance_types(arch, ("ec2",))
    for n, c in arch.components.items():
        if c.type != "ec2" or c.takes_elastic_ip is None:
            continue
        path = ("components", n, "takes_elastic_ip")
        other = arch.components.get(c.takes_elastic_ip)
        if other is None or other.type != "ec2" or not other.elastic_ip or c.takes_elastic_ip == n:
            out.append((path, f"{c.takes_elastic_ip!r} must be another `ec2` component with `elastic_ip: true` "
                              "(the address to take over)"))
        elif c.elastic_ip:
            out.append((path, "an instance with its own `elastic_ip: true` cannot also take another's"))
    return out
