"""Results as DataFrames, the Jupyter display, and specs built from Python data."""

from __future__ import annotations

import math

import pytest

import cloudtwin
from cloudtwin.blueprints import names
from cloudtwin.errors import CloudtwinError, SpecError
from cloudtwin.tables import TABLES

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def results() -> cloudtwin.Results:
    return cloudtwin.run("ecs-sqs", duration=600, seed=3)


def test_series_is_the_json_in_long_form(results: cloudtwin.Results) -> None:
    df = results.frame("series")
    assert list(df.columns) == ["t_s", "scope", "name", "metric", "value"]
    s = results["series"]
    expected = sum(len(v) for g in ("workloads", "components") for m in s[g].values() for v in m.values())
    assert len(df) == expected
    # every value lands at its own minute: pivot back and compare with the JSON
    wide = df.pivot_table(index="t_s", columns=["name", "metric"], values="value", aggfunc="first")
    for metric, values in s["workloads"]["producers"].items():
        got = wide[("producers", metric)].tolist()
        assert all(math.isclose(a, b) or (a != a and b is None) for a, b in zip(got, values, strict=True))
    assert sorted(wide.index) == s["t"]


def test_workloads_and_components_flatten_nested_figures(results: cloudtwin.Results) -> None:
    w = results.frame("workloads")
    assert list(w.index) == list(results["workloads"])
    assert w.loc["producers", "latency_ms.p99"] == results.workload("producers")["latency_ms"]["p99"]
    assert w.loc["producers", "errors.timeout"] == results.workload("producers")["errors"]["timeout"]
    c = results.frame("components")
    assert set(c["type"]) == {"sqs", "ecs"}
    assert c.loc["jobs", "delivered"] == results.component("jobs")["delivered"]


def test_cost_lines_sum_to_the_window_total(results: cloudtwin.Results) -> None:
    cost = results.frame("cost")
    assert {"component", "usage_type", "quantity", "usd", "source"} <= set(cost.columns)
    assert cost["usd"].sum() == pytest.approx(results["cost"]["window_usd"], abs=1e-5)


def test_empty_timeline_still_has_its_columns(results: cloudtwin.Results) -> None:
    t = results.frame("timeline")
    assert len(t) == len(results["timeline"]) == 0
    assert {"t", "kind", "detail"} <= set(t.columns)


def test_unknown_table_names_the_choices(results: cloudtwin.Results) -> None:
    with pytest.raises(CloudtwinError, match="choose one of series, workloads"):
        results.frame("latency")
    assert set(TABLES) == {"series", "workloads", "components", "cost", "timeline"}


def test_jupyter_display_escapes_and_shows_each_workload(results: cloudtwin.Results) -> None:
    html = results._repr_html_()
    assert "<table>" in html and "producers" in html and "cost: window" in html
    data = dict(results.data, workloads={"<script>": results.workload("producers")})
    out = cloudtwin.Results(data)._repr_html_()
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert repr(results).startswith("<Results 'ecs-sqs' seed=3")


@pytest.mark.parametrize("name", names())
def test_every_blueprint_round_trips_through_python_data(name: str) -> None:
    arch = cloudtwin.load_spec(name)
    assert cloudtwin.from_dict(arch.to_dict()) == arch


def test_a_variant_built_from_a_dict_runs_and_differs() -> None:
    data = cloudtwin.load_spec("simple-web-app").to_dict()
    data["faults"] = []
    variant = cloudtwin.from_dict(data)
    base = cloudtwin.Simulation(cloudtwin.load_spec("simple-web-app"), seed=1, duration=1200).run()
    calm = cloudtwin.Simulation(variant, seed=1, duration=1200).run()
    assert calm["timeline"] == [] and base["timeline"] != []


def test_from_dict_reports_paths_and_leaves_the_callers_data_alone() -> None:
    data = cloudtwin.load_spec("simple-web-app").to_dict()
    data["components"]["web"]["capacity"]["min"] = -1
    before = repr(data)
    with pytest.raises(SpecError, match=r"components\.web\.capacity\.min"):
        cloudtwin.from_dict(data)
    assert repr(data) == before
    with pytest.raises(SpecError, match="mapping"):
        cloudtwin.from_dict(["not", "a", "spec"])  # type: ignore[arg-type]
    deep: dict[str, object] = {}
    cur = deep
    for _ in range(100):
        cur["x"] = {}
        cur = cur["x"]  # type: ignore[assignment]
    with pytest.raises(SpecError, match="deeper than"):
        cloudtwin.from_dict(deep)
