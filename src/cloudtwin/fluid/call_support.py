"""What the fluid engine models of handler ``call`` steps, downstream stations and faults
beyond ``az_outage`` (the rest of :mod:`cloudtwin.fluid.support`). Anything else is refused
with :class:`~cloudtwin.fluid.support.FluidRefused`, naming where."""

from __future__ import annotations

from typing import Any

from cloudtwin.spec.steps import CallStep, CpuStep, SleepStep

# keys each downstream type may set; the rest of the type's keys are refused
STATION_KEYS: dict[str, set[str]] = {
    "rds": {"type", "engine", "instance_class", "multi_az", "deployment", "read_replicas", "replica_lag", "zone",
            "query", "write", "max_connections", "failover_time", "storage_gb", "encrypted", "publicly_accessible",
            "backup_retention", "log_upload_every"},
    "elasticache": {"type", "engine", "node_type", "replicas", "nodes", "zones", "memory", "item_size", "latency",
                    "failover_time", "replica_lag", "encrypted", "warm"},
    "dynamodb": {"type", "capacity", "on_demand", "rcu", "wcu", "partitions", "item_size", "key", "consistent",
                 "query_items", "latency"},
    "s3": {"type", "latency", "prefixes", "object_size", "stored"},
}
CALL_KEYS = {"call", "key", "ttl", "size", "on_miss", "timeout", "retries", "backoff"}
BALANCERS = ("alb", "nlb")
OPS = {"rds": {"", "query", "read", "write"}, "elasticache": {"", "get", "set"},
       "dynamodb": {"", "get", "query", "put", "update", "delete"}, "s3": {"", "get", "list", "put", "delete"}}
# fault action -> (the keys it may set, the component types it may target)
FAULTS: dict[str, tuple[set[str], tuple[str, ...]]] = {
    "terminate": ({"at", "terminate", "count", "zone"}, ("asg", "ec2")),
    "db_failover": ({"at", "db_failover"}, ("rds", "elasticache")),
    "latency": ({"at", "duration", "latency", "add"}, ("rds", "elasticache", "dynamodb", "s3", *BALANCERS)),
    "errors": ({"at", "duration", "errors", "rate"}, ("rds", "elasticache", "dynamodb", "s3", *BALANCERS)),
}


def _refuse(where: str, what: str) -> None:
    from cloudtwin.fluid.support import FluidRefused

    raise FluidRefused(where, what)


def check_station(where: str, c: Any) -> None:
    if c.type == "rds" and c.topology == "multi_az_cluster":
        _refuse(where, "deployment multi_az_cluster is not modelled yet")


