"""API Gateway: the account token bucket, stage and method throttles, the integration timeout,
the REST response cache, HTTPS only, and a throttle above the account limit (a warning)."""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Simulation, SpecError, parse_spec
from cloudtwin.spec import parse_spec_located, spec_warnings


def run(text: str) -> Any:
    return Simulation(parse_spec(text)).run()


BURST = """
name: b
components:
  api:
    type: apigateway
    integration: {{target: q, op: send}}
    {throttle}
  q: {{type: sqs}}
workloads:
  w:
    entry: api
    rate: {rate}/s
    arrivals: constant
    profile: {{type: spike, at: {seconds}s, duration: 600s, factor: 0}}
simulate: {{duration: {end}s}}
"""


def burst(rate: float, seconds: float, throttle: str = "") -> Any:
    return run(BURST.format(rate=rate, seconds=seconds, end=seconds + 5, throttle=throttle))


def test_the_account_bucket_passes_its_burst_plus_its_rate() -> None:
    """10,000 requests/s with a 5,000 burst [aws-facts §10]: 20,000 requests in one second
    pass 5,000 + 10,000 and the rest are throttled (429)."""
    res = burst(20_000, 1)
    api, w = res.component("api"), res.workload("w")
    assert api["requests"] == pytest.approx(20_000, abs=2)
    assert api["accepted"] == pytest.approx(15_000, rel=0.01)
    assert w["errors"]["throttled"] == api["throttled"] == pytest.approx(5_000, rel=0.01)
    assert api["throttled_by"]["account"] == api["throttled"]
    assert res["messages"]["published"] == api["accepted"]  # a throttled request sends nothing


def test_the_account_rate_holds_in_steady_state() -> None:
    res = burst(15_000, 10)
    assert res.component("api")["accepted"] == pytest.approx(5_000 + 100_000, rel=0.01)


def test_stage_and_method_throttles() -> None:
    """A stage throttle of 100/s with a burst of 50: 300/s for 10 s passes 50 + 1,000. A
    method throttle overrides the stage's."""
    res = burst(300, 10, "throttle: {rate: 100/s, burst: 50}")
    api = res.component("api")
    assert api["accepted"] == pytest.approx(1_050, rel=0.01)
    assert api["throttled_by"] == {"account": 0, "method": api["throttled"]}
    res = burst(300, 10, "throttle: {rate: 100/s, burst: 50}\n    method_throttle: {rate: 200/s, burst: 10}")
    assert res.component("api")["accepted"] == pytest.approx(2_010, rel=0.01)


SLOW = """
name: t
components:
  api:
    type: apigateway
    api: {api}
    integration: {{target: fn{timeout}}}
  fn:
    type: lambda
    timeout: 60s
    provisioned_concurrency: 200  # no cold starts
    handler: [{{sleep: {sleep}}}]
workloads:
  w: {{entry: api, rate: 5/s, arrivals: constant}}
simulate: {{duration: 2m}}
"""


@pytest.mark.parametrize("api, limit", [("rest", 29.0), ("http", 30.0)])
def test_a_slow_integration_times_out_at_the_integration_timeout(api: str, limit: float) -> None:
    """The default integration timeout is the API type's maximum: 29 s for REST [aws-facts §10],
    30 s for HTTP APIs. A function 0.5 s slower than that: every request gets a 504
    ``timeout``; 0.5 s faster: every request succeeds."""
    res = run(SLOW.format(api=api, timeout="", sleep=f"{limit + 0.5}s"))
    w, a = res.workload("w"), res.component("api")
    done = w["succeeded"] + w["failed"]
    assert done > 400 and w["succeeded"] == 0 and w["errors"]["timeout"] == done == a["integration_timeouts"]
    ok = run(SLOW.format(api=api, timeout="", sleep=f"{limit - 0.5}s")).workload("w")
    assert ok["errors"]["timeout"] == 0 and ok["succeeded"] > 400
    assert ok["latency_ms"]["p50"] == pytest.approx((limit - 0.5) * 1000, abs=100)
    fast = run(SLOW.format(api=api, timeout=", timeout: 1s", sleep="1.2s")).workload("w")
    assert fast["errors"]["timeout"] > 500 and fast["succeeded"] == 0


def test_timeouts_above_the_api_maximum_and_a_cache_on_an_http_api_are_spec_errors() -> None:
    with pytest.raises(SpecError, match="at most 29s"):
        parse_spec(SLOW.format(api="rest", timeout=", timeout: 31s", sleep="1s"))
    with pytest.raises(SpecError, match="only REST APIs have a response cache"):
        parse_spec(SLOW.format(api="http", timeout="", sleep="1s").replace(
            "    api: http\n", "    api: http\n    cache: {ttl: 60s}\n"))
    with pytest.raises(SpecError, match="protocol"):
        parse_spec(SLOW.format(api="rest", timeout="", sleep="1s").replace(
            "    api: rest\n", "    api: rest\n    protocol: http\n"))


CACHED = """
name: c
components:
  api:
    type: apigateway
    cache: {{ttl: {ttl}, key: "uniform(0, 100)"}}
    integration: {{target: fn}}
  fn:
    type: lambda
    handler: [{{sleep: 20ms}}]
workloads:
  w: {{entry: api, rate: 50/s}}
simulate: {{duration: 60s}}
"""


