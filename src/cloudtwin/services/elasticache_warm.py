"""ElastiCache's warm start (``warm: true``): the shards filled as a cache in steady state
holds them. The model and its assumptions are in :mod:`cloudtwin.services.elasticache`'s
notes ("Cold or warm start")."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from cloudtwin.engine import make_sampler
from cloudtwin.engine.sampling import Distribution, zipf_cdf
from cloudtwin.spec.elasticache import ttl_sets

if TYPE_CHECKING:
    from cloudtwin.context import Context
    from cloudtwin.services.elasticache import Shard


def _calls(steps: list[Any]) -> list[Any]:
    out = []
    for st in steps:
        if isinstance(getattr(st, "call", None), str):
            out.append(st)
            if st.on_miss:
                out.extend(_calls(st.on_miss))
    return out


KEY_DRAWS: Final = 200_000  # draws for the key probabilities of a distribution other than zipf, uniform or const


def key_pmf(dist: Distribution, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The integer keys a key distribution yields (the cache truncates a draw to an integer) and
    their probabilities: exact for ``zipf``, ``uniform`` and a constant, else estimated from
    :data:`KEY_DRAWS` draws."""
    p = dist.params
    if dist.kind == "zipf":
        cdf = zipf_cdf(p[0], int(p[1]))
        return np.arange(1, len(cdf) + 1), np.diff(cdf, prepend=0.0)
    if dist.kind == "const":
        return np.array([int(p[0])]), np.array([1.0])
    if dist.kind == "uniform" and p[1] > p[0]:
        lo, hi = p
        keys = np.arange(math.floor(lo), math.ceil(hi))
        w = np.minimum(keys + 1, hi) - np.maximum(keys, lo)
        return keys, w / (hi - lo)
    draws = np.floor(np.asarray([make_sampler(dist, gen)() for _ in range(KEY_DRAWS)])).astype(np.int64)
    keys, counts = np.unique(draws, return_counts=True)
    return keys, counts / KEY_DRAWS


def warm(shards: list[Shard], name: str, ctx: Context) -> int:
    """Fill the shards as a cache in steady state holds them (see the module notes); returns the
    number of items placed."""
    from cloudtwin.runsize import offered_rates

    rates = offered_rates(ctx.arch)
    gen = ctx.stream(f"{name}.warm")
    placed: dict[int, tuple[float, float]] = {}
    for owner, kd, ttl in ttl_sets(ctx.arch, name):
        if kd is None:
            continue
        gets = len([st for st in _calls(getattr(ctx.arch.components[owner], "handler", None) or [])
                    if st.target == name and st.op in ("get", "")])
        lam_total = rates.get(owner, 0.0) * max(gets, 1)
        keys, pmf = key_pmf(kd, gen)
        lt = lam_total * pmf * ttl
        held = gen.random(len(keys)) < lt / (1.0 + lt)
        expiry = gen.random(int(held.sum())) * ttl
        for k, e in zip(keys[held].tolist(), expiry.tolist(), strict=True):
            old = placed.get(k)
            if old is None or old[0] < e:
                placed[k] = (e, e - ttl)
    by_shard: list[list[tuple[float, int]]] = [[] for _ in shards]
    for k, (e, _) in placed.items():
        by_shard[k % len(shards) if len(shards) > 1 else 0].append((e, k))
    n = 0
    for shard, got in zip(shards, by_shard, strict=True):
        got.sort()
        for _, k in got[-shard.cap:]:  # least recently set first, as LRU order
            shard.items[k] = placed[k]
            n += 1
    return n

