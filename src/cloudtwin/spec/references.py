"""Checks that need the whole spec: references between components, zones, cycles.

Each problem becomes an :class:`~cloudtwin.errors.Issue` at the path of the
offending value, so the CLI can print ``file:line``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any, TypeGuard

from cloudtwin import catalogue
from cloudtwin.spec import failures, fis
from cloudtwin.spec.base import what_is
from cloudtwin.spec.graph import back_edges
from cloudtwin.spec.loader import Path
from cloudtwin.spec.message import check_batch
from cloudtwin.spec.schema import Architecture
from cloudtwin.spec.steps import CallStep, Step

HANDLERS = ("ec2", "asg", "ecs", "lambda", "beanstalk")  # the types that run handler steps


def _is(c: Any, *types: str) -> TypeGuard[Any]:
    """Is ``c`` a component of one of ``types``? (None is not.)"""
    return getattr(c, "type", None) in types


def _operations() -> dict[str, tuple[str, ...]]:
    """What a handler may call on each type (a type with none cannot be called)."""
    return {t: r.operations for t, r in catalogue.ROWS.items() if r.operations}



def walk_steps(steps: list[Step], path: Path) -> Iterator[tuple[Step, Path]]:
    for i, st in enumerate(steps):
        yield st, (*path, i)
        if isinstance(st, CallStep) and st.on_miss:
            yield from walk_steps(st.on_miss, (*path, i, "on_miss"))


def check(arch: Architecture) -> list[tuple[Path, str]]:
    """Every cross-reference problem in ``arch`` as ``(path, message)``."""
    out: list[tuple[Path, str]] = []
    comps: dict[str, Any] = arch.components  # typed by their own models; checked by type name below
    zones = set(arch.zones)

    def need(path: Path, name: str, kinds: tuple[str, ...], what: str) -> None:
        if name not in comps:
            out.append((path, f"{what} {name!r} is {what_is(comps, name)}"))
        elif comps[name].type not in kinds:
            kind = comps[name].type
            out.append((path, f"{what} {name!r} is {_article(kind)} {kind}; expected {' or '.join(kinds)}"))

    for cname, c in comps.items():
        base: Path = ("components", cname)
        for zkey in ("zones", "zone"):
            z = getattr(c, zkey, None)
            for zz in ([z] if isinstance(z, str) else (z or [])):
                if zz not in zones:
                    out.append(((*base, zkey), f"zone {zz!r} is not in the spec's zones {sorted(zones)}"))
        if _is(c, *catalogue.family("load_balancer")):
            for i, t in enumerate(c.target_names):
                p = (*base, "targets") if isinstance(c.targets, str) else (*base, "targets", i)
                need(p, t, ("ec2", "asg"), "target")
            if c.type == "nlb" and c.sticky and c.sticky.type not in (None, "source_ip"):
                out.append(((*base, "stickiness", "type"), "an NLB supports only source_ip stickiness "
                            "[aws-facts §1]"))
            if c.type != "nlb" and c.sticky and c.sticky.type == "source_ip":
                out.append(((*base, "stickiness", "type"), "source_ip stickiness is NLB-only; "
                            "use lb_cookie or app_cookie"))
        if _is(c, "route53"):
            for i, r in enumerate(c.records):
                if r.alias:
                    need((*base, "records", i, "alias"), r.alias, catalogue.family("load_balancer"), "alias target")
                if r.a:
                    need((*base, "records", i, "a"), r.a, ("ec2", "asg"), "A-record target")
                    a = comps.get(r.a)
                    if _is(a, "asg") and not a.elastic_ip:
                        out.append(((*base, "records", i, "a"), f"{r.a!r} is an asg without one address to "
                                    "point at; give it `elastic_ip: true`"))
                    if _is(a, "ec2") and not (a.public_ip or a.elastic_ip):
                        out.append(((*base, "records", i, "a"), f"{r.a!r} has no public IP to point at"))
        if _is(c, *catalogue.family("compute")):
            for i, m in enumerate(c.mounts):
                need((*base, "mounts", i), m, ("efs", "ebs"), "mount")
                vol = comps.get(m)
                if _is(c, "ec2") and _is(vol, "ebs"):
                    ez = vol.zone or arch.zones[0]
                    iz = set(c.zones or [arch.zones[0]])
                    if iz != {ez}:
                        out.append(((*base, "mounts", i), f"EBS volume {m!r} is in zone {ez}; an instance "
                                    f"in zone(s) {sorted(iz)} cannot attach it (EBS is AZ-bound)"))
        if _is(c, *HANDLERS):
            for st, p in walk_steps(c.handler, (*base, "handler")):
                if isinstance(st, CallStep):
                    _check_call(st, p, comps, out)
            for st, p in walk_steps(getattr(c, "health_handler", None) or [], (*base, "health_handler")):
                if isinstance(st, CallStep):
                    _check_call(st, p, comps, out)
    for wname, w in arch.workloads.items():
        base = ("workloads", wname)
        need((*base, "entry"), w.entry, catalogue.entry_types(), "entry")
        if w.sessions and w.sessions.store:
            need((*base, "sessions", "store"), w.sessions.store, ("elasticache",), "session store")
        entry = comps.get(w.entry)
        if w.batch is not None and entry is not None:
            check_batch(out, (*base, "batch"), entry.type, w.op or (_operations().get(entry.type) or ("",))[0], w.batch)
        if w.host and _is(entry, "route53") and w.host not in {r.name for r in entry.records}:
            out.append(((*base, "host"), f"{w.host!r} is not a record of {w.entry!r}"))
    callable_types = tuple(_operations())
    kinds_for = {
        "terminate": ("ec2", "asg", "ecs"), "replace": ("ec2", "asg"), "spot_interruption": ("ec2", "asg", "ecs"),
        "db_failover": ("rds", "aurora", "elasticache"), "data_loss": ("ebs", "rds", "aurora"),
        "latency": callable_types, "errors": callable_types, "link_down": ("directconnect", "vpn"),
        "status_check_failure": ("ec2", "asg"),
    }
    for i, f in enumerate(arch.faults):
        if f.action == "fis":
            continue  # checked with the FIS vocabulary below
        if f.action == "az_outage":
            if f.az_outage not in zones:
                out.append((("faults", i, "az_outage"), f"zone {f.az_outage!r} is not in {sorted(zones)}"))
        else:
            need(("faults", i, f.action), f.target, kinds_for[f.action], f"{f.action} target")
    out.extend(fis.check(arch))
    out.extend(failures.check(arch))
    if arch.hypothesis is not None:
        for k, wn in enumerate(arch.hypothesis.workloads or []):
            if wn not in arch.workloads:
                out.append((("hypothesis", "workloads", k), f"no workload is named {wn!r} "
                            f"(workloads: {', '.join(arch.workloads) or 'none'})"))
    for mod in _service_modules(arch):
        if hasattr(mod, "check"):
            out.extend(mod.check(arch))
    out.extend(_cycles(arch))
    return out


def warnings(arch: Architecture) -> list[tuple[Path, str]]:
    """Legal but risky settings, as ``(path, message)``: reported, never fatal."""
    out: list[tuple[Path, str]] = []
    for mod in _service_modules(arch):
        if hasattr(mod, "warnings"):
            out.extend(mod.warnings(arch))
    out.extend(_sdk_retries(arch))
    return out


def _service_modules(arch: Architecture) -> list[ModuleType]:
    """The spec module of each type the spec uses (each may define ``check`` and ``warnings``),
    in catalogue order, then the checks that apply whatever the types: message flows, and the
    workloads' operations and sign-ins (in :mod:`cloudtwin.spec.s3`, which has them first), and the
    account's quotas."""
    used = {c.type for c in arch.components.values()}
    names: dict[str, None] = {}
    for t, row in catalogue.ROWS.items():
        if t in used:
            names[catalogue.resolve(row.spec_model).__module__] = None
    names.update(dict.fromkeys(("cloudtwin.spec.s3", "cloudtwin.spec.flows", "cloudtwin.spec.account",
                                "cloudtwin.spec.netflows", "cloudtwin.spec.vpc")))
    return [importlib.import_module(m) for m in names]