@pytest.mark.parametrize("ttl, misses", [("300s", 100), ("10s", 600)])
def test_the_response_cache_answers_repeats_within_its_ttl(ttl: str, misses: int) -> None:
    """100 keys requested 50 times a second: with the default 300 s TTL each key reaches the
    function once in a minute; with 10 s about once per 10 s (each key is asked every 2 s)."""
    res = run(CACHED.format(ttl=ttl))
    c, fn = res.component("api")["cache"], res.component("fn")
    assert c["misses"] == fn["invocations"]
    assert c["misses"] == pytest.approx(misses, rel=0.12)
    assert c["hits"] + c["misses"] == res.workload("w")["requests"]


def test_a_ttl_of_0_disables_the_cache() -> None:
    res = run(CACHED.format(ttl="0s"))
    assert res.component("fn")["invocations"] == res.workload("w")["requests"]
    assert res.component("api")["cache"]["hits"] == 0


def test_a_throttle_above_the_account_limit_is_a_warning_not_an_error() -> None:
    text = BURST.format(rate=10, seconds=1, end=2, throttle="throttle: {rate: 20000/s, burst: 5000}")
    arch, located = parse_spec_located(text, file="api.yaml")
    warns = spec_warnings(arch, located)
    assert len(warns) == 1
    w = str(warns[0])
    assert "api.yaml:7" in w and "above the account throttle 10000/s" in w


@pytest.mark.parametrize("integration, message", [
    ("{target: q, op: put}", "a sqs integration takes op 'send'"),
    ("{target: nowhere}", "integration target 'nowhere' must be one of"),
    ("{target: q, op: send, key: \"uniform(1, 9)\"}", "applies to a kinesis integration"),
    ("{target: q, op: send}, authorizer: {function: q}", "authorizer 'q' must be a lambda function"),
])
def test_bad_integrations_are_spec_errors(integration: str, message: str) -> None:
    text = f"name: i\ncomponents:\n  api: {{type: apigateway, integration: {integration}}}\n  q: {{type: sqs}}\n"
    with pytest.raises(SpecError, match=message):
        parse_spec(text)


def test_apis_share_the_account_bucket() -> None:
    """Two APIs at 10,000/s each for one second: together they pass the account's 5,000 burst
    plus 10,000, not twice that [aws-facts §10: per account per Region]."""
    res = run("""
name: two
components:
  a: {type: apigateway, integration: {target: q, op: send}}
  b: {type: apigateway, integration: {target: q, op: send}}
  q: {type: sqs}
workloads:
  wa: {entry: a, rate: 10000/s, arrivals: constant, profile: {type: spike, at: 1s, duration: 60s, factor: 0}}
  wb: {entry: b, rate: 10000/s, arrivals: constant, profile: {type: spike, at: 1s, duration: 60s, factor: 0}}
simulate: {duration: 3s}
""")
    passed = res.component("a")["accepted"] + res.component("b")["accepted"]
    assert passed == pytest.approx(15_000, rel=0.01)


def test_a_load_balancer_integration_and_request_billing() -> None:
    res = run("""
name: lb
components:
  api: {type: apigateway, api: http, integration: {target: web}}
  web: {type: alb, targets: app, zones: [a, b]}
  app: {type: ec2, count: 2, zones: [a], handler: [{cpu: 10ms}]}
workloads:
  w: {entry: api, rate: 50/s}
simulate: {duration: 60s}
""")
    w = res.workload("w")
    assert w["failed"] == 0 and w["succeeded"] > 2_500
    assert w["latency_ms"]["p50"] == pytest.approx(10 + 2 * 5, abs=8)  # the handler + API Gateway's draws
    item = next(i for i in res["cost"]["items"] if i["component"] == "api")
    assert item["usage_type"] == "ApiGatewayHttpRequest" and item["quantity"] == res.component("api")["accepted"]


AUTH = """
name: au
components:
  api:
    type: apigateway
    authorizer: {{function: auth, ttl: {ttl}, identities: "uniform(0, 100)", deny: 0.2}}
    integration: {{target: q, op: send}}
  auth:
    type: lambda
    error_rate: {errors}
    handler: [{{sleep: 5ms}}]
  q: {{type: sqs}}
workloads:
  w: {{entry: api, rate: 50/s}}
simulate: {{duration: 60s}}
"""


def denied_share(n: int, deny: float) -> float:
    return sum((i * 2654435761 % 2**32) / 2**32 < deny for i in range(n)) / n


def test_a_lambda_authorizer_denies_its_share_of_identities_and_caches_decisions() -> None:
    """100 identities, 20 % denied by the function: about 20 % of requests are rejected (403),
    and with a 300 s TTL each identity costs one invocation in the minute."""
    res = run(AUTH.format(ttl="300s", errors=0))
    w, a = res.workload("w"), res.component("api")
    share = denied_share(100, 0.2)
    assert 0.1 < share < 0.3
    assert w["errors"]["rejected"] / w["requests"] == pytest.approx(share, abs=0.03)
    calls = a["authorizer"]["invocations"]
    # one per identity, plus a few for a repeat that came while the first call still ran
    assert 100 <= calls <= 110 and calls == res.component("auth")["invocations"]
    assert a["authorizer"]["cached"] + calls == a["accepted"]
    # only allowed requests reach the queue (a send may be on its way back at the end)
    assert w["succeeded"] <= res["messages"]["published"] <= w["succeeded"] + w["in_flight"]
    uncached = run(AUTH.format(ttl="0s", errors=0)).component("api")
    assert uncached["authorizer"]["invocations"] == uncached["accepted"]


def test_a_failing_authorizer_is_a_server_error() -> None:
    res = run(AUTH.format(ttl="300s", errors=1))
    w = res.workload("w")
    assert w["succeeded"] == 0 and w["errors"]["server_error"] == w["failed"] > 2_500
    assert res["messages"]["published"] == 0
