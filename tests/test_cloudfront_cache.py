"""CloudFront's edge cache against its sources: the TTL rule (Minimum/Default/Maximum TTL and the
origin's Cache-Control, CloudFront developer guide "Manage how long content stays in the cache
(expiration)", aws-facts §13 TTLs), the cache key's effect on the hit ratio, LRU eviction by
size, Origin Shield, invalidations and stale reads bounded by TTL / update period."""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Simulation, SpecError, parse_spec
from cloudtwin.services.cloudfront_cache import EdgeCache, edge_ttl, object_size, version
from cloudtwin.spec.cloudfront_behavior import CacheControl, ObjectSizes

DAY, YEAR = 86_400.0, 31_536_000.0


def cc(**kw: Any) -> CacheControl:
    return CacheControl(**kw)


def test_no_header_gives_the_default_ttl() -> None:
    assert edge_ttl(0.0, DAY, YEAR, None) == DAY
    assert edge_ttl(60.0, DAY, YEAR, None) == DAY
    assert edge_ttl(0.0, DAY, YEAR, cc()) == DAY  # a header with no age: still the Default TTL


def test_max_age_is_cut_to_the_maximum_and_raised_to_the_minimum() -> None:
    assert edge_ttl(0.0, DAY, YEAR, cc(max_age=600)) == 600  # min 0: the lesser of max-age and Maximum TTL
    assert edge_ttl(0.0, DAY, 3600.0, cc(max_age=7200)) == 3600
    assert edge_ttl(900.0, DAY, YEAR, cc(max_age=600)) == 900  # min > 0: the greater of min and max-age
    assert edge_ttl(0.0, 10.0, YEAR, cc(max_age=7 * DAY)) == 7 * DAY  # the Default TTL plays no part


def test_s_maxage_wins_over_max_age() -> None:
    assert edge_ttl(0.0, DAY, YEAR, cc(max_age=60, s_maxage=3600)) == 3600
    assert edge_ttl(0.0, DAY, 1800.0, cc(max_age=60, s_maxage=3600)) == 1800


def test_no_cache_is_not_stored_unless_the_minimum_ttl_is_above_zero() -> None:
    assert edge_ttl(0.0, DAY, YEAR, cc(no_cache=True, max_age=600)) == 0.0
    assert edge_ttl(30.0, DAY, YEAR, cc(no_cache=True)) == 30.0  # CachePolicyConfig: min TTL > 0 overrides


SPEC = """
name: cf-cache
components:
  cdn:
    type: cloudfront
    {top}
    behaviors:
      - {{path: "/files/*", origin: assets, key: "zipf(s=1.0, n={n})", response_size: 1MB, {beh}}}
  assets: {{type: s3}}
workloads:
  w: {{entry: cdn, rate: {rate}/s}}
simulate: {{duration: {seconds}s, seed: 3}}
"""


def run(beh: str = "ttl: 1h", top: str = "", n: int = 2000, rate: float = 100, seconds: float = 600) -> Any:
    spec = SPEC.format(beh=beh, top=top or "edges: 1", n=n, rate=rate, seconds=seconds)
    return Simulation(parse_spec(spec)).run()


def cdn(r: Any) -> dict[str, Any]:
    return r["components"]["cdn"]


def test_origin_cache_control_sets_the_edge_ttl_in_a_run() -> None:
    """max-age 10 s against a 1 h Default TTL: the hit ratio falls; with a 1 h Minimum TTL it is back."""
    long_ = cdn(run("ttl: 1h"))["hit_ratio"]
    short = cdn(run("ttl: 1h, cache_control: {max_age: 10s}"))
    raised = cdn(run("ttl: 1h, min_ttl: 1h, cache_control: {max_age: 10s}"))
    assert short["behaviors"][0]["ttl"] == 10 and raised["behaviors"][0]["ttl"] == 3600
    assert short["hit_ratio"] < long_ - 0.2
    assert raised["hit_ratio"] == pytest.approx(long_, abs=1e-9)
    nocache = cdn(run("ttl: 1h, cache_control: {no_cache: true}"))
    assert nocache["hits"] == 0 and nocache["origin_requests"] == nocache["requests"]


