"""CloudFront (minimal): the edge cache's hit ratio against TTL and key skew (and against
the exact TTL-cache formula), origin requests equal to misses, uncached behaviors, the
origin cut by a cached static behavior, edge locations, origin timeouts and connection
attempts, the origin-facing source IP, billing, and bad specs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cloudtwin import Simulation, SpecError, parse_spec
from cloudtwin.metering import bill
from cloudtwin.pricing.table import Price, PriceTable

STATIC = """
name: cf
components:
  cdn:
    type: cloudfront
    edges: {edges}
    behaviors:
      - {{path: "/static/*", origin: assets, ttl: {ttl}, key: "zipf(s={s}, n={n})", response_size: 100KB}}
  assets: {{type: s3}}
workloads:
  w: {{entry: cdn, rate: {rate}/s{extra}}}
simulate: {{duration: {seconds}s}}
"""


def static(ttl: str = "86400s", s: float = 1.1, n: int = 10_000, rate: float = 100, seconds: float = 600,
           edges: int = 1, extra: str = "") -> Any:
    return Simulation(parse_spec(STATIC.format(ttl=ttl, s=s, n=n, rate=rate, seconds=seconds, edges=edges,
                                               extra=extra))).run()


def ttl_hit_ratio(rate: float, ttl: float, s: float, n: int) -> float:
    """Steady-state hit ratio of a TTL cache (TTL counted from the miss that fills it) under
    Poisson requests: key k, asked at rate r_k, is a hit with probability r_k T / (1 + r_k T)
    (a renewal cycle is one miss, T of hits, then the wait for the next request)."""
    p = np.arange(1, n + 1, dtype=float) ** -s
    p /= p.sum()
    r = rate * p
    return float((p * r * ttl / (1 + r * ttl)).sum())


def test_the_hit_ratio_matches_the_ttl_cache_formula() -> None:
    """100 requests/s over zipf(1.1, 10,000) keys with a 10 s TTL: after the first minute the
    measured hit ratio is within 1 point of the renewal formula (about 0.63)."""
    res = static(ttl="10s", seconds=900)
    expect = ttl_hit_ratio(100, 10, 1.1, 10_000)
    assert 0.6 < expect < 0.66
    series = res["series"]["components"]["cdn"]["hit_ratio"]
    assert len(series) == 15
    assert float(np.mean(series[1:])) == pytest.approx(expect, abs=0.01)


@pytest.mark.slow
def test_the_hit_ratio_rises_with_ttl_and_skew_and_origin_requests_equal_misses() -> None:
    ratios = {}
    for ttl, s in (("10s", 1.1), ("60s", 1.1), ("600s", 1.1), ("60s", 0.8), ("60s", 1.4)):
        res = static(ttl=ttl, s=s)
        cdn = res.component("cdn")
        b = cdn["behaviors"][0]
        assert cdn["origin_requests"] == b["origin_requests"] == cdn["misses"] == res.component("assets")["requests"]
        assert cdn["hits"] + cdn["misses"] == cdn["requests"]
        ratios[ttl, s] = cdn["hit_ratio"]
    assert ratios["10s", 1.1] + 0.1 < ratios["60s", 1.1] < ratios["600s", 1.1] - 0.05
    assert ratios["60s", 0.8] + 0.2 < ratios["60s", 1.1] < ratios["60s", 1.4] - 0.1


def test_an_uncached_behavior_forwards_every_request() -> None:
    for ttl in ("0s", "86400s\n        cache: false"):
        spec = STATIC.format(ttl=ttl, s=1.1, n=100, rate=50, seconds=120, edges=1, extra="")
        if "cache: false" in ttl:  # the flow mapping cannot hold a newline: write the key inline
            spec = spec.replace("ttl: 86400s\n        cache: false", "ttl: 86400s, cache: false")
        res = Simulation(parse_spec(spec)).run()
        cdn = res.component("cdn")
        assert cdn["hits"] == 0 and cdn["misses"] == 0
        assert cdn["origin_requests"] == cdn["requests"] == res.component("assets")["requests"] > 5_500
        assert cdn["behaviors"][0]["cached"] is False


MIXED = """
name: mixed
components:
  cdn:
    type: cloudfront
    behaviors:
      - {{path: "/static/*", origin: assets, share: 0.8, ttl: 86400s, cache: {cache}, response_size: 50KB}}
      - {{path: "/api/*", origin: api, share: 0.2, cache: false, response_size: 2KB}}
  assets: {{type: s3}}
  api:
    type: apigateway
    integration: {{target: fn}}
  fn: {{type: lambda, handler: [{{sleep: 20ms}}]}}
