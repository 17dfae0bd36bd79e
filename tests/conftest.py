"""Shared test configuration: the Hypothesis settings profiles, registered in one place, and the
``failures`` fixture (the times of every failed request) the blueprint tests share, and the
``bench`` fixture that loads a benchmark script (``benchmarks/`` is scripts, not a package).

``dev`` (the default) explores new random examples on every run and keeps
failures in the local example database. ``ci`` is derandomised, so a CI run is
reproducible, keeps no database, and prints the blob that replays a failure.
Pick one with ``HYPOTHESIS_PROFILE=ci``. Neither has a deadline: one example is
a whole simulation, and its wall time depends on the (shared) machine.
Tests that need fewer examples set ``max_examples`` themselves.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from cloudtwin.workloads import WorkloadRun

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """While the compiled layer is in use (make fast), skip the ``python_only`` tests: compiled
    code calls its methods directly, so a method replaced on a class or an instance is not
    seen (or cannot be set at all). make test runs them on the pure-Python modules."""
    from cloudtwin import compiled

    if not compiled.active():
        return
    skip = pytest.mark.skip(reason="python_only: the compiled layer is in use (CLOUDTWIN_COMPILED=0 runs it)")
    for item in items:
        if "python_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def failures(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Times of every failed request."""
    log: list[float] = []
    orig = WorkloadRun._complete

    def spy(self: WorkloadRun, req: Any, err: str | None) -> None:
        if err is not None and not req.finished:
            log.append(self.engine.now)
        orig(self, req, err)

    monkeypatch.setattr(WorkloadRun, "_complete", spy)
    return log


@pytest.fixture
def bench() -> Callable[[str], ModuleType]:
    """``bench("opcodes")``: ``benchmarks/opcodes.py`` loaded as a module, to test its functions."""
    def load(name: str) -> ModuleType:
        path = Path(__file__).resolve().parent.parent / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    return load