def test_forwarded_headers_multiply_the_key_space_and_cut_the_hit_ratio() -> None:
    """Forwarding a header with 10 values and a cookie with 5: 50 cache keys per URL, so the
    hit ratio falls and the origin gets the misses; the origin requests equal misses exactly."""
    base = cdn(run())
    keyed = cdn(run("ttl: 1h, cache_key: {headers: 10, cookies: 5}"))
    assert keyed["behaviors"][0]["cache_key_variants"] == 50
    assert keyed["hit_ratio"] < base["hit_ratio"] - 0.2
    assert keyed["origin_requests"] == keyed["misses"] > 2 * base["misses"]
    assert keyed["cached_objects"] > 2 * base["cached_objects"]


def test_a_bounded_cache_evicts_and_the_hit_ratio_rises_with_its_size() -> None:
    ratios = []
    for size in ("20MB", "200MB", "2GB"):
        c = cdn(run(top=f"cache_size: {size}"))
        ratios.append(c["hit_ratio"])
        assert c["cached_objects"] <= float(size[:-2]) * (1 if size.endswith("MB") else 1000) + 1e-9
    assert ratios[0] < ratios[1] < ratios[2]
    unbounded = cdn(run())
    assert unbounded["evictions"] == 0 and cdn(run(top="cache_size: 20MB"))["evictions"] > 0
    assert ratios[2] == pytest.approx(unbounded["hit_ratio"], abs=1e-9)  # 2 GB holds all 2,000 objects


def test_origin_shield_cuts_origin_fetches_of_many_edges() -> None:
    plain = cdn(run(top="edges: 8"))
    shield = cdn(run(top="edges: 8\n    origin_shield: true"))
    # the edges miss alike (a shield hit fills its edge a little sooner than an origin fetch)
    assert shield["misses"] == pytest.approx(plain["misses"], rel=0.01)
    assert shield["shield_hits"] > 0
    assert shield["shield_misses"] == shield["misses"] - shield["shield_hits"]
    assert shield["origin_requests"] == shield["shield_misses"] - shield["collapsed"]
    assert shield["origin_requests"] < 0.5 * plain["origin_requests"]
    # at most one origin fetch per object per TTL: 2,000 objects, a 1 h TTL, a 10 min run
    assert shield["origin_requests"] <= 2000


def test_an_invalidation_empties_the_matching_behavior() -> None:
    none = cdn(run())
    inv = cdn(run(top='invalidations: [{at: 300s, paths: ["/files/*"]}]'))
    other = cdn(run(top='invalidations: [{at: 300s, paths: ["/images/*"]}]'))
    assert inv["invalidation_paths"] == 1 and inv["invalidated_objects"] > 500
    assert inv["misses"] > none["misses"] + 300
    assert other["invalidated_objects"] == 0 and other["misses"] == none["misses"]


def test_stale_reads_are_bounded_by_ttl_over_the_update_period() -> None:
    """Objects change every 10 min, TTL 60 s: at most 60/600 = 10 % of hits are stale, and
    more than none; with a 5 s TTL far fewer."""
    long_ = cdn(run("ttl: 60s, update_every: 10m", seconds=1200))
    short = cdn(run("ttl: 5s, update_every: 10m", seconds=1200))
    assert 0 < long_["stale_reads"] <= 0.1 * long_["hits"]
    assert short["stale_reads"] <= (5 / 600) * short["hits"]
    assert short["stale_reads"] < long_["stale_reads"]
    assert cdn(run("ttl: 60s"))["stale_reads"] == 0


