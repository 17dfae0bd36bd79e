"""Stale reads at the ElastiCache and API Gateway cache layers, measured from what the spec
declares (the source's keyed writes; the answers' update process), and the API stage
cache's per-key invalidation, largest cacheable answer and size eviction
[aws-facts §10 REST cache]. Expected shares are derived in each test from the spec."""

from __future__ import annotations

import math
from typing import Any

import pytest

from cloudtwin import parse_spec
from cloudtwin.errors import SpecError
from cloudtwin.simulation import Simulation

CACHE_ASIDE = """
name: stale-ec
zones: [a]
components:
  app:
    type: lambda
    handler:
      - call: cache.get
        key: 1
        on_miss:
          - call: {store}.{read}
          - call: cache.set
            ttl: 60s
  cache: {{type: elasticache, engine: redis}}
  db: {{type: rds, engine: postgres, instance_class: db.m5.large}}
  items: {{type: dynamodb, capacity: on_demand}}
  writer:
    type: lambda
    handler:
      - call: {store}.{write}
        key: 1
{invalidate}
workloads:
  readers: {{entry: app, rate: 20/s}}
  writes: {{entry: writer, rate: 0.1/s}}
simulate: {{duration: 30m, seed: 3}}
"""


def ec_run(store: str = "db", invalidate: bool = False) -> dict[str, Any]:
    read, write = ("query", "write") if store == "db" else ("get", "update")
    inv = "      - call: cache.delete\n        key: 1\n" if invalidate else ""
    r = Simulation(parse_spec(CACHE_ASIDE.format(store=store, read=read, write=write, invalidate=inv))).run()
    return r.data


def test_elasticache_counts_hits_after_a_source_write_as_stale() -> None:
    r = ec_run()
    c = r["components"]["cache"]
    assert c["sources"] == ["db"]
    # a hit's item is uniformly 0-60 s old; writes come at Poisson 0.1/s, so the share of hits
    # after a write since the set is 1 - (1 - e^-6) / 6 = 0.834
    expected = 1 - (1 - math.exp(-6)) / 6
    print("ElastiCache stale share", c["stale_share"], "expected", round(expected, 3), "max age", c["max_stale_age_s"])
    assert c["stale_share"] == pytest.approx(expected, abs=0.05)
    assert c["stale_reads"] == round(c["stale_share"] * c["hits"])
    assert 0 < c["mean_stale_age_s"] < c["max_stale_age_s"] < 60.0  # a copy never outlives its TTL
    layer = {x["layer"]: x for x in r["cache_layers"]["layers"]}["cache"]
    assert layer["stale_basis"] == "writes to db" and layer["stale_reads"] == c["stale_reads"]
    assert layer["max_ttl_s"] == 60.0 and layer["passed_on"] == r["components"]["db"]["reads"]


def test_deleting_the_key_after_the_write_ends_the_stale_reads() -> None:
    base, inv = ec_run()["components"]["cache"], ec_run(invalidate=True)["components"]["cache"]
    assert inv["deletes"] > 150  # one per write: 30 min at 0.1/s
    # only the hits between the write's acknowledgement and the delete's arrival are stale
    assert inv["stale_share"] < 0.005 < 0.8 < base["stale_share"]


def test_a_dynamodb_source_is_heard_as_well() -> None:
    c = ec_run("items")["components"]["cache"]
    assert c["sources"] == ["items"] and c["stale_share"] > 0.7


API = """
name: stale-api
zones: [a]
components:
  api:
    type: apigateway
    cache: {{ttl: {ttl}, key: "{key}"{extra}}}
    integration: {{target: fn}}
  fn: {{type: lambda, handler: [{{cpu: 2ms}}]}}
  refresher:
    type: lambda
    handler:
      - call: api.invalidate
        key: 1
workloads:
  readers: {{entry: api, rate: 10/s}}
{refresh}
simulate: {{duration: 30m, seed: 5}}
"""


def api_run(ttl: str = "300s", key: str = "1", extra: str = ", update_every: 60s",
            refresh: bool = False) -> dict[str, Any]:
    text = API.format(ttl=ttl, key=key, extra=extra,
                      refresh="  refreshes: {entry: refresher, rate: 0.1/s}" if refresh else "")
    return Simulation(parse_spec(text)).run().data


def test_the_api_cache_counts_hits_after_the_answer_changed() -> None:
    r = api_run()
    c = r["components"]["api"]["cache"]
    # key 1's answer changes every 60 s at phase 60 x (1 - frac(0.618)) = 22.9 s (and 82.9 s...);
    # an entry is filled every 300 s (a multiple of 60) at ~0 s, so each is fresh for its first
    # ~22.9 s only: 1 - 22.9/300 = 0.924 of the hits are stale, and none older than the TTL
    # (the fills drift by the integration's time, so the age reaches ~280 s)
    print("API stale share", c["stale_share"], "max age", c["max_stale_age_s"])
    assert c["update_every_s"] == 60.0 and c["ttl_s"] == 300.0
    first_change = 60 * (1 - math.fmod(0.6180339887498949, 1.0))
    assert c["stale_share"] == pytest.approx(1 - first_change / 300, abs=0.01)
    assert 250 < c["max_stale_age_s"] < 300.0
    layer = r["cache_layers"]["layers"][0]
    assert layer["stale_basis"] == "update_every 60s" and layer["latency_saved_s"] > 0


