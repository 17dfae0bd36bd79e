"""Schema of ``elasticache``: a cache cluster (nodes, hit model, failover).

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.elasticache`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Size, Zone, known_row
from cloudtwin.spec.loader import Path
from cloudtwin.spec.units import parse_distribution as _d


# ---------------------------------------------------------------- data stores
class ElastiCache(ComponentSpec):
    type: Literal["elasticache"]
    engine: Literal["redis", "memcached"] = "redis"
    node_type: str = "cache.m5.large"
    replicas: int = Field(0, ge=0, le=5)  # up to 5 per shard [aws-facts §11]
    nodes: int = Field(1, ge=1, le=500)  # memcached nodes, or redis shards
    zones: list[Zone] | None = None
    memory: Size | None = None  # default: the node type's memory
    item_size: Size = 1024.0  # assumption: average item, for LRU eviction by memory
    latency: Dist = Field(default_factory=lambda: _d("lognormal(median=0.3ms, p99=1.5ms)"))  # assumption
    failover_time: Dist = Field(default_factory=lambda: _d("uniform(3s, 10s)"))  # "a few seconds" [aws-facts §11]
    replica_lag: Duration = 1.0  # assumption: async replication [aws-facts §11]; newer sets die in a failover
    encrypted: bool = False  # at-rest encryption; off unless asked for (assumption: the API default)
    # false: the run starts with an empty cache, so the hot keys are all set in the first seconds and
    # expire together, in a wave every TTL; true: it starts in steady state (assumption, see services)
    warm: bool = False

    @model_validator(mode="after")
    def _memcached(self) -> ElastiCache:
        if self.engine == "memcached" and self.replicas:
            raise ValueError("memcached has no replication; use engine: redis to have replicas")
        return self



def check(arch: Any) -> list[tuple[Path, str]]:
    """A cluster without ``memory:`` names a node type the node table knows (its memory sizes
    the cache)."""
    out: list[tuple[Path, str]] = []
    for n, c in arch.components.items():
        if c.type == "elasticache" and c.memory is None:
            known_row(out, ("components", n, "node_type"), "cache_node_types.csv", c.node_type, "node type",
                      " (or give `memory:`)")
    return out


def ttl_sets(arch: Any, name: str) -> list[tuple[str, Any, float]]:
    """``(handler component, key distribution, ttl)`` of every ``set`` with a ``ttl`` to cache
    ``name`` in the handlers; the key is the step's ``key:`` or the one its handler drew last (as
    a cache-aside ``set`` in ``on_miss`` reuses its ``get``'s key), None when there is none."""
    out: list[tuple[str, Any, float]] = []

    def walk(owner: str, steps: list[Any], key: Any) -> Any:
        for st in steps:
            call = getattr(st, "call", None)
            if not isinstance(call, str):
                continue
            if st.key is not None:
                key = st.key
            if st.target == name and st.op == "set" and st.ttl:
                out.append((owner, key, float(st.ttl)))
            if st.on_miss:
                key = walk(owner, st.on_miss, key)
        return key

    for n, c in arch.components.items():
        steps = getattr(c, "handler", None)
        if steps:
            walk(n, list(steps), None)
    return out


def miss_targets(arch: Any, name: str) -> list[str]:
    """The components a handler reads when a ``get`` on cache ``name`` misses (cache-aside: the
    calls in its ``on_miss`` other than to the cache), in spec order: the cache's sources."""
    out: list[str] = []

    def walk(steps: list[Any]) -> None:
        for st in steps:
            if not isinstance(getattr(st, "call", None), str):
                continue
            if st.target == name and st.op in ("get", "") and st.on_miss:
                for inner in st.on_miss:
                    t = getattr(inner, "target", None)
                    if isinstance(getattr(inner, "call", None), str) and isinstance(t, str) and t != name \
                            and t not in out:
                        out.append(t)
            if st.on_miss:
                walk(st.on_miss)

    for c in arch.components.values():
        walk(list(getattr(c, "handler", None) or []))
    return out