def cache_capacity(c: Any) -> int:
    """Items the cluster holds (as :class:`cloudtwin.services.elasticache.ElastiCache` sizes it)."""
    from cloudtwin.services.elasticache import RESERVED
    from cloudtwin.sizes import data_row
    from cloudtwin.units import GIB

    if c.memory is not None:
        mem = float(c.memory)
    else:
        row = data_row("cache_node_types.csv", c.node_type)
        mem = float(row["memory_gib"]) * GIB * (1.0 - (RESERVED if c.engine == "redis" else 0.0)) if row else 0.0
    return max(1, int(mem // float(c.item_size))) * int(c.nodes)


def check_steps(where: str, steps: list[Any], arch: Any, *, top: bool = True) -> None:
    """A fleet handler's steps: cpu and sleep, and calls to the downstream types with the keys above."""
    for i, st in enumerate(steps):
        at = f"{where}[{i}]"
        if isinstance(st, CpuStep):
            if not top:
                _refuse(at, "is a cpu step inside on_miss (a path-dependent service time; not modelled yet)")
            continue
        if isinstance(st, SleepStep):
            continue
        if not isinstance(st, CallStep):
            _refuse(at, "is not a cpu, sleep or call step")
        bad = sorted(k for k in st.model_fields_set - CALL_KEYS if getattr(st, k) not in (None, 0))
        if bad:
            _refuse(at, f"key `{bad[0]}` of a call is not modelled yet")
        target = arch.components.get(st.target)
        if target is not None and target.type in BALANCERS:
            _callee(at, st, target, arch)
            continue
        if target is None or target.type not in STATION_KEYS:
            kind = target.type if target is not None else "?"
            _refuse(at, f"call to {st.target} ({kind}) is not modelled yet (rds, elasticache, dynamodb, s3)")
        if st.op not in OPS[target.type]:
            _refuse(at, f"op `{st.op}` on {target.type} is not modelled yet")
        if target.type == "elasticache":
            _cache_step(at, st, target, arch, top)
        elif st.on_miss:
            _refuse(at, "on_miss on a call that is not a cache get")


def _callee(at: str, st: CallStep, lb: Any, arch: Any) -> None:
    """A call to another fleet through its balancer: one path (no cache get); the spec has no cycle."""
    if st.on_miss:
        _refuse(at, "on_miss on a call that is not a cache get")
    fleet = arch.components[lb.target_names[0]]
    if any(isinstance(s, CallStep) and arch.components[s.target].type == "elasticache" and s.op in ("", "get")
           for s in fleet.handler):
        _refuse(at, f"the fleet behind {st.target} reads a cache (several paths): a callee with one path only")


def _cache_step(at: str, st: CallStep, target: Any, arch: Any, top: bool) -> None:
    if st.op == "set":
        if top:
            _refuse(at, "a cache set outside a get's on_miss is not modelled yet (cache-aside only)")
        return
    if not top:
        _refuse(at, "a cache get inside on_miss is not modelled yet")
    sets = [s for s in st.on_miss or [] if isinstance(s, CallStep) and s.target == st.target and s.op == "set"]
    if any(s.key is not None for s in sets):
        _refuse(at, "a set in on_miss with its own key is not modelled yet (it reuses the get's key)")
    if sets and sets[0].ttl is None:
        _refuse(at, "a set without `ttl` is not modelled yet (LRU eviction decides the hit ratio)")
    from cloudtwin.fluid.cache_flow import key_probabilities

    keys, _ = key_probabilities(st.key, 0, "check")
    if len(keys) > cache_capacity(target):
        _refuse(at, f"{len(keys)} keys do not fit the cache's {cache_capacity(target)} items "
                "(LRU eviction is not modelled yet)")
    check_steps(f"{at}.on_miss", list(st.on_miss or []), arch, top=False)


def check_sessions(where: str, w: Any, arch: Any) -> None:
    """Session workloads: state none or elasticache, think time exp or const, no profile."""
    ss = w.sessions
    if ss is None:
        return
    if ss.state not in ("none", "elasticache"):
        _refuse(f"{where} sessions", f"state {ss.state} is not modelled yet (none, elasticache)")
    if ss.think.kind not in ("exp", "const"):
        _refuse(f"{where} sessions", f"think {ss.think.kind} is not modelled yet (exp, const)")
    if "profile" in w.model_fields_set:
        _refuse(where, "a profile on a session workload is not modelled yet")
    if ss.state == "elasticache":
        store = arch.components[ss.store]
        if store.type != "elasticache" or store.replicas < 1:
            _refuse(f"{where} sessions", f"store {ss.store} must be an elasticache with a replica "
                    "(a node lost without one loses sessions: not modelled yet)")
        others = {x.sessions.store for x in arch.workloads.values()
                  if x.sessions is not None and x.sessions.state == "elasticache"}
        if len(others) > 1:
            _refuse(f"{where} sessions", "several session stores are not modelled yet")


def check_health_handler(where: str, c: Any) -> None:
    """A health handler without calls: its probes' load is left out and its answer is the instance's
    liveness, as the fluid fleet has it; a deep check (a call) would fail with the callee."""
    steps = getattr(c, "health_handler", None) or []
    if any(isinstance(st, CallStep) for st in steps):
        _refuse(f"{where} health_handler", "a deep health check (a call) is not modelled yet")


def check_fault(i: int, f: Any, arch: Any) -> None:
    where = f"faults[{i}]"
    act = f.action
    if act not in FAULTS:
        _refuse(where, f"`{act}` is not modelled yet (az_outage, {', '.join(FAULTS)})")
    keys, types = FAULTS[act]
    extra = sorted(set(getattr(f, "model_fields_set", set())) - keys)
    if extra:
        _refuse(where, f"key `{extra[0]}` of {act} is not modelled yet")
    comp = arch.components.get(f.target)
    if comp is not None and comp.type in BALANCERS and not _is_called(f.target, arch):
        _refuse(where, f"{act} on {f.target}, a balancer workloads enter, is not modelled yet (only on one "
                "that fleets call)")
    if comp is None or comp.type not in types:
        _refuse(where, f"{act} on {f.target} ({comp.type if comp else '?'}) is not modelled yet "
                f"({', '.join(types)})")


def _is_called(name: str, arch: Any) -> bool:
    from cloudtwin.fluid.downstream import _called

    return _called(name, arch)
