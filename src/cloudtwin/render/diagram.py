"""The diagram of a spec as a graph: nodes, nested groups and edges, ready for a renderer.

:func:`build` turns a validated :class:`~cloudtwin.spec.Architecture` into a :class:`Diagram`;
:mod:`cloudtwin.render.diagram_mermaid` and :mod:`cloudtwin.render.diagram_dot` write it out.

Groups are the ones AWS architecture diagrams use: the workloads (the clients) outside
**AWS Cloud**; global services (Route 53, CloudFront) inside it; the **Region** with its
regional services (queues, topics, functions, tables, buckets...); a **VPC** with the load
balancers, ECS services and file systems; and one **Availability Zone** group per zone
holding the zonal components: EC2 instances and Auto Scaling groups (one node per zone with
its instances there, placed round robin as the simulation places them, an Auto Scaling group
as a group of its own in each zone), RDS/Aurora primary, standby and replicas, ElastiCache
shards and replicas, DAX nodes, EBS volumes. A zonal component is one node per zone it is in:
requests go to the nodes that serve them (every zone of a fleet, the database primary, the
cache's shard primaries), its own calls leave from every one of its nodes.

Edges come from the references the spec makes, walked as :mod:`cloudtwin.review.context` walks
them (handler ``call`` steps with their nested ``on_miss`` steps, load balancer targets, the
one component a DAX cluster, Athena workgroup... refers to), plus the links it does not follow:
dead-letter queues and on-failure destinations, EventBridge rule targets, an ECS service's
queue, a trail's bus. Each edge is **synchronous** (the sender waits for the answer: an HTTP
request, an SDK call, even ``sqs.send``, whose caller waits for SendMessage) or
**asynchronous** (a message or event delivered later: subscriptions, event sources, stream
consumers, notifications, ``invoke_async``, ``run_task``, dead-letter queues, replication
to a read replica).

With results (from ``cloudtwin run --json``) each node also shows what was measured there:
requests, errors and p99 latency (a zonal component's nodes each show the component's totals).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cloudtwin import catalogue
from cloudtwin.review.context import Context
from cloudtwin.spec.links import ASYNC_OPS, component_links
from cloudtwin.spec.schema import Architecture

__all__ = ["ASYNC_OPS", "Diagram", "Edge", "Group", "Node", "build"]

GLOBAL = ("route53", "cloudfront")  # drawn in AWS Cloud, outside the Region
IN_VPC = ("alb", "nlb", "clb", "ecs", "efs")  # in the VPC, spanning its zones
ZONAL = ("ec2", "asg", "rds", "aurora", "elasticache", "dax", "ebs")  # one node per zone


@dataclass
class Node:
    """One box: a component (or one zone's share of it) or a workload."""

    id: str
    label: tuple[str, ...]  # lines: the name first
    kind: str  # the component type, or "workload"
    group: str  # the catalogue's diagram group ("compute", "database"...), "client" for a workload
    component: str  # the component or workload name
    zone: str = ""
    figures: tuple[str, ...] = ()  # measured, from results

    def lines(self) -> tuple[str, ...]:
        return (*self.label, *self.figures)


@dataclass
class Group:
    """A box of boxes: ``kind`` is one of cloud, region, vpc, az, asg (the root has kind "")."""

    id: str
    label: str
    kind: str
    nodes: list[str] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    def empty(self) -> bool:
        return not self.nodes and all(g.empty() for g in self.groups)

    def walk(self) -> list[Group]:
        """This group and every group inside it, depth first."""
        out = [self]
        for g in self.groups:
            out.extend(g.walk())
        return out


@dataclass(frozen=True)
class Edge:
    src: str  # node ids
    dst: str
    label: str  # the labels of every link between the two nodes drawn alike, joined by ", "
    sync: bool
    kind: str  # of the first such link: request, call, alias, target, origin, subscription, event, dlq...


@dataclass
class Diagram:
    name: str
    root: Group
    nodes: dict[str, Node]
    edges: list[Edge]

    def group_of(self, node_id: str) -> list[Group]:
        """The groups that hold ``node_id``, outermost first (the root left out)."""

        def find(g: Group, path: list[Group]) -> list[Group] | None:
            if node_id in g.nodes:
                return path
            for sub in g.groups:
                hit = find(sub, [*path, sub])
                if hit is not None:
                    return hit
            return None

        return find(self.root, []) or []

    def of(self, component: str) -> list[str]:
        """The node ids of a component or workload."""
        return [i for i, n in self.nodes.items() if n.component == component]

    def links(self) -> set[tuple[str, str, bool]]:
        """Edges between components (or workloads) as ``(from, to, sync)``."""
        return {(self.nodes[e.src].component, self.nodes[e.dst].component, e.sync) for e in self.edges}

    def to_dict(self) -> dict[str, Any]:
        def group(g: Group) -> dict[str, Any]:
            return {"id": g.id, "label": g.label, "kind": g.kind, "nodes": g.nodes,
                    "groups": [group(s) for s in g.groups if not s.empty()]}

        return {
            "name": self.name,
            "nodes": [{"id": n.id, "label": list(n.label), "kind": n.kind, "group": n.group,
                       "component": n.component, "zone": n.zone, "figures": list(n.figures)}
                      for n in self.nodes.values()],
            "groups": group(self.root)["groups"],
            "edges": [{"from": e.src, "to": e.dst, "label": e.label, "sync": e.sync, "kind": e.kind}
                      for e in self.edges],
        }


class _Ids:
    """Node and group ids safe in DOT and Mermaid (letters, digits, ``_``), unique."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def new(self, prefix: str, *parts: str) -> str:
        base = prefix + "_" + "_".join(re.sub(r"[^A-Za-z0-9]", "_", p) for p in parts if p)
        out, i = base, 2
        while out in self.used:
            out, i = f"{base}_{i}", i + 1
        self.used.add(out)
        return out


def _placements(arch: Architecture, ctx: Context, name: str, c: Any) -> list[tuple[str, str, bool]]:
    """Where a zonal component sits: ``(zone, what is there, serves requests)`` per zone, in the
    order of the spec's zones, as the simulation places them."""
    zones = list(arch.zones)
    t = c.type
    if t in ("ec2", "asg"):
        per = ctx.per_zone(name)
        kind = c.instance_type
        out = [(z, f"{n} × {kind}", True) for z, n in per.items() if n]
        return out or [(next(iter(per), zones[0]), f"0 × {kind}", True)]
    if t in ("rds", "aurora"):
        pz = c.zone or zones[0]
        others = zones[zones.index(pz) + 1:] + zones[:zones.index(pz)] or [pz]
        roles: dict[str, list[str]] = {pz: ["primary"]}
        if c.multi_az and t == "rds":
            roles.setdefault(others[0], []).append("standby")
        replicas = max(c.read_replicas, 1) if t == "aurora" and c.multi_az else c.read_replicas
        for j in range(replicas):
            roles.setdefault(others[j % len(others)], []).append("replica")
        return [(z, _count_roles(roles[z]), z == pz) for z in zones if z in roles]
    if t == "elasticache":
        cz = list(c.zones or zones)
        croles: dict[str, list[str]] = {}
        for i in range(c.nodes):
            croles.setdefault(cz[i % len(cz)], []).append("primary")
            for j in range(1, c.replicas + 1):
                croles.setdefault(cz[(i + j) % len(cz)], []).append("replica")
        return [(z, _count_roles(croles[z]), "primary" in croles[z]) for z in cz if z in croles]
    if t == "dax":
        dz = list(c.zones or zones)
        counts = [sum(1 for i in range(c.nodes) if dz[i % len(dz)] == z) for z in dz]
        return [(z, f"{n} node{'s' if n > 1 else ''}", True) for z, n in zip(dz, counts, strict=True) if n]
    return [(c.zone or zones[0], "", True)]  # ebs


def _count_roles(roles: list[str]) -> str:
    out = []
    for r in dict.fromkeys(roles):
        n = roles.count(r)
        out.append(r if n == 1 else f"{n} {r}s")
    return ", ".join(out)


def _describe(c: Any) -> str:
    """The second line of a component's box: its type and the one setting that says most."""
    t = c.type
    extra = {
        "rds": getattr(c, "engine", ""), "aurora": getattr(c, "engine", ""),
        "elasticache": getattr(c, "engine", ""),
        "sqs": "FIFO" if getattr(c, "fifo", False) else "", "sns": "FIFO" if getattr(c, "fifo", False) else "",
        "ecs": getattr(c, "launch_type", ""),
    }.get(t, "")
    if t == "beanstalk":  # the environment's parts: the CNAME, load balancer, group (or instance, queue)
        extra = " → ".join(k.rsplit(".", 1)[-1] for k in _beanstalk_parts(c))
    return f"{t} · {extra}" if extra else t


def _beanstalk_parts(c: Any) -> list[str]:
    from cloudtwin.spec.beanstalk import parts

    if c.tier == "worker":
        return ["queue", "asg"]  # the daemons take from the queue (its dead-letter queue apart)
    return list(reversed(parts("env", c)))  # the way a request goes: URL first


def build(arch: Architecture, results: dict[str, Any] | None = None) -> Diagram:
    """The diagram of ``arch`` (and, given a run's results JSON, what it measured)."""
    ctx = Context(arch)
    ids = _Ids()
    nodes: dict[str, Node] = {}
    serving: dict[str, list[str]] = {}  # component -> the node ids requests go to
    every: dict[str, list[str]] = {}  # component -> all its node ids
    root = Group("root", arch.name, "")
    cloud = Group(ids.new("g", "aws"), "AWS Cloud", "cloud")
    region = Group(ids.new("g", "region"), f"Region {arch.region}", "region")
    vpc = Group(ids.new("g", "vpc"), "VPC", "vpc")
    azs = {z: Group(ids.new("g", "az", z), f"Availability Zone {arch.region}{z}", "az") for z in arch.zones}
    root.groups.append(cloud)
    cloud.groups.append(region)
    region.groups.append(vpc)
    vpc.groups.extend(azs.values())

    def add(group: Group, comp: str, kind: str, dgroup: str, label: tuple[str, ...], zone: str = "") -> str:
        nid = ids.new("w" if kind == "workload" else "n", comp, zone)
        nodes[nid] = Node(nid, label, kind, dgroup, comp, zone)
        group.nodes.append(nid)
        every.setdefault(comp, []).append(nid)
        return nid

    for wname, w in arch.workloads.items():
        rate = f"{w.rate:g}/s"
        add(root, wname, "workload", "client", (wname, f"workload · {rate}"))
        serving[wname] = every[wname]
    for name, c in arch.components.items():
        t = c.type
        dgroup = catalogue.ROWS[t].group if t in catalogue.ROWS else "compute"
        desc = _describe(c)
        if t in ZONAL:
            for zone, what, serves in _placements(arch, ctx, name, c):
                where = azs.get(zone) or vpc
                if t == "asg":  # the group in each zone it has instances in
                    sub = Group(ids.new("g", "asg", name, zone), f"Auto Scaling group {name}", "asg")
                    where.groups.append(sub)
                    where = sub
                nid = add(where, name, t, dgroup, (name, f"{desc} · {what}" if what else desc), zone)
                if serves:
                    serving.setdefault(name, []).append(nid)
        else:
            where = cloud if t in GLOBAL else vpc if t in IN_VPC else region
            serving[name] = [add(where, name, t, dgroup, (name, desc))]
        serving.setdefault(name, every[name][:1])

    edges: dict[tuple[str, str, bool], tuple[str, dict[str, None]]] = {}  # one edge per pair and style

    def edge(a: str, b: str, label: str, sync: bool, kind: str) -> None:
        if a != b:
            edges.setdefault((a, b, sync), (kind, {}))[1][label] = None

    def link(src: str | None, dst: str | None, label: str, sync: bool, kind: str) -> None:
        if not src or not dst or src not in every or dst not in serving:
            return
        for a in every[src]:
            for b in serving[dst]:
                edge(a, b, label, sync, kind)

    _links(arch, ctx, link)
    for name, c in arch.components.items():  # replication inside a zonal database or cache
        ns = every[name]
        prim = [n for n in serving.get(name, []) if n in ns]
        for b in ns:
            if b not in prim and c.type in ("rds", "aurora", "elasticache"):
                sync = c.type == "rds" and "standby" in nodes[b].label[-1]
                for a in prim:
                    edge(a, b, "replication", sync, "replication")
    if results is not None:
        _figures(nodes, results)
    return Diagram(arch.name, root, nodes, [Edge(a, b, ", ".join(x for x in labels if x), sync, kind)
                                            for (a, b, sync), (kind, labels) in edges.items()])


def _links(arch: Architecture, ctx: Context, link: Any) -> None:
    """Every edge, between component (or workload) names: ``link(src, dst, label, sync, kind)``."""
    comps: dict[str, Any] = arch.components
    for wname, w in arch.workloads.items():
        link(wname, w.entry, w.op or (f"host {w.host}" if w.host else ""), True, "request")
        if w.auth is not None:
            link(wname, w.auth.pool, "sign in", True, "auth")
        if w.sessions is not None and w.sessions.store:
            for fleet in sorted(ctx.reached_from(w.entry)):
                if comps[fleet].type in catalogue.family("compute"):
                    link(fleet, w.sessions.store, "sessions", True, "sessions")
    for call in ctx.calls:  # handlers' call steps, on_miss ones included (review.context walks them)
        op = call.op or ""
        label = f"{op} (on miss)" if call.on_miss else op
        link(call.caller, call.target, label, op not in ASYNC_OPS, "call")
    for ln in component_links(arch):
        link(ln.src, ln.dst, ln.label, ln.sync, ln.kind)


def _figures(nodes: dict[str, Node], results: dict[str, Any]) -> None:
    comps = results.get("components") or {}
    loads = results.get("workloads") or {}
    for node in nodes.values():
        r = loads.get(node.component) if node.kind == "workload" else comps.get(node.component)
        if not isinstance(r, dict):
            continue
        errors = r.get("failed", r.get("errors"))
        p99 = (r.get("latency_ms") or {}).get("p99")
        parts = [f"{r['requests']:,} req" if isinstance(r.get("requests"), int) else "",
                 f"{errors:,} err" if isinstance(errors, int) else "",
                 f"p99 {p99:.3g} ms" if isinstance(p99, int | float) else ""]
        line = " · ".join(p for p in parts if p)
        if line:
            node.figures = (line,)