def test_object_sizes_and_versions_are_fixed_per_object() -> None:
    sizes = ObjectSizes(min=500e6, max=2e9)
    got = [object_size(k, sizes, None) for k in range(1000)]
    assert all(s is not None and 500e6 <= s <= 2e9 for s in got)
    assert object_size(7, sizes, None) == object_size(7, sizes, None)
    assert version(3, 0.0, None) == version(3, 1e9, None) == 0
    assert version(3, 1200.0, 600.0) - version(3, 0.0, 600.0) == 2


def test_lru_evicts_the_least_recently_used() -> None:
    c = EdgeCache(capacity=3.0)
    for k in (1, 2, 3):
        c.put(k, 100.0, 1.0, 0.0)
    assert c.get(1, 1.0) is not None  # 1 is now the most recent
    c.put(4, 100.0, 1.0, 1.0)
    assert c.get(2, 1.0) is None and c.get(1, 1.0) is not None and c.evictions == 1
    c.put(9, 100.0, 5.0, 1.0)  # larger than the cache: not stored
    assert c.get(9, 1.0) is None and len(c) == 3


@pytest.mark.parametrize(("beh", "top", "msg"), [
    ("ttl: 1h, min_ttl: 2h", "edges: 1", "min_ttl <= ttl"),
    ("ttl: 1h, max_ttl: 10m", "edges: 1", "min_ttl <= ttl"),
    ("ttl: 1h, cache_key: {headers: 0}", "edges: 1", "headers"),
    ("ttl: 1h, object_sizes: {min: 2GB, max: 1GB}", "edges: 1", "max"),
])
def test_bad_specs_are_located(beh: str, top: str, msg: str) -> None:
    with pytest.raises(SpecError, match=msg):
        parse_spec(SPEC.format(beh=beh, top=top, n=10, rate=1, seconds=10))


def test_a_bounded_cache_needs_object_sizes() -> None:
    spec = SPEC.format(beh="ttl: 1h", top="cache_size: 1GB", n=10, rate=1, seconds=10).replace(
        ", response_size: 1MB", "")
    with pytest.raises(SpecError, match="cache_size"):
        parse_spec(spec)


REGIONAL = """
name: cf-regions
components:
  cdn:
    type: cloudfront
    edges: 2
    viewers: {{us: 0.5, eu: 0.2, sa: 0.2, au: 0.1}}
    price_class: {pc}
    behaviors:
      - {{path: "/*", origin: assets, ttl: 1h, key: "zipf(s=1.0, n=500)", response_size: 1MB}}
  assets: {{type: s3}}
workloads:
  w: {{entry: cdn, rate: 50/s}}
simulate: {{duration: 300s, seed: 2}}
"""


def regional(pc: str) -> Any:
    return Simulation(parse_spec(REGIONAL.format(pc=pc))).run()


def test_price_class_moves_viewers_to_cheaper_groups_and_adds_their_round_trip() -> None:
    """PriceClass_All: each viewer group is served (and billed) at home; PriceClass_100 serves South
    America and Australia from the US (the lowest round trip), billed at the US price, slower."""
    full, cheap = regional("PriceClass_All"), regional("PriceClass_100")
    fr, cr = cdn(full)["viewer_regions"], cdn(cheap)["viewer_regions"]
    assert set(fr) == {"US", "EU", "SA", "AU"} and set(cr) == {"US", "EU"}
    n = cdn(full)["requests"]
    assert sum(v["requests"] for v in fr.values()) == n == sum(v["requests"] for v in cr.values())
    assert fr["SA"]["requests"] == pytest.approx(0.2 * n, rel=0.1)
    assert cr["US"]["requests"] == fr["US"]["requests"] + fr["SA"]["requests"] + fr["AU"]["requests"]
    items = {i["usage_type"]: i for i in full["cost"]["items"] if i["component"] == "cdn"}
    assert items["SA-DataTransfer-Out-Bytes"]["quantity"] == pytest.approx(fr["SA"]["bytes_out"] / 2**30)
    assert items["SA-DataTransfer-Out-Bytes"]["usd"] / items["SA-DataTransfer-Out-Bytes"]["quantity"] == \
        pytest.approx(0.11)
    assert not any(i["usage_type"].startswith(("SA-", "AU-")) for i in cheap["cost"]["items"])
    # fewer groups share caches: a higher hit ratio, a lower bill, a slower viewer
    assert cdn(cheap)["hit_ratio"] > cdn(full)["hit_ratio"]
    assert cheap["cost"]["by_component"]["cdn"] < full["cost"]["by_component"]["cdn"]
    assert cheap.workload("w")["latency_ms"]["mean"] > full.workload("w")["latency_ms"]["mean"] + 20


