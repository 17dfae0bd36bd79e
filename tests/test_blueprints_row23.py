"""DESIGN row 23, "Caching Strategies": CloudFront, API Gateway cache and ElastiCache/DAX each
cut latency and load at their layer, and stale reads are counted per TTL. S3 and the
database have no cache of their own. Blueprint caching-layers, with test-time variants
(the API's stage cache removed; shorter CloudFront and DAX TTLs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import cloudtwin
from cloudtwin import parse_spec
from cloudtwin.cache_layers import cache_layers
from cloudtwin.simulation import Simulation

YAML = (Path(cloudtwin.__file__).parent / "blueprints" / "caching-layers.yaml").read_text(encoding="utf-8")
API_CACHE = "    cache: {ttl: 300s, size_gb: 0.5}\n"


def run(text: str) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    arch = parse_spec(text)
    assert arch.blueprint is not None and arch.blueprint.section == "Caching Strategies"
    r = Simulation(arch).run()
    acct = cache_layers(arch, r)
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
    """CloudFront's API answers cached 10 s instead of 60 s, DAX items 30 s instead of 5 min."""
    text = YAML.replace("cache_control: {max_age: 60s}", "cache_control: {max_age: 10s}").replace(
        "{type: dax, table: items, nodes: 3}", "{type: dax, table: items, nodes: 3, item_ttl: 30s}")
    assert text != YAML
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
    assert cdn["hit_ratio"] > 0.75 and api["hit_ratio"] > 0.4
    assert prices["hit_ratio"] > 0.65 and stock["hit_ratio"] > 0.65
    for row in layers.values():
        assert row["load_removed"] == row["hits"] > 0
        assert row["passed_on"] == pytest.approx((row["hits"] + row["misses"]) * (1 - row["hit_ratio"]), abs=1)
    # viewers' requests reach the database a few percent of the time
    viewers = r.workload("viewers")["requests"]
    assert comp(r, "db")["reads"] < 0.03 * viewers


def test_every_layer_cuts_latency(base: Any) -> None:
    r, layers, _ = base
    assert all(row["latency_saved_s"] > 0 for row in layers.values())
    cdn = comp(r, "cdn")
    for b in cdn["behaviors"]:  # a hit at the edge is quicker than a trip to the origin
        assert b["latency_saved_s"] > 0.01 * b["hits"]  # more than 10 ms per hit
    mean = {n: comp(r, n)["latency_ms"]["mean"] for n in ("prices", "db", "stock", "items")}
    assert mean["prices"] < 0.25 * mean["db"]  # a cache hit is far quicker than the database
    assert mean["stock"] < 0.5 * mean["items"]  # DAX, hits and misses together, beats DynamoDB


def test_the_api_stage_cache_cuts_lambda_load_and_api_latency(base: Any, uncached_api: Any) -> None:
    r, layers, _ = base
    without = uncached_api
    assert comp(without, "api")["cache"] is None
    assert comp(without, "product")["invocations"] == comp(without, "api")["requests"]
    assert comp(r, "product")["invocations"] == layers["api"]["misses"] < 0.6 * comp(r, "api")["requests"]
    # measured: 12.5 ms mean with the cache, 17.2 ms without (half the requests skip Lambda)
    assert comp(r, "api")["latency_ms"]["mean"] < 0.8 * comp(without, "api")["latency_ms"]["mean"]


def test_stale_reads_are_counted_per_ttl(base: Any, fresher: Any) -> None:
    r, layers, _ = base
    r2, layers2, _ = fresher
    api_b, api_b2 = comp(r, "cdn")["behaviors"][1], comp(r2, "cdn")["behaviors"][1]
    # each product page changes every 10 min: at most TTL / 600 s of the hits are stale
    assert api_b["ttl"] == 60 and api_b2["ttl"] == 10
    assert 0 < api_b["stale_reads"] <= 60 / 600 * api_b["hits"]
    assert 0 < api_b2["stale_reads"] <= 10 / 600 * api_b2["hits"]
    static = comp(r, "cdn")["behaviors"][0]
    assert 0 < static["stale_reads"] <= 1.0 * static["hits"]  # 24 h TTL over a 6 h update period: no bound
    # DAX: a hit after a write that bypassed it; a shorter item TTL serves fewer
    assert layers2["stock"]["ttl_s"] == {"item": 30.0, "query": 300.0}
    s1, s2 = layers["stock"], layers2["stock"]
    print("DAX stale reads / hits:", s1["stale_reads"], s1["hits"], "TTL 30 s:", s2["stale_reads"], s2["hits"])
    assert 0 < s2["stale_reads"] < 0.7 * s1["stale_reads"]
    assert s2["stale_reads"] / s2["hits"] < s1["stale_reads"] / s1["hits"]
    # the API cache inherits CloudFront's update process; nothing writes the prices database yet
    assert layers["api"]["stale_basis"] == "update_every 600s" and layers["api"]["stale_reads"] > 0
    assert layers["prices"]["stale_basis"] == "writes to db" and layers["prices"]["stale_reads"] == 0


def test_s3_and_the_databases_have_no_cache_of_their_own(base: Any) -> None:
    r, layers, stores = base
    assert set(stores) == {"assets", "db", "items"} and all(s["cached"] == 0 for s in stores.values())
    # every read that reaches them is served there: S3 gets = CloudFront's static misses, and so on
    static_misses = comp(r, "cdn")["behaviors"][0]["origin_requests"]
    assert comp(r, "assets")["gets"] == static_misses == stores["assets"]["requests"]
    assert comp(r, "db")["reads"] == layers["prices"]["misses"] == stores["db"]["requests"]
    assert comp(r, "items")["reads"] == layers["stock"]["misses"]
    assert comp(r, "items")["writes"] == comp(r, "restock")["invocations"]  # writes all land on the table
    assert stores["items"]["requests"] == comp(r, "items")["reads"] + comp(r, "items")["writes"]
