"""Probability distributions as data, and fast samplers over a random stream.

A :class:`Distribution` is plain data (kind + parameters). :func:`make_sampler`
turns one into a zero-argument callable. Draws are made from numpy in chunks and
handed out one by one through ``itertools.chain``'s ``__next__``: in C within a chunk
(no Python frame per draw), with numpy's per-call overhead once per chunk.
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
      ``uniform`` (low, high) · ``zipf`` (s, n): integer ranks 1..n ·
      ``python`` (mean,): ``fn(gen)`` returns each draw from the stream's generator
      (:func:`python_distribution`; the Python DSL's handler callables).
    """

    kind: str
    params: tuple[float, ...]
    text: str = ""
    fn: Callable[[np.random.Generator], float] | None = None

    @property
    def mean(self) -> float:
        p = self.params
        if self.kind in ("const", "python"):
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


class _Chunks(itertools.chain[float]):
    """A chunked sampler's draws one by one: ``draw(CHUNK)``'s values, chunk after chunk.

    A draw within a chunk is ``chain``'s C iteration over a list (no Python frame per
    draw); a Python call (:class:`_Block`) is made once per chunk. ``draw`` is kept for
    :func:`block_draw`."""

    draw: Callable[[int], np.ndarray]


class _Block:
    """One chunk's values as a list: ``draw(CHUNK).tolist()``, for :func:`_chunked`'s map."""

    __slots__ = ("draw",)

    def __init__(self, draw: Callable[[int], np.ndarray]) -> None:
        self.draw = draw

    def __call__(self, _: None) -> list[float]:
        out: list[float] = self.draw(CHUNK).tolist()
        return out


def _chunked(draw: Callable[[int], np.ndarray]) -> Sampler:
    it = _Chunks.from_iterable(map(_Block(draw), itertools.repeat(None)))
    assert isinstance(it, _Chunks)  # chain.from_iterable makes its own class
    it.draw = draw
    return it.__next__


def block_draw(sampler: Sampler) -> tuple[Iterator[float], Callable[[int], np.ndarray]] | None:
    """``(it, draw)`` for a sampler from :func:`make_sampler` that draws from numpy in chunks:
    ``it`` yields the sampler's draws one by one and ``draw(k)`` makes the next ``k`` of its
    stream at once. Once ``it`` has handed out a whole number of chunks (:data:`CHUNK`), the
    sampler's next draws are ``draw(k)``'s, in order (numpy's element-wise draws do not depend
    on how they are split into calls). None for any other sampler."""
    it = getattr(sampler, "__self__", None)
    if not isinstance(it, _Chunks) or sampler != it.__next__:
        return None
    return it, it.draw


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
        return _chunked(lambda k: gen.exponential(mean, k))
    if dist.kind == "lognormal":
        mu = math.log(p[0] * scale)
        sigma = _lognormal_sigma(p[0], p[1])
        return _chunked(lambda k: gen.lognormal(mu, sigma, k))
    if dist.kind == "uniform":
        lo, hi = p[0] * scale, p[1] * scale
        return _chunked(lambda k: gen.uniform(lo, hi, k))
    if dist.kind == "zipf":
        cdf = zipf_cdf(p[0], int(p[1]))
        return _chunked(lambda k: np.searchsorted(cdf, gen.random(k), side="left") + 1)
    if dist.kind == "python" and dist.fn is not None:
        fn = dist.fn
        return lambda: _checked(fn(gen), dist) * scale
    raise ValueError(f"unknown distribution kind {dist.kind!r}")


class BadDraw(ValueError):
    """A ``python`` distribution's function returned something that is not a number >= 0."""


def _checked(v: object, dist: Distribution) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float | np.floating | np.integer):
        raise BadDraw(f"{dist.text or 'a python distribution'} returned {v!r}, not a number of seconds")
    x = float(v)
    if not (x >= 0 and math.isfinite(x)):
        raise BadDraw(f"{dist.text or 'a python distribution'} returned {x!r}; draws must be finite and >= 0")
    return x


def python_distribution(fn: Callable[[np.random.Generator], float], text: str, *, probes: int = 10_000) \
        -> Distribution:
    """A distribution whose draws are ``fn(gen)``. Its mean (for run-size estimates) is measured
    over ``probes`` draws from a generator of its own, seeded 0, so the estimate is deterministic
    and the run's streams are untouched."""
    probe = np.random.default_rng(0)
    d = Distribution("python", (0.0,), text, fn)
    mean = math.fsum(_checked(fn(probe), d) for _ in range(probes)) / probes
    return Distribution("python", (mean,), text, fn)


def uniform_sampler(gen: np.random.Generator) -> Sampler:
    """Uniform draws on [0, 1), chunked."""
    return _chunked(gen.random)