workloads:
  w: {{entry: cdn, rate: 200/s}}
simulate: {{duration: 300s}}
"""


@pytest.mark.slow
def test_a_cached_static_behavior_cuts_origin_requests_by_its_hit_ratio() -> None:
    """80 % static from S3 (cached 24 h), 20 % API (uncached): the same traffic with and
    without the static cache. S3's requests fall by exactly the static hit ratio; the API
    sees every API request either way."""
    runs = {c: Simulation(parse_spec(MIXED.format(cache=c))).run() for c in ("true", "false")}
    on, off = (runs[c].component("cdn") for c in ("true", "false"))
    s_on, s_off = on["behaviors"][0], off["behaviors"][0]
    assert s_on["requests"] == s_off["requests"] == pytest.approx(0.8 * on["requests"], rel=0.02)
    assert on["behaviors"][1]["requests"] == pytest.approx(0.2 * on["requests"], rel=0.03)
    s3_on, s3_off = runs["true"].component("assets")["requests"], runs["false"].component("assets")["requests"]
    assert s3_off == s_off["requests"]
    assert s3_on == s_on["requests"] - s_on["hits"]
    assert s3_on / s3_off == pytest.approx(1 - s_on["hit_ratio"], abs=1e-6)
    assert s_on["hit_ratio"] > 0.85
    for r in runs.values():
        assert r.component("api")["requests"] == r.component("cdn")["behaviors"][1]["requests"]
    # hits answer at the edge: the static cache makes the median request faster
    assert on["latency_ms"]["p50"] < off["latency_ms"]["p50"]


def test_each_edge_location_has_its_own_cache() -> None:
    """Clients spread over 4 edges: each edge fills its own cache, so the same traffic
    misses far more often than with one edge (here mostly first requests per edge)."""
    one = static(ttl="3600s", s=0.8, rate=50, seconds=300, edges=1, extra=", clients: 1000").component("cdn")
    four = static(ttl="3600s", s=0.8, rate=50, seconds=300, edges=4, extra=", clients: 1000").component("cdn")
    assert one["requests"] == four["requests"]
    assert four["misses"] > 1.5 * one["misses"]
    assert four["cached_objects"] == four["misses"] > one["cached_objects"] == one["misses"]


ORIGIN = """
name: timeouts
zones: [a, b]
components:
  cdn:
    type: cloudfront
    behaviors: [{{path: "/*", origin: app, cache: false}}]
  app: {{type: ec2, zones: [a], handler: [{{sleep: {sleep}}}]}}
