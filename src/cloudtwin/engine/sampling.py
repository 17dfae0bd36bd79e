"""Probability distributions as data, and fast samplers over a random stream.

A :class:`Distribution` is plain data (kind + parameters). :func:`make_sampler`
turns one into a zero-argument callable. Draws are made from numpy in chunks and
handed out one by one through a generator's ``__next__``, which costs about as
much as a function call and keeps numpy's per-call overhead off the hot path.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

Sampler = Callable[[], float]

CHUNK = 4096
Z_99 = 2.3263478740408408  # standard normal quantile at 0.99
MAX_ZIPF_N = 10_000_000


@dataclass(frozen=True, slots=True)
class Distribution:
    """A distribution of non-negative values (seconds, bytes or key ranks).

    kinds and params:
      ``const`` (value,) · ``exp`` (mean,) · ``lognormal`` (median, p99) ·
      ``uniform`` (low, high) · ``zipf`` (s, n): integer ranks 1..n.
    """

    kind: str
    params: tuple[float, ...]
    text: str = ""

    @property
    def mean(self) -> float:
        p = self.params
        if self.kind == "const":
            return p[0]
        if self.kind == "exp":
            return p[0]
        if self.kind == "lognormal":
            sigma = _lognormal_sigma(p[0], p[1])
            return p[0] * math.exp(sigma * sigma / 2)
        if self.kind == "uniform":
            return (p[0] + p[1]) / 2
        if self.kind == "zipf":
            s, n = p[0], int(p[1])
            w = np.arange(1, n + 1, dtype=float) ** -s
            return float((np.arange(1, n + 1) * w).sum() / w.sum())
        raise ValueError(self.kind)

    def __str__(self) -> str:
        return self.text or f"{self.kind}{self.params}"


def const(value: float) -> Distribution:
    return Distribution("const", (float(value),), f"{value}")


def _lognormal_sigma(median: float, p99: float) -> float:
    return (math.log(p99) - math.log(median)) / Z_99


def _chunks(draw: Callable[[int], np.ndarray]) -> Iterator[float]:
    while True:
        yield from draw(CHUNK).tolist()


@lru_cache(maxsize=8)
def zipf_cdf(s: float, n: int) -> np.ndarray:
    """Cumulative probabilities of ranks 1..n under a bounded Zipf law.

    Built once per shape and shared (read-only) by every sampler of that shape: a spec
    with a hundred ``zipf(s=1.1, n=10000000)`` keys holds one 80 MB table, not a hundred."""
    w = np.arange(1, n + 1, dtype=float) ** -s
    c = np.cumsum(w)
    c /= c[-1]
    c.flags.writeable = False
    return c


def make_sampler(dist: Distribution, gen: np.random.Generator, *, scale: float = 1.0) -> Sampler:
    """A callable returning one draw of ``dist`` (times ``scale``) per call."""
    p = dist.params
    if dist.kind == "const":
        return itertools.repeat(p[0] * scale).__next__
    if dist.kind == "exp":
        mean = p[0] * scale
        if mean <= 0:
            return itertools.repeat(0.0).__next__
        return _chunks(lambda k: gen.exponential(mean, k)).__next__
    if dist.kind == "lognormal":
        mu = math.log(p[0] * scale)
        sigma = _lognormal_sigma(p[0], p[1])
        return _chunks(lambda k: gen.lognormal(mu, sigma, k)).__next__
    if dist.kind == "uniform":
        lo, hi = p[0] * scale, p[1] * scale
        return _chunks(lambda k: gen.uniform(lo, hi, k)).__next__
    if dist.kind == "zipf":
        cdf = zipf_cdf(p[0], int(p[1]))
        return _chunks(lambda k: np.searchsorted(cdf, gen.random(k), side="left") + 1).__next__
    raise ValueError(f"unknown distribution kind {dist.kind!r}")


def uniform_sampler(gen: np.random.Generator) -> Sampler:
    """Uniform draws on [0, 1), chunked."""
    return _chunks(gen.random).__next__
