"""Schema of ``asg``: an Auto Scaling group, its capacity, scaling policies, health checks and purchase options.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.asg`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from cloudtwin.spec.base import Dist, Duration, Model, Zone
from cloudtwin.spec.ec2 import Compute, check_instance_types
from cloudtwin.spec.loader import Path
from cloudtwin.spec.units import parse_distribution as _d


class Capacity(Model):
    min: int = Field(1, ge=0, le=10_000)
    desired: int | None = Field(None, ge=0, le=10_000)
    max: int | None = Field(None, ge=0, le=10_000)

    @model_validator(mode="after")
    def _order(self) -> Capacity:
        desired = self.min if self.desired is None else self.desired
        top = max(desired, self.min) if self.max is None else self.max
        if not self.min <= desired <= top:
            raise ValueError(f"need min <= desired <= max, got {self.min} <= {desired} <= {top}")
        return self

    @property
    def start(self) -> int:
        return self.min if self.desired is None else self.desired

    @property
    def top(self) -> int:
        return max(self.start, self.min) if self.max is None else self.max


class StepPolicy(Model):
    """A simple (one adjustment) or step scaling policy on the 1-minute CPU metric."""

    when: Literal["above", "below"] = "above"
    cpu: float = Field(gt=0, le=100)
    adjust: int  # instances to add (negative removes)
    evaluation_periods: int = Field(1, ge=1, le=60)
    cooldown: Duration | None = None  # default: the group's default_cooldown


class ScheduledAction(Model):
    at: Duration
    min: int | None = Field(None, ge=0)
    desired: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _something(self) -> ScheduledAction:
        if self.min is None and self.desired is None and self.max is None:
            raise ValueError("a scheduled action needs at least one of min, desired, max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} > max {self.max}")
        return self


class Scaling(Model):
    target_cpu: float | None = Field(None, gt=0, le=100)
    warmup: Duration | None = None  # None: falls back to default_cooldown [aws-facts §2 warmup]
    disable_scale_in: bool = False
    policies: list[StepPolicy] = Field(default_factory=list)
    scheduled: list[ScheduledAction] = Field(default_factory=list)
    default_cooldown: Duration = 300.0  # [aws-facts §2 default cooldown]


class AsgHealthCheck(Model):
    type: Literal["ec2", "elb"] = "ec2"  # ELB checks ignored unless enabled [aws-facts §2]
    grace_period: Duration = 0.0  # 0 s from CLI/SDK/IaC, 300 s in the console [aws-facts §2]


class LifecycleHook(Model):
    """A lifecycle hook: instances wait in ``Pending:Wait`` / ``Terminating:Wait`` until the hook's
    action completes it (CompleteLifecycleAction CONTINUE) or its heartbeat timeout runs out."""

    transition: Literal["launching", "terminating"]  # autoscaling:EC2_INSTANCE_LAUNCHING / _TERMINATING
    heartbeat_timeout: Duration = Field(3600.0, ge=30, le=7200)  # [aws-facts §2 Lifecycle-hook timeout]
    default_result: Literal["CONTINUE", "ABANDON"] = "ABANDON"  # [aws-facts §2 Lifecycle-hook default result]
    # what the hook's target (a Lambda via EventBridge, say) does: move the group's Elastic IP to the
    # instance and complete, only complete, or nothing (a missing or broken handler: the hook times out)
    action: Literal["associate_address", "complete", "none"] = "complete"
    action_time: Dist = Field(default_factory=lambda: _d("uniform(2s, 6s)"))  # assumption

    @model_validator(mode="after")
    def _launch_only(self) -> LifecycleHook:
        if self.action == "associate_address" and self.transition != "launching":
            raise ValueError("action: associate_address needs transition: launching")
        return self


class Purchase(Model):
    on_demand: int | None = Field(None, ge=0)
    reserved: int = Field(0, ge=0)  # on-demand instances billed at the reserved rate
    spot: int = Field(0, ge=0)

    def split(self, desired: int) -> dict[str, int]:
        """Instances per purchase option at ``desired`` capacity (on-demand takes the rest)."""
        od = self.on_demand if self.on_demand is not None else max(desired - self.spot - self.reserved, 0)
        return {"spot": self.spot, "reserved": self.reserved, "on_demand": od}


class ASG(Compute):
    type: Literal["asg"]
    zones: list[Zone] | None = None  # default: the spec's zones
    capacity: Capacity = Field(default_factory=Capacity)
    scaling: Scaling | None = None
    health_check: AsgHealthCheck = Field(default_factory=AsgHealthCheck)
    purchase: Purchase = Field(default_factory=Purchase)
    capacity_rebalance: bool = False  # [aws-facts §2 capacity rebalancing]
    elastic_ip: bool = False  # user data attaches one EIP to the newest instance
    instance_role: bool = False  # an instance profile allowing ec2:AssociateAddress (user data needs it)
    lifecycle_hooks: list[LifecycleHook] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _purchase_fits(self) -> ASG:
        p = self.purchase
        if p.on_demand is not None and p.on_demand + p.reserved + p.spot != self.capacity.start:
            raise ValueError(
                f"purchase on_demand + reserved + spot = {p.on_demand + p.reserved + p.spot} "
                f"but capacity.desired is {self.capacity.start}"
            )
        if any(h.action == "associate_address" for h in self.lifecycle_hooks) and not self.elastic_ip:
            raise ValueError("a lifecycle hook with action: associate_address needs `elastic_ip: true`")
        if p.reserved + p.spot > self.capacity.start:
            raise ValueError(f"purchase reserved + spot = {p.reserved + p.spot} exceeds capacity.desired "
                             f"{self.capacity.start}")
        return self



def check(arch: Any) -> list[tuple[Path, str]]:
    return check_instance_types(arch, ("asg",))


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """User data that attaches the Elastic IP needs credentials on the instance."""
    out: list[tuple[Path, str]] = []
    for n, c in arch.components.items():
        hooked = any(h.action == "associate_address" for h in getattr(c, "lifecycle_hooks", []))
        if c.type == "asg" and c.elastic_ip and not c.instance_role and not hooked:
            out.append((("components", n, "instance_role"),
                        "user data cannot call AssociateAddress without an instance role: the Elastic IP "
                        "will never move to a new instance; set `instance_role: true`"))
    return out
