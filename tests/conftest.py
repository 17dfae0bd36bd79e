"""Shared test configuration: the Hypothesis settings profiles, registered in one place.

``dev`` (the default) explores new random examples on every run and keeps
failures in the local example database. ``ci`` is derandomised, so a CI run is
reproducible, keeps no database, and prints the blob that replays a failure.
Pick one with ``HYPOTHESIS_PROFILE=ci``. Neither has a deadline: one example is
a whole simulation, and its wall time depends on the (shared) machine.
Tests that need fewer examples set ``max_examples`` themselves.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