workloads:
  w: {{entry: cdn, rate: 10/s, arrivals: constant}}
{faults}
simulate: {{duration: 200s}}
"""


def test_a_slow_origin_times_out_after_the_response_timeout() -> None:
    """An origin taking 40 s: every viewer gets 504 (timeout) after 30 s, so at the end the
    last 30 s of requests (300 at 10/s) are still waiting."""
    res = Simulation(parse_spec(ORIGIN.format(sleep="40s", faults=""))).run()
    cdn, w = res.component("cdn"), res.workload("w")
    assert w["succeeded"] == 0
    assert cdn["timeouts"] == pytest.approx(2_000 - 300, abs=2)
    assert w["errors"]["timeout"] == pytest.approx(cdn["timeouts"], abs=2)  # the last few still at the edge
    assert w["in_flight"] == pytest.approx(300, abs=2)
    fast = Simulation(parse_spec(ORIGIN.format(sleep="25s", faults=""))).run().workload("w")
    assert fast["errors"]["timeout"] == 0 and fast["succeeded"] == pytest.approx(2_000 - 250, abs=2)


def test_an_unreachable_instance_origin_costs_three_connection_attempts() -> None:
    """The origin's zone is down: each request tries to connect 3 times, 10 s apart, then
    the viewer gets 504 (timeout): 2 retries per request, and the last 30 s still waiting."""
    res = Simulation(parse_spec(ORIGIN.format(
        sleep="10ms", faults="faults: [{at: 0s, az_outage: a, duration: 1000s}]"))).run()
    cdn, w = res.component("cdn"), res.workload("w")
    assert w["errors"]["timeout"] == pytest.approx(2_000 - 300, abs=2)
    assert w["in_flight"] == pytest.approx(300, abs=2)
    # 2 retries each, except the last 10 s of requests (100) whose second retry is still to come
    assert cdn["origin_retries"] == pytest.approx(2 * cdn["requests"] - 100, abs=2)


@pytest.mark.python_only
def test_the_origin_sees_a_cloudfront_address() -> None:
    sim = Simulation(parse_spec(STATIC.format(ttl="0s", s=1.1, n=10, rate=20, seconds=10, edges=1, extra="")))
    assets = sim.components["assets"]
    seen: set[str] = set()
    inner = assets.handle

    def spy(req: Any, op: str, done: Any, arg: Any = None) -> None:
        seen.add(req.src_ip)
        assert op == "get" and isinstance(arg, int) and 1 <= arg <= 10  # a GET of the drawn key
        inner(req, op, done, arg)

    assets.handle = spy  # type: ignore[method-assign]
    sim.run()
    assert seen == {"cloudfront-0"}


def test_transfer_out_and_requests_are_billed() -> None:
    """Every successful answer carries response_size (100 KB): GB out x $0.085 [aws-facts §19]."""
    sim = Simulation(parse_spec(STATIC.format(ttl="60s", s=1.1, n=10_000, rate=50, seconds=120, edges=1, extra="")))
    res = sim.run()
    cdn, w = res.component("cdn"), res.workload("w")
    assert cdn["bytes_out"] == pytest.approx(w["succeeded"] * 100_000, abs=w["in_flight"] * 100_000)
    table = PriceTable([Price("us-east-1", "cloudfront", "US-DataTransfer-Out-Bytes", "GB", 0.085, "t", "", "weak"),
                        Price("us-east-1", "cloudfront", "US-Requests-Tier2-HTTPS", "request", 1e-6, "t", "", "weak")])
    items = {i["usage_type"]: i for i in bill(sim, table)["items"] if i["component"] == "cdn"}
    assert items["US-DataTransfer-Out-Bytes"]["quantity"] == pytest.approx(cdn["bytes_out"] / 2**30, rel=1e-6)
    assert items["US-DataTransfer-Out-Bytes"]["usd"] == pytest.approx(cdn["bytes_out"] / 2**30 * 0.085, rel=1e-4)
    assert items["US-Requests-Tier2-HTTPS"]["quantity"] == cdn["requests"]


def test_viewer_egress_is_billed_once_by_cloudfront_not_again_as_internet_egress() -> None:
    """A workload entering CloudFront with response_size: its bytes are CloudFront's transfer
    out, so the network line (EC2-style internet egress) must not count them a second time."""
    sim = Simulation(parse_spec(STATIC.format(ttl="60s", s=1.1, n=10_000, rate=50, seconds=60, edges=1,
                                              extra=", response_size: 100KB")))
    sim.run()
    table = PriceTable([Price("us-east-1", "cloudfront", "US-DataTransfer-Out-Bytes", "GB", 0.085, "t", "", "weak")])
    items = bill(sim, table)["items"]
    assert [i["component"] for i in items if i["usage_type"] == "DataTransfer-Out-Bytes"] == []
    assert [i for i in items if i["component"] == "cdn" and i["usage_type"] == "US-DataTransfer-Out-Bytes"]


@pytest.mark.parametrize(("behaviors", "message"), [
    ('[{origin: assets, share: 0.5}, {origin: assets, share: 0.3}]', "sum to 1"),
    ('[{origin: fn}]', "must be one of s3, apigateway, alb, nlb, ec2, asg"),
    ('[{origin: nothing}]', "not a component"),
    ('[{origin: assets, ttl: 400d}]', "31536000"),
    ('[]', "at least 1"),
    ('[{origin: assets, shares: 1}]', "did you mean 'share'"),
])
def test_bad_behaviors_are_refused(behaviors: str, message: str) -> None:
    spec = f"""
name: bad
components:
  cdn: {{type: cloudfront, behaviors: {behaviors}}}
  assets: {{type: s3}}
  fn: {{type: lambda, handler: [{{sleep: 1ms}}]}}
workloads:
  w: {{entry: cdn, rate: 1/s}}
"""
    with pytest.raises(SpecError, match=message):
        parse_spec(spec)
