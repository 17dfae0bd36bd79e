"""`cloudtwin sweep`: axes, the results store, resume, executors and the statistics over seeds."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from cloudtwin.cli import app
from cloudtwin.errors import SpecError
from cloudtwin.sweep import store as store_mod
from cloudtwin.sweep.axes import parse_set
from cloudtwin.sweep.stats import estimate, t975, within_noise

runner = CliRunner()
TINY = """name: tiny
zones: [a]
components:
  app:
    type: ec2
    instance_type: m5.large
    workers: 2
    handler:
      - cpu: exp(50ms)
workloads:
  users: {entry: app, rate: 30/s}
simulate: {duration: 2m, seed: 7}
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.yaml"
    p.write_text(TINY)
    return p


def sweep(*args: str) -> Any:
    return runner.invoke(app, ["sweep", *args])


def strip_wall(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: strip_wall(v) for k, v in x.items() if k != "wall_s"}
    if isinstance(x, list):
        return [strip_wall(v) for v in x]
    return x


# ---------------------------------------------------------------- axes
def test_set_parses_paths_and_values() -> None:
    a = parse_set("components.web.capacity.desired=2,4, 6")
    assert a.path == ("components", "web", "capacity", "desired") and a.values == (2, 4, 6)
    b = parse_set("components.app.handler[0].cpu=lognormal(median=5ms, p99=30ms),exp(10ms)")
    assert b.path == ("components", "app", "handler", 0, "cpu")
    assert b.values == ("lognormal(median=5ms, p99=30ms)", "exp(10ms)")  # commas in parentheses kept
    assert parse_set("components.web.instance_type=m5.large,c5.xlarge").values == ("m5.large", "c5.xlarge")
    assert parse_set("components.q.zones=[a, b],[a]").values == (["a", "b"], ["a"])


@pytest.mark.parametrize(("text", "needle"), [
    ("components.web", "expected PATH=V1,V2"),
    ("9lives=1", "not a spec path"),
    ("a..b=1", "not a spec path"),
    ("a.b=1,,2", "an empty value"),
    ("a.b=1,1", "a value is given twice"),
    ("a.b=.nan", "not a finite number"),
    ("a.b=" + ",".join(map(str, range(1001))), "at most 1000 per axis"),
])
def test_bad_set_is_refused(text: str, needle: str) -> None:
    with pytest.raises(SpecError, match=needle.replace("(", r"\(")):
        parse_set(text)


def test_bad_values_are_located_errors_before_anything_runs(spec: Path, tmp_path: Path) -> None:
    r = sweep(str(spec), "--set", "components.app.workers=2,-1", "-o", str(tmp_path / "s"))
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    assert f"{spec}:7: components.app.workers" in r.stderr and "(in the configuration components.app.workers=-1)" \
        in r.stderr
    assert not (tmp_path / "s").exists()  # nothing ran, nothing was created
    r = sweep(str(spec), "--set", "components.nope.workers=2", "-o", str(tmp_path / "s"))
    assert r.exit_code == 2 and "the spec has no components.nope" in r.stderr
    r = sweep(str(spec), "--set", "components.app.workers=" + ",".join(map(str, range(1, 1001))),
              "--set", "workloads.users.rate=" + ",".join(f"{i}/s" for i in range(1, 201)), "-o", str(tmp_path / "s"))
    assert r.exit_code == 2 and "more than 20,000 runs" in r.stderr


# ---------------------------------------------------------------- statistics
def test_t_quantiles_match_the_table_and_the_normal_limit() -> None:
    assert t975(1) == 12.706 and t975(10) == 2.228 and t975(30) == 2.042
    assert t975(1e9) == pytest.approx(1.95996, abs=1e-3)
    assert 2.021 < t975(35) < 2.042  # between the rows of 30 and 40
    assert t975(35) == pytest.approx(2.030, abs=2e-3)  # the exact value is 2.0301


def test_interval_covers_the_true_mean_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(1)
    hits = 0
    trials = 4000
    for _ in range(trials):
        e = estimate(list(rng.normal(10.0, 3.0, size=5)))
        assert e is not None and e.half_width is not None
        hits += abs(e.mean - 10.0) <= e.half_width
    assert 0.94 <= hits / trials <= 0.96  # binomial sd 0.0034 around 0.95


def test_welch_says_within_noise_at_the_5_percent_level() -> None:
    rng = np.random.default_rng(2)
    same = sum(bool(within_noise(estimate(list(rng.normal(0, 1, 6))), estimate(list(rng.normal(0, 2, 4)))))
               for _ in range(3000)) / 3000
    assert 0.935 <= same <= 0.965  # false alarms at about 5 %
    a = estimate([10.0, 10.1, 9.9, 10.0])
    b = estimate([12.0, 12.1, 11.9, 12.0])
    assert a is not None and b is not None and within_noise(a, b) is False
    one = estimate([1.0])
    assert one is not None and one.half_width is None and within_noise(one, a) is None
    assert estimate([]) is None and math.isclose(estimate([1.0, 3.0]).sd, math.sqrt(2))  # type: ignore[union-attr]


