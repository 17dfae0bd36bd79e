"""Chunked samplers: one draw per call, the same values in the same order as numpy's bulk draws."""

from __future__ import annotations

import numpy as np
import pytest

from cloudtwin.engine.sampling import CHUNK, Distribution, block_draw, make_sampler, uniform_sampler

KINDS = [
    Distribution("exp", (0.02,)),
    Distribution("lognormal", (0.01, 0.05)),
    Distribution("uniform", (1.0, 3.0)),
    Distribution("zipf", (1.1, 1000.0)),
]


@pytest.mark.parametrize("dist", KINDS, ids=lambda d: d.kind)
def test_draws_are_numpys_across_chunks(dist: Distribution) -> None:
    n = 2 * CHUNK + 17  # across two chunk boundaries
    draw = make_sampler(dist, np.random.default_rng(7))
    got = [draw() for _ in range(n)]
    ref = np.random.default_rng(7)
    if dist.kind == "exp":
        want = np.concatenate([ref.exponential(0.02, CHUNK) for _ in range(3)])
    elif dist.kind == "uniform":
        want = np.concatenate([ref.uniform(1.0, 3.0, CHUNK) for _ in range(3)])
    elif dist.kind == "lognormal":
        sigma = (np.log(0.05) - np.log(0.01)) / 2.3263478740408408
        want = np.concatenate([ref.lognormal(np.log(0.01), sigma, CHUNK) for _ in range(3)])
    else:
        from cloudtwin.engine.sampling import zipf_cdf
        cdf = zipf_cdf(1.1, 1000)
        want = np.concatenate([np.searchsorted(cdf, ref.random(CHUNK), side="left") + 1 for _ in range(3)])
    assert got == want[:n].tolist()
    assert all(type(x) is type(got[0]) for x in got)  # plain Python numbers, not numpy scalars


def test_block_draw_continues_the_stream() -> None:
    """After a whole chunk, ``draw(k)`` gives the sampler's next draws (the fast path's contract)."""
    a = make_sampler(Distribution("exp", (1.0,)), np.random.default_rng(3))
    b = make_sampler(Distribution("exp", (1.0,)), np.random.default_rng(3))
    found = block_draw(a)
    assert found is not None
    _, draw = found
    first = [a() for _ in range(CHUNK)]
    bulk = draw(100).tolist()
    assert first + bulk == [b() for _ in range(CHUNK + 100)]


def test_block_draw_refuses_other_samplers() -> None:
    assert block_draw(make_sampler(Distribution("const", (1.0,)), np.random.default_rng(0))) is None
    assert block_draw(lambda: 1.0) is None
    u = uniform_sampler(np.random.default_rng(0))
    assert block_draw(u) is not None and 0.0 <= u() < 1.0
