"""DESIGN row 23, "Caching Strategies": CloudFront, API Gateway cache and ElastiCache/DAX each
cut latency and load at their layer, and stale reads are counted per TTL. S3 and the
database have no cache of their own. Blueprint caching-layers, asserted from the results'
``cache_layers`` block, with test-time variants (the API's stage cache removed; shorter TTLs
at every layer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import cloudtwin
from cloudtwin import parse_spec
from cloudtwin.simulation import Simulation

YAML = (Path(cloudtwin.__file__).parent / "blueprints" / "caching-layers.yaml").read_text(encoding="utf-8")
API_CACHE = "    cache: {ttl: 300s, size_gb: 0.5}\n"


def run(text: str) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    arch = parse_spec(text)
    assert arch.blueprint is not None and arch.blueprint.section == "Caching Strategies"
    r = Simulation(arch).run()
    acct = r["cache_layers"]  # the per-layer accounting is part of the results JSON
    return r, {row["layer"]: row for row in acct["layers"]}, {s["component"]: s for s in acct["no_cache"]}


@pytest.fixture(scope="module")
def base() -> tuple[Any, dict[str, Any], dict[str, Any]]:
    return run(YAML)


@pytest.fixture(scope="module")
def uncached_api() -> Any:
    assert YAML.count(API_CACHE) == 1
    return run(YAML.replace(API_CACHE, ""))[0]


@pytest.fixture(scope="module")
def fresher() -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Shorter TTLs at every layer: CloudFront's API answers 10 s instead of 60 s, the API
    stage cache 60 s instead of 300 s, ElastiCache's prices 30 s instead of 5 min, DAX items
    30 s instead of 5 min."""
    text = YAML.replace("cache_control: {max_age: 60s}", "cache_control: {max_age: 10s}").replace(
        "{type: dax, table: items, nodes: 3}", "{type: dax, table: items, nodes: 3, item_ttl: 30s}").replace(
        API_CACHE, API_CACHE.replace("ttl: 300s", "ttl: 60s")).replace(
        "            ttl: 5m\n", "            ttl: 30s\n")
    assert text.count("ttl: 30s") == 2 and "ttl: 60s, size_gb" in text and "max_age: 10s" in text
    return run(text)


def comp(r: Any, name: str) -> dict[str, Any]:
    return r["components"][name]  # type: ignore[no-any-return]


def test_every_layer_removes_load_from_the_next(base: Any) -> None:
    r, layers, _ = base
    assert [*layers] == ["cdn", "api", "prices", "stock"]
    cdn, api, prices, stock = (layers[n] for n in ("cdn", "api", "prices", "stock"))
    # what each layer passes on is exactly what the next layer sees
    assert cdn["passed_on"] == comp(r, "api")["requests"] + comp(r, "assets")["gets"]
    assert api["passed_on"] == comp(r, "product")["invocations"]
    assert prices["passed_on"] == comp(r, "db")["reads"]
    assert stock["passed_on"] == comp(r, "items")["reads"]
    # and each cut its next layer's load by its hit ratio (measured: 0.82, 0.50, 0.72, 0.72)
    ratios = {n: row["hit_ratio"] for n, row in layers.items()}
    print("hit ratios", ratios, "load removed", {n: row["load_removed"] for n, row in layers.items()})
    assert ratios["cdn"] > 0.75 and ratios["api"] > 0.45 and ratios["prices"] > 0.65 and ratios["stock"] > 0.65
    for row in layers.values():
        assert row["load_removed"] == row["hits"] > 0 and row["lookups"] == row["hits"] + row["misses"]
        assert row["passed_on"] == pytest.approx(row["lookups"] * (1 - row["hit_ratio"]), abs=1)
    # the load removed, layer after layer: 180k viewer requests -> 33k at the origins -> 12.6k
    # Lambda invocations -> 3.5k database reads
    viewers = r.workload("viewers")["requests"]
    assert cdn["lookups"] == viewers and cdn["passed_on"] < 0.2 * viewers
    assert api["passed_on"] < 0.55 * api["lookups"]
    assert comp(r, "db")["reads"] < 0.03 * viewers


def test_every_layer_cuts_latency(base: Any) -> None:
    r, layers, _ = base
    print("latency saved s", {n: row["latency_saved_s"] for n, row in layers.items()})
    for row in layers.values():
        assert row["latency_saved_s"] > 0 and row["latency_saved_by"]
    cdn = comp(r, "cdn")
    for b in cdn["behaviors"]:  # a hit at the edge is quicker than a trip to the origin
        assert b["latency_saved_s"] > 0.01 * b["hits"]  # more than 10 ms per hit
    assert layers["cdn"]["latency_saved_s"] == cdn["latency_saved_s"]
    # an API cache hit skips Lambda (its cold starts included): measured ~11 ms per hit
    assert layers["api"]["latency_saved_s"] > 0.005 * layers["api"]["hits"]
    # an ElastiCache hit skips the database read: hits x its mean latency in the run
    db_mean = comp(r, "db")["latency_ms"]["mean"] / 1000
    assert layers["prices"]["latency_saved_s"] == pytest.approx(layers["prices"]["hits"] * db_mean, rel=1e-4)
    mean = {n: comp(r, n)["latency_ms"]["mean"] for n in ("prices", "db", "stock", "items")}
    assert mean["prices"] < 0.25 * mean["db"]  # a cache hit is far quicker than the database
    assert mean["stock"] < 0.5 * mean["items"]  # DAX, hits and misses together, beats DynamoDB