# ---------------------------------------------------------------- runs and the store
def test_sweep_runs_every_configuration_and_seed_as_run_would(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "s"
    r = sweep(str(spec), "--set", "components.app.workers=2,3", "--seeds", "2", "-o", str(out), "--workers", "1",
              "-f", "json", "--report", str(tmp_path / "r.html"))
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["runs"] == 4 and [c["set"] for c in summary["configurations"]] == [
        {"components.app.workers": 2}, {"components.app.workers": 3}]
    import duckdb

    rows = duckdb.sql(f"select run, seed, \"set.components.app.workers\" as w, availability, p99_ms, json "
                      f"from '{out / 'results.parquet'}' order by run").fetchall()
    assert [(x[0], x[1], x[2]) for x in rows] == [("c0000-s7", 7, 2), ("c0000-s8", 8, 2), ("c0001-s7", 7, 3),
                                                  ("c0001-s8", 8, 3)]
    # each run is exactly `cloudtwin run` of its configuration and seed
    spec3 = tmp_path / "w3.yaml"
    spec3.write_text(TINY.replace("workers: 2", "workers: 3"))
    alone = runner.invoke(app, ["run", str(spec3), "--seed", "8", "-f", "json"])
    assert alone.exit_code == 0
    kept = json.loads((out / "runs" / "c0001-s8.json").read_text())
    assert strip_wall(kept) == strip_wall(json.loads(alone.stdout))
    # more workers: lower p99 (M/M/c at 30/s x 50 ms: utilisation 0.75 with 2, 0.5 with 3)
    p99 = {c["set"]["components.app.workers"]: c["metrics"]["p99_ms"]["mean"] for c in summary["configurations"]}
    assert p99[3] < p99[2]
    page = (tmp_path / "r.html").read_text()
    assert page.count("<svg") == 6 and "#1" in page


def test_interrupted_sweep_resumes_with_nothing_lost_or_run_twice(spec: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "s"
    recorded: list[str] = []
    real = store_mod.Store.record

    def crash_after_two(self: store_mod.Store, row: dict[str, Any], text: str) -> None:
        if len(recorded) == 2:
            raise KeyboardInterrupt
        recorded.append(row["run"])
        real(self, row, text)

    monkeypatch.setattr(store_mod.Store, "record", crash_after_two)
    args = [str(spec), "--set", "components.app.workers=2,3", "--seeds", "3", "-o", str(out), "--workers", "1"]
    r = sweep(*args)
    assert r.exit_code == 130 and "2 of 6 runs kept" in r.stderr
    with open(out / "runs.jsonl", "a") as f:
        f.write('{"run": "c0001-s9", "config"')  # a line cut short by the crash
    monkeypatch.setattr(store_mod.Store, "record", lambda self, row, text: (recorded.append(row["run"]),
                                                                           real(self, row, text)))
    r = sweep(*args)
    assert r.exit_code == 0, r.stderr
    assert "resuming: 2 of 6 runs already" in r.stderr
    assert sorted(recorded) == sorted(set(recorded)) and len(recorded) == 6  # each run once
    # the cut line is dropped on resume, so every line of the index is whole: one per run
    lines = [json.loads(x) for x in (out / "runs.jsonl").read_text().splitlines()]
    assert sorted(x["run"] for x in lines) == sorted(recorded)
    import pyarrow.parquet as pq

    assert pq.read_table(out / "results.parquet").num_rows == 6


def test_a_folder_of_another_sweep_is_refused(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "s"
    assert sweep(str(spec), "--set", "components.app.workers=2", "-o", str(out)).exit_code == 0
    r = sweep(str(spec), "--set", "components.app.workers=3", "-o", str(out))
    assert r.exit_code == 2 and "holds results of a different sweep" in r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["ray", "dask"])
def test_ray_and_dask_give_the_process_pool_results(spec: Path, tmp_path: Path, executor: str) -> None:
    args = [str(spec), "--set", "components.app.workers=2,3", "--seeds", "2", "--workers", "2"]
    assert sweep(*args, "-o", str(tmp_path / "local")).exit_code == 0
    r = sweep(*args, "-o", str(tmp_path / executor), "--executor", executor)
    assert r.exit_code == 0, r.stderr
    for f in sorted((tmp_path / "local" / "runs").glob("*.json")):
        assert strip_wall(json.loads(f.read_text())) == \
            strip_wall(json.loads((tmp_path / executor / "runs" / f.name).read_text())), f.name
    assert len(list((tmp_path / executor / "runs").glob("*.json"))) == 4
