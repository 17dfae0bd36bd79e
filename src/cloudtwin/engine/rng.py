"""Random streams: one per named consumer, all derived from the run's seed.

Each component and workload draws from its own ``numpy.random.Generator`` whose
``SeedSequence`` is keyed by the seed *and* a stable hash of the consumer's name.
Adding, removing or reordering components therefore never changes the draws of
the others, and the same seed gives the same run byte for byte.
"""

from __future__ import annotations

import hashlib

import numpy as np


def name_key(name: str) -> tuple[int, ...]:
    """A stable (process- and platform-independent) spawn key for ``name``."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


def stream(seed: int, name: str) -> np.random.Generator:
    """The generator for consumer ``name`` in a run seeded with ``seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=name_key(name))))
