"""What rules look at: the architecture as a graph, with file:line for every path.

:class:`Context` wraps a validated :class:`~cloudtwin.spec.Architecture` and, when
the spec came from a file, its :class:`~cloudtwin.spec.loader.Located` line map,
so every finding points at ``file:line``. It answers the questions rules ask:
components of a type, who calls whom (handler calls of fleets and Lambda
functions, load balancer targets, DNS records, queues to the functions that
consume them, topics to their subscribers, an API's integration, a
distribution's origins, streams and bucket notifications to their consumers,
the analytics chain), which components the workloads
reach, where instances sit, and a static estimate of the load each compute
fleet carries at the workloads' peak (requests per second times the mean
``cpu`` time per request, in busy worker slots). The estimate has a low and a
high bound: the low one leaves out ``on_miss`` steps (every cache get hits),
the high one runs them on every request. It ignores queueing, calls' own
latency and retries, and load that arrives through queues and topics.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from cloudtwin import catalogue
from cloudtwin.sizes import instance_vcpus
from cloudtwin.spec.asg import ASG
from cloudtwin.spec.ec2 import EC2
from cloudtwin.spec.elb import LoadBalancer
from cloudtwin.spec.links import component_links
from cloudtwin.spec.loader import Located, Path, format_path
from cloudtwin.spec.route53 import Route53
from cloudtwin.spec.schema import Architecture
from cloudtwin.spec.steps import CallStep, CpuStep, Step

if TYPE_CHECKING:
    from cloudtwin.review.dynamic import Measured

COMPUTE = catalogue.family("compute")
HANDLERS = (*COMPUTE, "lambda")  # components whose `handler` steps may call others
LBS = catalogue.family("load_balancer")
DATABASES = catalogue.family("database")
READ_OPS = ("query", "read")


@dataclass(frozen=True)
class Location:
    path: str
    file: str
    line: int


@dataclass(frozen=True)
class Call:
    """One ``call`` step of a handler."""

    caller: str
    step: CallStep
    path: Path  # spec path of the step
    on_miss: bool  # runs only when a cache get misses
    depth: int

    @property
    def target(self) -> str:
        return self.step.target

    @property
    def op(self) -> str:
        return self.step.op


@dataclass(frozen=True)
class Load:
    """Peak offered load on a compute fleet (static estimate)."""

    rate: float  # requests/s reaching the fleet (on_miss calls included)
    busy_low: float  # busy worker slots, on_miss steps left out
    busy_high: float  # busy worker slots, on_miss steps run on every request


class Context:
    """The architecture under review, its line map and (with simulation) the measurements."""

    def __init__(self, arch: Architecture, located: Located | None = None, measured: Measured | None = None) -> None:
        self.arch = arch
        self.located = located
        self.measured = measured

    # ---- locations ----------------------------------------------------------
    @property
    def file(self) -> str:
        return self.located.file if self.located is not None else "<spec>"

    def where(self, path: Path) -> Location:
        line = self.located.line_of(path) if self.located is not None else 0
        return Location(format_path(path) or "<root>", self.file, line)

    # ---- components ---------------------------------------------------------
    def of_type(self, *types: str) -> list[tuple[str, Any]]:
        return [(n, c) for n, c in self.arch.components.items() if c.type in types]

    def comp(self, name: str) -> Any:
        """The spec of component ``name`` (None if there is none); typed loosely for the rules."""
        return self.arch.components.get(name)

    def kind(self, name: str) -> str | None:
        c = self.arch.components.get(name)
        return None if c is None else str(c.type)

    @cached_property
    def calls(self) -> list[Call]:
        """Every call step of every handler (compute fleets' and Lambda functions'), ``on_miss`` steps included."""
        out: list[Call] = []
        for name, c in self.of_type(*HANDLERS):
            out.extend(_walk(name, c.handler, ("components", name, "handler"), False, 0))
        return out

    def calls_from(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.caller == name]

    def calls_to(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.target == name]

    @cached_property
    def edges(self) -> dict[str, set[str]]:
        """Who sends requests (or messages) to whom: every link the components declare
        (:mod:`cloudtwin.spec.links`) and every handler call."""
        out: dict[str, set[str]] = {n: set() for n in self.arch.components}
        for ln in component_links(self.arch):
            out.setdefault(ln.src, set()).add(ln.dst)
        for call in self.calls:
            out[call.caller].add(call.target)
        return out

    def senders(self, name: str) -> list[str]:
        return sorted(n for n, ts in self.edges.items() if name in ts)

    def lbs_targeting(self, name: str) -> list[str]:
        return [n for n, c in self.of_type(*LBS) if name in c.target_names]

    @cached_property
    def reached(self) -> set[str]:
        """Components the workloads' requests can reach."""
        return self.reached_from(*(w.entry for w in self.arch.workloads.values()))

    def in_scope(self, name: str) -> bool:
        """Reached by a workload; with no workloads, every component is in scope."""
        return name in self.reached or not self.arch.workloads

    def fleets(self) -> list[str]:
        """Compute fleets in scope (sorted)."""
        return sorted(n for n, _ in self.of_type(*COMPUTE) if self.in_scope(n))

    def reached_from(self, *entries: str) -> set[str]:
        seen: set[str] = set()
        todo = list(entries)
        while todo:
            n = todo.pop()
            if n in seen or n not in self.arch.components:
                continue
            seen.add(n)
            todo.extend(self.edges.get(n, ()))
        return seen

    def entry_of(self, name: str) -> bool:
        return any(w.entry == name for w in self.arch.workloads.values())

    # ---- placement and capacity ---------------------------------------------
    def fleet_zones(self, name: str) -> list[str]:
        """The zones a compute fleet may place instances in."""
        c = self.comp(name)
        if isinstance(c, ASG):
            return list(c.zones or self.arch.zones)
        zones = list(c.zones or [self.arch.zones[0]])
        return zones[: c.count] if c.count < len(zones) else zones

    def instances(self, name: str, *, at: str = "desired") -> int:
        c = self.comp(name)
        if isinstance(c, EC2):
            return int(c.count)
        cap = c.capacity
        return int({"min": cap.min, "desired": cap.start, "max": cap.top}[at])

    def per_zone(self, name: str) -> dict[str, int]:
        """Instances per zone at desired capacity, placed round robin."""
        zones = self.fleet_zones(name)
        out = dict.fromkeys(zones, 0)
        for i in range(self.instances(name)):
            out[zones[i % len(zones)]] += 1
        return out

    def slots(self, name: str) -> int:
        c = self.comp(name)
        return int(c.workers or instance_vcpus(c.instance_type) or 2)

    def scales(self, name: str) -> bool:
        """Does the fleet scale on demand (target tracking or step policies)?"""
        c = self.comp(name)
        return isinstance(c, ASG) and c.scaling is not None and (
            c.scaling.target_cpu is not None or bool(c.scaling.policies))

    def floor(self, name: str) -> int:
        """Instances that run around the clock: min for a scaling group, else the fixed count."""
        return self.instances(name, at="min" if self.scales(name) else "desired")

    @cached_property
    def loads(self) -> dict[str, Load]:
        """Peak offered load on every compute fleet the workloads reach."""
        rate: dict[str, float] = {}
        low: dict[str, float] = {}
        high: dict[str, float] = {}

        def send(name: str, r: float, depth: int = 0) -> None:
            c: Any = self.comp(name)
            if c is None or r <= 0 or depth > 20:
                return
            if isinstance(c, Route53):
                rec = _routed(c)
                for t, share in rec:
                    send(t, r * share, depth + 1)
            elif isinstance(c, LoadBalancer):
                ts = c.target_names
                for t in ts:
                    send(t, r / len(ts), depth + 1)
            elif c.type in COMPUTE:
                rate[name] = rate.get(name, 0.0) + r
                lo, hi = _cpu(c.handler)
                low[name] = low.get(name, 0.0) + r * lo
                high[name] = high.get(name, 0.0) + r * hi
                for call in self.calls_from(name):
                    send(call.target, r, depth + 1)

        for w in self.arch.workloads.values():
            per_user = w.sessions.requests if w.sessions else 1
            send(w.entry, w.rate * w.profile.peak_factor * per_user)
        return {n: Load(rate[n], low[n], high[n]) for n in rate}

    def utilisation(self, name: str, instances: int, *, bound: str = "low") -> float:
        """Peak busy slots over the slots of ``instances`` instances (inf with none)."""
        load = self.loads.get(name)
        if load is None:
            return 0.0
        busy = load.busy_low if bound == "low" else load.busy_high
        cap = instances * self.slots(name)
        return busy / cap if cap > 0 else (math.inf if busy > 0 else 0.0)

    # ---- workloads ----------------------------------------------------------
    def internet_entry(self, entry: str) -> bool:
        """Is a workload entry reachable from the internet?"""
        c = self.arch.components.get(entry)
        if c is None:
            return False
        if isinstance(c, Route53):
            return True
        if isinstance(c, LoadBalancer):
            return bool(c.internet_facing)
        if isinstance(c, EC2):
            return bool(c.public_ip or c.elastic_ip)
        return False

    def handler_budget(self, name: str) -> float | None:
        """Worst-case time a fleet's handler spends waiting on its calls (None if a call has no timeout)."""
        total = 0.0
        for call in self.calls_from(name):
            st = call.step
            if st.timeout is None:
                return None
            tries = st.retries + 1
            # full jitter: the mean wait is half the cap; the worst case is the cap itself
            waits = sum(st.backoff * 2 ** k for k in range(1, st.retries + 1))
            total += st.timeout * tries + waits
        return total