def test_invalidation_paths_beyond_1000_are_billed() -> None:
    paths = ", ".join(f'"/files/{i}"' for i in range(1200))
    r = run(top=f"invalidations: [{{at: 60s, paths: [{paths}]}}]", seconds=120)
    assert cdn(r)["invalidation_paths"] == 1200
    [inv] = [i for i in r["cost"]["items"] if i["usage_type"] == "Invalidations"]
    assert inv["quantity"] == 200 and inv["usd"] == pytest.approx(200 * 0.005)


SLOW_ORIGIN = """
name: cf-collapse
components:
  cdn:
    type: cloudfront
    edges: 8
    origin_shield: {shield}
    behaviors:
      - {{path: "/*", origin: web, ttl: 1h, key: "zipf(s=1.0, n=50)", response_size: 1MB}}
  web:
    type: ec2
    handler: [{{sleep: 2s}}]
workloads:
  w: {{entry: cdn, rate: 200/s}}
simulate: {{duration: 120s, seed: 4}}
"""


def test_origin_shield_collapses_concurrent_misses_into_one_origin_fetch() -> None:
    """A 2 s origin and 8 edges: without the shield every edge's concurrent misses for an object
    each reach the origin; with it, one fetch per object (aws-facts §13 Origin Shield)."""
    plain = cdn(Simulation(parse_spec(SLOW_ORIGIN.format(shield="false"))).run())
    r = Simulation(parse_spec(SLOW_ORIGIN.format(shield="true"))).run()
    shield = cdn(r)
    assert plain["origin_requests"] == plain["misses"] > 200
    assert shield["collapsed"] > 0
    assert shield["origin_requests"] == shield["misses"] - shield["shield_hits"] - shield["collapsed"]
    assert shield["origin_requests"] == r["components"]["web"]["requests"] <= 50  # one per object
    w = r.workload("w")
    assert w["failed"] == 0 and w["succeeded"] + w["in_flight"] == w["requests"]  # every waiter answered


FAILOVER = """
name: cf-failover
components:
  cdn:
    type: cloudfront
    behaviors:
      - {{path: "/*", origin: primary, cache: false, response_size: 1KB{fo}}}
  primary: {{type: s3}}
  backup: {{type: s3}}
workloads:
  w: {{entry: cdn, rate: 20/s}}
faults:
  - {{at: 60s, errors: primary, rate: 1.0, duration: 60s}}
simulate: {{duration: 180s, seed: 5}}
"""


def test_an_origin_group_fails_over_on_its_codes() -> None:
    """The primary bucket fails every request for a minute (500): without an origin group the
    viewers get the errors; with one (codes 500, 502, 503, 504) the backup answers them; with a
    group failing over on 404 only, nothing changes."""
    alone = Simulation(parse_spec(FAILOVER.format(fo=""))).run()
    group = Simulation(parse_spec(FAILOVER.format(fo=", failover: {origin: backup}"))).run()
    only404 = Simulation(parse_spec(FAILOVER.format(fo=", failover: {origin: backup, codes: [404]}"))).run()
    failed = alone.workload("w")["failed"]
    assert failed == pytest.approx(20 * 60, rel=0.15)
    assert group.workload("w")["failed"] == 0
    assert cdn(alone)["behaviors"][0]["origin_errors"] == failed
    assert cdn(group)["failovers"] == failed  # the same seed: the same requests fail at the primary
    assert cdn(group)["behaviors"][0]["origin_errors"] == 0
    assert group["components"]["backup"]["gets"] == cdn(group)["failovers"]
    assert only404.workload("w")["failed"] == failed and cdn(only404)["failovers"] == 0


