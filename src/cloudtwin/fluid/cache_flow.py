"""Cache-aside hit ratios in the fluid engine, key by key in expectation.

The exact engine (:mod:`cloudtwin.services.elasticache`) holds each key from the ``set``
after a miss until ``ttl`` later (expiry is lazy: the first lookup after it misses). With
Poisson lookups of key k at rate ``lam_k``, the key alternates between *held* (``T``
seconds) and *absent* (until its next lookup, a mean ``1/lam_k``), so in steady state a
lookup of k hits with probability ``lam_k T / (1 + lam_k T)`` (:func:`ttl_hit_ratio`,
the renewal argument the exact engine's ``warm: true`` start uses too).

Over time the fluid engine follows the share ``H_k`` of time key k is held, as a mean
field: each 1-second step the absent share is looked up (and set) with probability
``1 - exp(-lam_k dt)`` and the shares set ``T`` seconds ago expire. When only a share ``s``
of misses reach their ``set`` (the database call before it failed), an absent key keeps
missing until one does: ``(1 - exp(-lam_k s dt)) / s`` misses per absent key in ``dt``. Started cold
(``H = 0``, the exact engine's default) this reproduces the waves of misses every TTL
that a cold cache has, damping as the keys' set times spread; ``warm: true`` starts
from the steady state with set times spread evenly over the TTL. Keys with nearly equal
probabilities are pooled into :data:`BINS` log-spaced bins, so a hundred thousand keys
cost a few hundred numbers. Assumptions: lookups are Poisson (as in the exact engine's
warm start); a miss sets its key at once (the DB call's time is left out); the cache
holds every key it is given (a cache smaller than the key space is refused: LRU
eviction is not modelled here).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cloudtwin.fluid.fleet import _seed
from cloudtwin.services.elasticache import key_pmf

BINS = 400


def key_probabilities(dist: Any, seed: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The integer keys a key distribution yields and their probabilities (as the exact cache sees them)."""
    return key_pmf(dist, np.random.default_rng(_seed(f"{seed}:{name}:keys")))


def ttl_hit_ratio(pmf: np.ndarray, lam: float, ttl: float) -> float:
    """The steady-state hit ratio of cache-aside with TTL ``ttl`` under Poisson lookups at ``lam``/s
    over keys with probabilities ``pmf``: ``sum_k p_k * lam p_k T / (1 + lam p_k T)``."""
    x = lam * pmf * ttl
    return float((pmf * x / (1.0 + x)).sum())


class CacheFlow:
    """The keys of one cache-aside ``get`` step (its key distribution and its ``set``'s TTL)."""

    def __init__(self, pmf: np.ndarray, ttl: float | None, *, warm_rate: float | None = None) -> None:
        p = np.asarray(pmf, dtype=float)
        p = p[p > 0]
        edges = np.geomspace(p.min() * 0.999, p.max() * 1.001, BINS + 1)
        idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, BINS - 1)
        n = np.bincount(idx, minlength=BINS).astype(float)
        w = np.bincount(idx, weights=p, minlength=BINS)
        keep = n > 0
        self.n, self.w = n[keep], w[keep]
        self.p = self.w / self.n  # each bin's per-key probability
        self.keys = int(self.n.sum())
        self.ttl = ttl
        self.slots = max(1, round(ttl)) if ttl is not None else 0
        self.ring = np.zeros((self.slots, len(self.n)))  # the share of each bin's keys set in each past second
        self.at = 0
        self.held = np.zeros(len(self.n))
        self.hits = self.misses = 0.0
        self.series: list[float] = []
        self._m = [0.0, 0.0]
        if warm_rate is not None and ttl is not None and warm_rate > 0:
            x = warm_rate * self.p * ttl
            self.held = x / (1.0 + x)
            self.ring[:] = self.held / self.slots

    def held_items(self) -> float:
        return float((self.n * self.held).sum())

    def step(self, lam: float, dt: float, set_share: float = 1.0) -> float:
        """Advance ``dt`` seconds of lookups at ``lam``/s; returns the share that hit. ``set_share``:
        the share of misses whose ``set`` is made (the rest failed on the way)."""
        if self.slots:
            k = max(1, round(dt))
            for _ in range(k):  # the sets of T seconds ago expire (one slot per second)
                self.held = np.maximum(self.held - self.ring[self.at], 0.0)
                self.ring[self.at] = 0.0
                self.at = (self.at + 1) % self.slots
        looked = lam * dt
        if looked <= 0.0:
            return 0.0
        x = lam * self.p * dt  # lookups of one key this step
        absent = 1.0 - self.held
        if set_share >= 1.0 - 1e-12:
            new = absent * -np.expm1(-x)  # the first lookup misses and sets it; the rest hit
            miss_key = new
        elif set_share <= 0.0:  # no set lands: every lookup of an absent key misses
            new = np.zeros_like(absent)
            miss_key = absent * x
        else:  # a miss sets the key with probability s: lookups miss until one does (Exp(x s) later)
            new = absent * -np.expm1(-x * set_share)
            miss_key = new / set_share
        misses = float((self.n * miss_key).sum())
        hit = max(0.0, 1.0 - misses / looked)
        self.held = np.minimum(self.held + new, 1.0)
        if self.slots:
            prev = (self.at - 1) % self.slots
            self.ring[prev] += new
        self.hits += looked * hit
        self.misses += looked * (1.0 - hit)
        self._m[0] += looked * hit
        self._m[1] += looked * (1.0 - hit)
        return hit

    def lose(self, share: float) -> None:
        """A node's items are lost: ``share`` of every key's presence goes."""
        self.held *= 1.0 - share
        self.ring *= 1.0 - share

    def minute(self) -> None:
        h, m = self._m
        self.series.append(round(h / (h + m), 4) if h + m else 0.0)
        self._m = [0.0, 0.0]
