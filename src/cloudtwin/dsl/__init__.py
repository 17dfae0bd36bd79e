"""Architectures in Python, in the spirit of mingrammer's *diagrams*::

    from cloudtwin.dsl import ALB, ASG, RDS, Arch, Route53, Workload, cpu

    with Arch("my-app", zones="ab", duration="30m") as arch:
        dns, lb = Route53("dns"), ALB("lb")
        web = ASG("web", instance_type="m5.large", capacity={"min": 2, "desired": 4, "max": 8},
                  handler=[cpu("exp(16ms)")])
        db = RDS("db", instance_class="db.r5.large", multi_az=True)
        dns >> lb >> web >> db
        Workload("users", entry=dns, rate="200/s")
    results = cloudtwin.Simulation(arch.build()).run()

The architecture is the same spec a YAML file gives, validated the same way; its errors name
the Python file and line. ``>>`` links components as the spec would (:mod:`.edges`),
``with Zone("a"):`` places what is made inside it, and a handler's durations may be Python
callables drawing from the step's random stream (:mod:`.steps`). See docs/dsl.md.
"""

from cloudtwin.dsl.model import Arch, Component, Workload, Zone
from cloudtwin.dsl.steps import call, cpu, sleep
from cloudtwin.dsl.types import *  # noqa: F403 - one class per component type
from cloudtwin.dsl.types import __all__ as _types

__all__ = ["Arch", "Component", "Workload", "Zone", "call", "cpu", "sleep", *_types]  # noqa: PLE0604