def test_per_key_invalidation_refreshes_the_entry() -> None:
    base = api_run()["components"]
    r = api_run(refresh=True)
    comps = r["components"]
    c = comps["api"]["cache"]
    # each invalidation skips the cache, calls the integration and replaces the entry
    assert c["invalidations"] == r["workloads"]["refreshes"]["requests"] > 100
    assert comps["fn"]["invocations"] == c["misses"] + c["invalidations"]
    assert r["cache_layers"]["layers"][0]["passed_on"] == comps["fn"]["invocations"]
    # an entry is now refreshed every 10 s on average: a hit is stale when the answer changed
    # since, about E[age] / 60 s = 10/60 of the hits (measured 0.13), not 0.92
    print("API stale share with refreshes", c["stale_share"], "max age", c["max_stale_age_s"])
    assert c["stale_share"] < 0.25 < 0.85 < base["api"]["cache"]["stale_share"]


def test_no_update_process_means_no_stale_reads() -> None:
    c = api_run(extra="")["components"]["api"]["cache"]
    assert c["update_every_s"] is None and c["stale_reads"] == 0 and c["hits"] > 17_000


def test_answers_above_the_largest_cacheable_size_are_not_stored() -> None:
    big = api_run(extra=", response_size: 1025KiB")["components"]
    c = big["api"]["cache"]
    assert c["hits"] == 0 and c["too_large"] == c["misses"] == big["fn"]["invocations"] > 17_000
    at_limit = api_run(extra=", response_size: 1MiB")["components"]["api"]["cache"]  # 1,048,576 bytes: cached
    assert at_limit["too_large"] == 0 and at_limit["hit_ratio"] > 0.99


def test_a_full_cache_evicts_the_least_recently_used() -> None:
    # 0.5 GiB holds 512 answers of 1 MiB; 2,000 keys asked uniformly: at most ~512/2000 hit
    small = api_run(ttl="3600s", key="uniform(1, 2001)", extra=", response_size: 1MiB")["components"]["api"]["cache"]
    free = api_run(ttl="3600s", key="uniform(1, 2001)", extra="")["components"]["api"]["cache"]
    print("hit ratio with 1 MiB answers", small["hit_ratio"], "weightless", free["hit_ratio"])
    assert small["evictions"] > 10_000 and small["entries"] == 512
    assert small["hit_ratio"] < 0.27 and free["hit_ratio"] > 0.85 and free["evictions"] == 0


def test_invalidate_needs_a_cache() -> None:
    text = API.format(ttl="0s", key="1", extra="", refresh="")
    with pytest.raises(SpecError, match="invalidate needs a cache"):
        parse_spec(text)


EDGE = """
name: stale-edge
zones: [a]
components:
  cdn:
    type: cloudfront
    behaviors:
      - {{origin: site, ttl: {ttl}, update_every: 10m, key: "zipf(s=1.1, n=1000)"}}
  site: {{type: s3}}
workloads:
  viewers: {{entry: cdn, rate: 20/s}}
simulate: {{duration: 1h, seed: 2}}
"""


def rule_findings(text: str, *, simulate: bool) -> list[Any]:
    from cloudtwin.review import review

    return review(parse_spec(text), simulate=simulate).by_rule("CT-PERF-007")


def test_review_flags_a_ttl_longer_than_the_update_period_and_the_run_confirms_it() -> None:
    # TTL 20 min over a 10 min update period: 1 - 10/(2 x 20) = 75% of the hits stale in steady state
    [static] = rule_findings(EDGE.format(ttl="20m"), simulate=False)
    assert static.evidence[0].text.startswith("TTL 1200 s over an update period of 600 s: about 75%")
    [f] = rule_findings(EDGE.format(ttl="20m"), simulate=True)
    measured = [e for e in f.evidence if e.kind == "dynamic" and e.data.get("stale_share") is not None]
    print("measured stale share at a 20 min TTL:", measured[0].data)
    assert measured[0].data["stale_share"] == pytest.approx(0.75, abs=0.08)
    assert rule_findings(EDGE.format(ttl="5m"), simulate=False) == []  # 5/20 = 25% expected: not flagged


def test_review_measures_elasticache_staleness_and_clears_it_after_invalidation() -> None:
    text = CACHE_ASIDE.format(store="db", read="query", write="write", invalidate="")
    [f] = rule_findings(text, simulate=True)
    assert f.component == "cache" and any(e.kind == "dynamic" and e.data.get("stale_share", 0) > 0.5
                                          for e in f.evidence)
    assert rule_findings(text, simulate=False) == []  # nothing declares the writes' period statically
    inv = CACHE_ASIDE.format(store="db", read="query", write="write",
                             invalidate="      - call: cache.delete\n        key: 1\n")
    assert rule_findings(inv, simulate=True) == []
