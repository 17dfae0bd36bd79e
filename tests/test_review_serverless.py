"""The review on serverless and data designs: the graph follows APIs, distributions, streams and the
analytics chain, so rules about fleets see the fleets behind them and path rules see the whole path;
rules about EC2 stay silent on designs without it; and an AZ outage measured on a fleet nothing routes
around is not blamed on static stability."""

from __future__ import annotations

from cloudtwin.review import review
from cloudtwin.review.context import Context
from cloudtwin.review.dynamic import Measured, Scenario
from cloudtwin.spec import load_spec, parse_spec, parse_spec_located

BEHIND = """
name: behind-{front}
zones: [a, b]
components:
  cdn: {{type: cloudfront, behaviors: [{{origin: lb, cache: false}}]}}
  api: {{type: apigateway, api: http, throttle: {{rate: 500/s, burst: 100}}, integration: {{target: lb}}}}
  lb: {{type: alb, targets: web, zones: [a, b]}}
  web:
    type: asg
    instance_type: m5.large
    zones: [a]
    capacity: {{min: 1, max: 1, desired: 1}}
    handler:
      - cpu: 20ms
workloads:
  users: {{entry: {front}, rate: 50/s}}
"""


def ids(text: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in review(parse_spec(text)).findings:
        out.setdefault(f.rule_id, set()).add(f.component or "")
    return out


def test_a_fleet_behind_cloudfront_or_api_gateway_is_reviewed() -> None:
    """A single-zone, fixed-size group behind CloudFront -> ALB (or API Gateway -> ALB) is in scope: before,
    the review stopped at the distribution/API and said nothing about the fleet."""
    for front in ("cdn", "api"):
        got = ids(BEHIND.format(front=front))
        assert got.get("CT-REL-001") == {"web"}, (front, got)  # one zone
        assert got.get("CT-REL-018") == {"web"}, (front, got)  # no scaling
        assert "CT-REL-011" not in got  # entry is not an internet-facing LB/instance/name; API GW throttles


def test_the_graph_follows_the_serverless_and_analytics_links() -> None:
    arch = load_spec("big-data-pipeline")
    ctx = Context(arch)
    assert ctx.reached_from("clickstream") >= {"delivery", "enrich", "lake"}
    assert ctx.reached_from("dashboard") == {"dashboard", "warehouse", "lake"}
    assert ctx.reached_from("reports") == {"reports", "lake"}
    rest = Context(load_spec("serverless-rest"))
    assert rest.reached_from("api") == {"api", "reader", "catalog", "items"}
    kds = Context(load_spec("apigw-kinesis"))
    assert kds.reached_from("ingest") == {"ingest", "clickstream", "process", "failed-clicks"}


def test_serverless_blueprints_get_no_ec2_findings() -> None:
    """No EC2/ASG/ELB rule fires on a design with none. serverless-rest (SDK timeouts on its calls,
    reads through DAX) is clean; apigw-kinesis's spike (3,000 records/s into 2 shards) is the
    one finding it should get, CT-REL-022."""
    assert ids(load_spec_text("serverless-rest")) == {}
    assert ids(load_spec_text("apigw-kinesis")) == {"CT-REL-022": {"clickstream"}}
    assert ids(load_spec_text("big-data-pipeline")) == {"CT-REL-022": {"clickstream"}}


def load_spec_text(name: str) -> str:
    from cloudtwin.blueprints import blueprint_path

    path = blueprint_path(name)
    assert path is not None
    return path.read_text(encoding="utf-8")


DIRECT = """
name: direct
zones: [a, b]
components:
{lb}  producers:
    type: ec2
    count: 2
    zones: [a, b]
    workers: 64
    handler:
      - cpu: 1ms
workloads:
  users: {{entry: {entry}, rate: 100/s}}
"""


def outage(avail: float) -> Measured:
    req = [1000] * 20
    err = [0] * 5 + [round(1000 * (1 - avail))] * 10 + [0] * 5
    data = {"series": {"step_s": 60.0, "t": [60.0 * i for i in range(20)],
                       "workloads": {"users": {"requests": req, "errors": err, "p99_ms": [40.0] * 20}}},
            "workloads": {"users": {"requests": sum(req), "succeeded": sum(req) - sum(err)}},
            "components": {}, "sessions": {"started": 0, "lost": 0}}
    return Measured({"az_outage": Scenario("az_outage", "zone a down", data, (300.0, 900.0), "a")})


def static_stability(text: str, m: Measured) -> list:
    from cloudtwin.review import load_rules

    arch, located = parse_spec_located(text, file="direct.yaml")
    rule = next(r for r in load_rules() if r.id == "CT-REL-012")
    return rule.check(Context(arch, located, m))


def test_an_outage_nothing_routes_around_is_not_a_static_stability_finding() -> None:
    """Workload -> 2 instances in zones a/b with no load balancer: the 50 % lost in the zone-a outage is the
    dead instance still being sent requests (never detected: CT-PERF-002's finding), not a lack of capacity
    (the instance left is 0 % busy). Behind an ALB the same measurement still fails the rule."""
    direct = DIRECT.format(lb="", entry="producers")
    assert static_stability(direct, outage(0.5)) == []
    assert "CT-PERF-002" in ids(direct)
    behind = DIRECT.format(lb="  lb: {type: alb, targets: producers}\n", entry="lb")
    found = static_stability(behind, outage(0.5))
    assert [f.component for f in found] == ["producers"] and "50.0%" in found[0].message