def test_the_api_stage_cache_cuts_lambda_load_and_api_latency(base: Any, uncached_api: Any) -> None:
    r, layers, _ = base
    without = uncached_api
    assert comp(without, "api")["cache"] is None
    assert [row["layer"] for row in without["cache_layers"]["layers"]] == ["cdn", "prices", "stock"]
    assert comp(without, "product")["invocations"] == comp(without, "api")["requests"]
    assert comp(r, "product")["invocations"] == layers["api"]["misses"] < 0.6 * comp(r, "api")["requests"]
    # measured: 12.5 ms mean with the cache, 17.2 ms without (half the requests skip Lambda)
    assert comp(r, "api")["latency_ms"]["mean"] < 0.8 * comp(without, "api")["latency_ms"]["mean"]


def test_stale_reads_are_counted_at_every_layer_within_its_ttl(base: Any, fresher: Any) -> None:
    r, layers, _ = base
    r2, layers2, _ = fresher
    print("stale share", {n: row["stale_share"] for n, row in layers.items()},
          "shorter TTLs", {n: row["stale_share"] for n, row in layers2.items()})
    print("max stale age", {n: row["max_stale_age_s"] for n, row in layers.items()})
    assert {n: row["stale_basis"] for n, row in layers.items()} == {
        "cdn": "update_every 600s, 21600s", "api": "update_every 600s", "prices": "writes to db",
        "stock": "writes to items"}
    for row in layers.values():  # measured at every layer, and no stale copy outlived its TTL
        assert row["stale_reads"] > 0 and row["stale_share"] == pytest.approx(row["stale_reads"] / row["hits"],
                                                                              abs=1e-6)
        assert 0 < row["mean_stale_age_s"] < row["max_stale_age_s"] < row["max_ttl_s"]
    for b in comp(r, "cdn")["behaviors"]:
        assert b["max_stale_age_s"] < b["ttl"]
    # each product page changes every 10 min: at most TTL / 600 s of the hits are stale
    api_b, api_b2 = comp(r, "cdn")["behaviors"][1], comp(r2, "cdn")["behaviors"][1]
    assert api_b["ttl"] == 60 and api_b2["ttl"] == 10
    assert 0 < api_b["stale_reads"] <= 60 / 600 * api_b["hits"]
    assert 0 < api_b2["stale_reads"] <= 10 / 600 * api_b2["hits"]
    static = comp(r, "cdn")["behaviors"][0]
    assert 0 < static["stale_reads"] <= 1.0 * static["hits"]  # 24 h TTL over a 6 h update period: no bound
    # the API stage cache: an entry's hits are spread over its 300 s life, so about
    # (300 / 2) / 600 = 0.25 of them come after the page changed (measured 0.245); 60 s: 0.05
    assert layers["api"]["stale_share"] == pytest.approx(0.25, abs=0.02)
    assert layers2["api"]["stale_share"] == pytest.approx(0.05, abs=0.01)
    # ElastiCache and DAX: the hot keys are written often (zipf writes, 1/s and 2/s), so more of
    # their hits are stale; a 30 s TTL serves fewer (measured 0.58 -> 0.36, 0.66 -> 0.48) and
    # far younger ones (mean age ~119 s -> under 30 s)
    assert layers2["prices"]["ttl_s"] == 30 and layers2["stock"]["ttl_s"] == {"item": 30.0, "query": 300.0}
    for n in ("prices", "stock"):  # the handler only gets items from DAX: the item TTL bounds the age
        assert layers2[n]["max_stale_age_s"] < 30
        assert 0 < layers2[n]["stale_share"] < 0.8 * layers[n]["stale_share"]
        assert layers2[n]["mean_stale_age_s"] < 30 < 100 < layers[n]["mean_stale_age_s"]
    assert layers2["cdn"]["stale_reads"] < layers["cdn"]["stale_reads"]


def test_s3_and_the_databases_have_no_cache_of_their_own(base: Any) -> None:
    r, layers, stores = base
    assert set(stores) == {"assets", "db", "items"}
    assert all(s["cached"] == 0 and s["hits"] == 0 and s["hit_ratio"] == 0.0 for s in stores.values())
    # every read that reaches them is served there: S3 gets = CloudFront's static misses, and so on
    static_misses = comp(r, "cdn")["behaviors"][0]["origin_requests"]
    assert comp(r, "assets")["gets"] == static_misses == stores["assets"]["requests"]
    assert comp(r, "db")["reads"] == layers["prices"]["misses"]
    assert comp(r, "db")["writes"] == comp(r, "reprice")["invocations"]  # the repricing job's writes
    assert stores["db"]["requests"] == comp(r, "db")["reads"] + comp(r, "db")["writes"]
    assert comp(r, "items")["reads"] == layers["stock"]["misses"]
    assert comp(r, "items")["writes"] == comp(r, "restock")["invocations"]  # writes all land on the table
    assert stores["items"]["requests"] == comp(r, "items")["reads"] + comp(r, "items")["writes"]
