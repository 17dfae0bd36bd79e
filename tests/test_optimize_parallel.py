"""`cloudtwin optimize --workers N` (issue 18): trials run in parallel through the sweep
executors, the whole grid at once when the search is exhaustive and TPE's trials in batches
otherwise, and a seeded search gives the same answer with one worker or two."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cloudtwin.cli import app
from cloudtwin.sweep import executors

runner = CliRunner()
SPEC = """name: opt
zones: [a, b]
components:
  lb: {type: alb, zones: [a, b], targets: app}
  app:
    type: asg
    instance_type: m5.large
    zones: [a, b]
    capacity: {min: 1, desired: 1, max: 8}
    handler:
      - cpu: exp(20ms)
workloads:
  users: {entry: lb, rate: 150/s}
simulate: {duration: 1m, seed: 3}
"""
SLO = "availability>=99.9%, p99<=120ms"
AXES = ("--vary", "components.app.capacity.desired=1..4", "--vary", "components.app.instance_type=m5.large,m5.xlarge")


def optimize(tmp_path: Path, out: str, *args: str) -> dict[str, Any]:
    spec = tmp_path / "opt.yaml"
    spec.write_text(SPEC)
    r = runner.invoke(app, ["optimize", str(spec), "-o", str(tmp_path / out), "-f", "json", *AXES, "--slo", SLO,
                            *args])
    assert r.exit_code == 0, r.stderr
    got: dict[str, Any] = json.loads(r.stdout)
    return got


def answer(got: dict[str, Any]) -> tuple[Any, ...]:
    return (got["best"]["set"], got["best"]["metrics"], [(t["set"], t["metrics"]) for t in got["pareto"]],
            [t["set"] for t in got["trials"]])


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of runs handed to the executors in each call."""
    calls: list[int] = []
    real = executors.execute

    def execute(jobs: Any, executor: str, **kw: Any) -> Any:
        jobs = list(jobs)
        calls.append(len(jobs))
        return real(jobs, executor, **kw)

    monkeypatch.setattr(executors, "execute", execute)
    return calls


def test_an_exhaustive_search_hands_the_whole_grid_to_the_workers_and_agrees(tmp_path: Path, spy: list[int]) -> None:
    one = optimize(tmp_path, "one", "--seeds", "2", "--workers", "1")
    assert one["exhaustive"] and spy == [8 * 2]  # 8 configurations x 2 seeds in one call
    two = optimize(tmp_path, "two", "--seeds", "2", "--workers", "2")
    assert answer(one) == answer(two)


def test_a_seeded_tpe_search_asks_in_batches_and_gives_the_same_answer_with_two_workers(
        tmp_path: Path, spy: list[int]) -> None:
    one = optimize(tmp_path, "one", "--trials", "6", "--batch", "3", "--workers", "1")
    assert not one["exhaustive"] and one["tried"] <= 6
    assert len(spy) == 2 and all(n <= 3 for n in spy)  # two batches of at most 3 new configurations
    spy.clear()
    two = optimize(tmp_path, "two", "--trials", "6", "--batch", "3", "--workers", "2")
    assert answer(one) == answer(two) and len(spy) == 2
