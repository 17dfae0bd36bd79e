"""The base of every live service model.

A component is built from its frozen spec by the simulation, schedules its own
periodic work in :meth:`start`, and serves requests in :meth:`handle`. Faults
reach it through the hooks at the bottom; a component that does not model a
fault inherits a hook that says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cloudtwin.metrics import Histogram
from cloudtwin.request import Done, Request

if TYPE_CHECKING:
    from cloudtwin.simulation import Simulation


def deliver(job: tuple[Request, Done, str | None]) -> None:
    """Engine callback that answers a request later:
    ``engine.after(delay, deliver, (req, done, err))`` calls ``done(req, err)``."""
    job[1](job[0], job[2])


class FaultNotSupported(Exception):
    """A fault aimed at a component that does not model it (a spec problem)."""


class Component:
    """A live model of one spec component."""

    kind: ClassVar[str] = ""
    needs_client: ClassVar[bool] = False  # does handle() use req.client (DNS, cookies)?

    def __init__(self, name: str, spec: Any, sim: Simulation) -> None:
        self.name = name
        self.spec = spec
        self.sim = sim
        self.engine = sim.engine
        self.requests = 0
        self.errors = 0
        self.latency = Histogram()

    def start(self) -> None:
        """Schedule periodic work (health checks, metrics). Called once before the run."""

    def handle(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        raise TypeError(f"a {self.kind} cannot be called")  # references.py refuses such specs

    def endpoint_zone(self, caller_zone: str) -> str:
        """The AZ a caller in ``caller_zone`` reaches (for hop latency); '' means regional."""
        return ""

    def zones(self) -> list[str]:
        """The AZs this component lives in."""
        return []

    def stats(self) -> dict[str, Any]:
        """This component's entry under ``components`` in the results."""
        return {
            "type": self.kind,
            "requests": self.requests,
            "errors": self.errors,
            "latency_ms": self.latency.summary_ms(),
        }

    def series(self) -> dict[str, list[float]]:
        """Per-minute series for the report (e.g. ``in_service``, ``utilization``)."""
        return {}

    # ---- fault hooks -----------------------------------------------------------
    def zone_outage(self, zone: str, down: bool) -> None:
        """An AZ went down (``down``) or came back."""

    def terminate(self, count: int, zone: str | None) -> list[str]:
        raise FaultNotSupported(f"{self.kind} {self.name!r} has no instances to terminate")

    def replace(self) -> list[str]:
        raise FaultNotSupported(f"{self.kind} {self.name!r} has no instances to replace")

    def spot_interruption(self, count: int) -> list[str]:
        raise FaultNotSupported(f"{self.kind} {self.name!r} has no spot instances")

    def failover(self) -> list[str]:
        raise FaultNotSupported(f"{self.kind} {self.name!r} cannot fail over")