SDK_THROTTLED = ("dynamodb", "dax", "kinesis", "s3", "firehose", "ses")  # AWS APIs that throttle by design
SDK_HINT = ("AWS SDKs retry throttles and 5xx errors by default (standard mode: 3 attempts), so without "
            "`retries:` every throttle here is a failure; set `retries: 2` to model the SDK default, or "
            "`retries: 0` to say there are none")


def _sdk_retries(arch: Architecture) -> list[tuple[Path, str]]:
    """Calls and workloads reaching a throttling AWS API with no word on retries (an SDK default
    the twin does not assume)."""
    out: list[tuple[Path, str]] = []
    comps: dict[str, Any] = arch.components  # typed by their own models; checked by type name below
    for n, c in comps.items():
        if _is(c, *HANDLERS):
            for st, p in walk_steps(c.handler, ("components", n, "handler")):
                if (isinstance(st, CallStep) and "retries" not in st.model_fields_set
                        and getattr(comps.get(st.target), "type", None) in SDK_THROTTLED):
                    out.append(((*p, "call"), f"call to {st.target!r}: {SDK_HINT}"))
    for wname, w in arch.workloads.items():
        if "retries" not in w.model_fields_set and getattr(comps.get(w.entry), "type", None) in SDK_THROTTLED:
            out.append((("workloads", wname, "entry"), f"workload entering {w.entry!r}: {SDK_HINT}"))
    return out


