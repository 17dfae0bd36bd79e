"""Schema of ``ecs``: a cluster's tasks, the queue they consume and their scaling.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.ecs`. :func:`check` returns the
cross-reference problems as ``(path, message)`` pairs.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Model, Name, Size, Zone, expect
from cloudtwin.spec.loader import Path
from cloudtwin.spec.message import FilterPolicy
from cloudtwin.spec.steps import Step
from cloudtwin.spec.units import parse_distribution as _d


class Consumes(Model):
    """The SQS queue a service's tasks poll."""

    queue: Name
    batch_size: int = Field(1, ge=1, le=10)  # MaxNumberOfMessages (API default 1); at most 10 [aws-facts §6]
    wait: Duration = Field(20.0, le=20)  # long polling, at most 20 s [aws-facts §6]; 20 s: assumption


def _consumes(v: Any) -> Any:
    return {"queue": v} if isinstance(v, str) else v


class EcsScaling(Model):
    """Target tracking on the queue's backlog per task."""

    target_backlog_per_task: float = Field(gt=0)
    min: int = Field(1, ge=0, le=5000)
    max: int = Field(ge=1, le=5000)
    scale_out_cooldown: Duration = 300.0  # assumption (Application Auto Scaling's default; no facts row)
    scale_in_cooldown: Duration = 300.0  # assumption
    disable_scale_in: bool = False


class ECS(ComponentSpec):
    type: Literal["ecs"]
    launch_type: Literal["fargate", "ec2"] = "fargate"
    cpu: float = Field(0.25, ge=0.25, le=16)  # vCPU per task; Fargate at most 16 [aws-facts §16]
    memory: Size = Field(512 * 1024**2, ge=128 * 1024**2, le=120 * 1024**3)  # at most 120 GB [aws-facts §16]
    workers: int | None = Field(None, ge=1, le=1024)  # default: max(1, floor(cpu))
    handler: list[Step] = Field(default_factory=list)
    desired: int = Field(0, ge=0, le=5000)  # service tasks; 0: one-off tasks (RunTask) only
    consumes: Annotated[Consumes | None, BeforeValidator(_consumes)] = None
    scaling: EcsScaling | None = None
    startup_time: Dist = Field(default_factory=lambda: _d("uniform(20s, 60s)"))  # assumption
    fargate_spot: float = Field(0.0, ge=0, le=1)  # the share of tasks on Fargate Spot
    stop_timeout: Duration = Field(30.0, le=120)  # default 30 s, max 120 s [aws-facts §16]
    max_tasks: int | None = Field(None, ge=1, le=100_000)
    overlap: Literal["allow", "skip"] = "allow"
    error_rate: float = Field(0.0, ge=0, le=1)
    poison: FilterPolicy | None = Field(default_factory=lambda: {"poison": [True]})
    zones: list[Zone] | None = None

    @property
    def backlog(self) -> int:
        return 0  # a task's worker loops never queue work inside the task

    @property
    def slots(self) -> int:
        return self.workers or max(1, math.floor(self.cpu))

    @model_validator(mode="after")
    def _shape(self) -> ECS:
        if self.scaling is not None:
            if self.consumes is None:
                raise ValueError("scaling tracks the backlog of the queue the service consumes: add `consumes:`")
            s = self.scaling
            if not s.min <= self.desired <= s.max:
                raise ValueError(f"need scaling.min <= desired <= scaling.max, got {s.min} <= {self.desired} "
                                 f"<= {s.max}")
        if self.consumes is not None and self.desired == 0 and self.scaling is None:
            raise ValueError("a service that consumes a queue needs `desired:` >= 1 (or `scaling:`)")
        if self.fargate_spot and self.launch_type != "fargate":
            raise ValueError("fargate_spot needs launch_type: fargate")
        if self.max_tasks is not None and self.desired > self.max_tasks:
            raise ValueError(f"desired {self.desired} exceeds max_tasks {self.max_tasks}")
        return self


def check(arch: Any) -> list[tuple[Path, str]]:
    """A consumed queue, and a Fargate Spot interruption aimed at a cluster with Spot tasks."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for n, c in comps.items():
        if c.type == "ecs" and c.consumes is not None:
            expect(out, comps, ("components", n, "consumes", "queue"), c.consumes.queue, ("sqs",), "consumed queue")
    for i, f in enumerate(arch.faults):
        c = comps.get(f.spot_interruption or "")
        if c is not None and c.type == "ecs" and not c.fargate_spot:
            out.append((("faults", i, "spot_interruption"), f"{f.spot_interruption!r} has no Fargate Spot tasks; "
                        "set `fargate_spot:` (the share of tasks on Fargate Spot)"))
    return out