def test_a_failover_origin_must_be_another_origin() -> None:
    with pytest.raises(SpecError, match="failover origin"):
        parse_spec(FAILOVER.format(fo=", failover: {origin: primary}"))
    with pytest.raises(SpecError, match="failover"):
        parse_spec(FAILOVER.format(fo=", failover: {origin: backup, codes: [418]}"))


EVERYTHING = """
name: cf-all
components:
  cdn:
    type: cloudfront
    edges: 3
    viewers: {us: 0.4, eu: 0.3, jp: 0.2, sa: 0.1}
    price_class: PriceClass_200
    origin_shield: true
    cache_size: 300MB
    invalidations: [{at: 100s, paths: ["/big/*"]}]
    behaviors:
      - {path: "/big/*", origin: web, share: 0.6, ttl: 10m, key: "zipf(s=1.0, n=300)",
         object_sizes: {min: 1MB, max: 50MB}, update_every: 5m, cache_key: {query_strings: 3},
         failover: {origin: bucket}}
      - {path: "/api/*", origin: bucket, share: 0.4, min_ttl: 5s, cache_control: {no_cache: true},
         key: "zipf(s=1.2, n=1000)", response_size: 2KB}
  web:
    type: ec2
    handler: [{sleep: 200ms}]
  bucket: {type: s3}
workloads:
  w: {entry: cdn, rate: 80/s}
faults:
  - {at: 120s, errors: web, rate: 0.5, duration: 30s}
simulate: {duration: 240s, seed: 9}
"""


def test_every_feature_together_is_deterministic_and_conserves_requests() -> None:
    a = Simulation(parse_spec(EVERYTHING)).run()
    b = Simulation(parse_spec(EVERYTHING)).run()
    ca, cb = dict(cdn(a)), dict(cdn(b))
    assert ca == cb and a["cost"]["items"] == b["cost"]["items"]
    w = a.workload("w")
    assert w["requests"] == w["succeeded"] + w["failed"] + w["in_flight"] and w["failed"] == 0  # failover
    assert ca["failovers"] > 0 and ca["invalidated_objects"] > 0 and ca["evictions"] > 0
    assert set(ca["viewer_regions"]) == {"US", "EU", "JP"}  # South America served from the US in class 200
    assert ca["behaviors"][1]["ttl"] == 5  # no-cache with a 5 s Minimum TTL
    big = ca["behaviors"][0]
    assert big["cache_key_variants"] == 3 and big["stale_reads"] <= 600 / 300 * big["hits"]
    served = a["components"]["web"]["requests"] + a["components"]["bucket"]["gets"]
    assert served == ca["origin_requests"] + ca["failovers"]  # each origin fetch, plus each retry at the backup


def test_range_gets_cache_parts_and_serve_their_bytes() -> None:
    """1 GB objects read in 100 MB ranges (CloudFront guide, "How CloudFront processes partial
    requests for an object"): each part is fetched and cached on its own, and a request's bytes
    are its part's: 10 parts per object, so up to 10 times the cache keys and a tenth of the bytes."""
    gb = "ttl: 1h, object_sizes: {min: 1GB, max: 1GB}"
    whole = cdn(run(gb, n=20, rate=20, seconds=300))
    parts = cdn(run(gb + ", range_size: 100MB", n=20, rate=20, seconds=300))
    assert whole["bytes_out"] == pytest.approx(whole["requests"] * 1e9)
    assert parts["bytes_out"] == pytest.approx(parts["requests"] * 1e8)
    assert parts["origin_bytes"] == pytest.approx(parts["origin_requests"] * 1e8)
    assert whole["cached_objects"] <= 20 < parts["cached_objects"] <= 200
    assert parts["misses"] > whole["misses"]