def _walk(caller: str, steps: list[Step], path: Path, on_miss: bool, depth: int) -> Iterator[Call]:
    for i, st in enumerate(steps):
        if isinstance(st, CallStep):
            yield Call(caller, st, (*path, i), on_miss, depth)
            if st.on_miss:
                yield from _walk(caller, st.on_miss, (*path, i, "on_miss"), True, depth + 1)


def _cpu(steps: list[Step]) -> tuple[float, float]:
    lo = hi = 0.0
    for st in steps:
        if isinstance(st, CpuStep):
            lo += st.cpu.mean
            hi += st.cpu.mean
        elif isinstance(st, CallStep) and st.on_miss:
            hi += _cpu(st.on_miss)[1]
    return lo, hi


def _routed(c: Route53) -> list[tuple[str, float]]:
    """Targets of the first record name and their share of the queries."""
    name = c.records[0].name
    recs = [r for r in c.records if r.name == name]
    first = recs[0]
    if first.routing == "failover":
        prim = [r for r in recs if r.failover == "primary"] or recs
        return [(prim[0].alias or prim[0].a or "", 1.0)]
    if first.routing == "weighted":
        total = sum(r.weight or 0 for r in recs) or 1
        return [(r.alias or r.a or "", (r.weight or 0) / total) for r in recs]
    return [(first.alias or first.a or "", 1.0)]