def _check_call(st: CallStep, p: Path, comps: dict[str, Any], out: list[tuple[Path, str]]) -> None:
    target = comps.get(st.target)
    if target is None:
        out.append(((*p, "call"), f"call target {st.target!r} is not a component"))
        return
    kind = target.type
    ops = _operations().get(kind)
    if ops is None:
        out.append(((*p, "call"), f"a {kind} cannot be called from a handler"))
        return
    op = st.op or ops[0]
    if op not in ops:
        allowed = ", ".join(f"{st.target}.{o}" if o else st.target for o in ops)
        out.append(((*p, "call"), f"{kind} has no operation {op!r}; use {allowed}"))
    if st.batch is not None:
        check_batch(out, (*p, "batch"), kind, op, st.batch)
    if st.on_miss is not None and not (_is(target, "elasticache") and op == "get"):
        out.append(((*p, "on_miss"), "on_miss applies only to a cache get (e.g. call: cache.get)"))
    if _is(target, "elasticache") and op == "get" and st.key is None:
        out.append(((*p, "key"), "a cache get needs `key:` (e.g. zipf(s=1.1, n=100000))"))


def _cycles(arch: Architecture) -> list[tuple[Path, str]]:
    """Handlers that call back into themselves would recurse forever."""
    comps: dict[str, Any] = arch.components
    edges: dict[str, set[str]] = {n: set() for n in comps}
    for n, c in comps.items():
        if _is(c, *HANDLERS):
            for st, _ in walk_steps(c.handler, ()):
                if isinstance(st, CallStep) and st.op != "invoke_async":  # an async invoke does not wait
                    edges[n].add(st.target)
        if _is(c, *catalogue.family("load_balancer")):
            edges[n].update(c.target_names)
    out: list[tuple[Path, str]] = []
    for path, n, m in back_edges(edges):
        cyc = " -> ".join([*path[path.index(m):], m])
        out.append((("components", n, "handler"), f"calls form a cycle: {cyc}"))
    return out


def _article(word: str) -> str:
    """'an' before a vowel sound, as these type names are read aloud (an asg, an sqs, an rds,
    an nlb), else 'a' (a route53, a lambda, a clb)."""
    return "an" if word[:1] in "aeinrsx" and word != "route53" else "a"
