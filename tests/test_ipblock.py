"""Network ACLs, WAF web ACLs, CloudFront geo restriction and traffic origins, each behaviour
against its documented source (aws-facts §14 unless said otherwise)."""

from __future__ import annotations

from typing import Any

import pytest

import cloudtwin
from cloudtwin.errors import SpecError
from cloudtwin.origins import address
from cloudtwin.services.network_acl import IMPLICIT, compile_rules, ephemeral_port, first_match
from cloudtwin.spec.network_acl import AclRule

FLEET = "web: {type: asg, capacity: {min: 2, max: 2}, handler: [{cpu: exp(2ms)}]}"


def run(text: str) -> cloudtwin.Results:
    return cloudtwin.Simulation(cloudtwin.parse_spec(text)).run()


def nacl_spec(inbound: str, outbound: str = "[{rule: 100, action: allow, ports: 1024-65535}]",
              entry: str = "nlb") -> str:
    return f"""
name: n
components:
  nlb: {{type: nlb, targets: web}}
  {FLEET}
  acl: {{type: network_acl, protects: [web], inbound: {inbound}, outbound: {outbound}}}
workloads:
  u:
    entry: {entry}
    rate: 20/s
    sources: {{ips: 198.51.100.0/24}}
    attack: {{rate: 20/s, ips: 203.0.113.0/24, addresses: 4}}
simulate: {{duration: 2m}}
"""


# ---- network ACLs: order, implicit deny, statelessness [aws-facts §14 NACL semantics] -----------

def rules(*rows: tuple[int, str, str]) -> Any:
    return compile_rules([AclRule(rule=n, action=a, cidr=c) for n, a, c in rows])  # type: ignore[arg-type]


def test_the_lowest_numbered_matching_rule_decides_whatever_the_order_written() -> None:
    a = address("203.0.113.9")
    allow_first = rules((110, "deny", "203.0.113.0/24"), (100, "allow", "203.0.113.0/24"))
    deny_first = rules((100, "deny", "203.0.113.0/24"), (110, "allow", "0.0.0.0/0"))
    assert first_match(allow_first, a, 80) == ("100", True)
    assert first_match(deny_first, a, 80) == ("100", False)
    assert first_match(deny_first, address("198.51.100.1"), 80) == ("110", True)


def test_no_matching_rule_is_the_implicit_deny() -> None:
    only_private = rules((100, "allow", "10.0.0.0/8"))
    assert first_match(only_private, address("203.0.113.9"), 80) == (IMPLICIT, False)
    # a proxy's address given as a name (CloudFront's) is only in 0.0.0.0/0
    assert first_match(only_private, address("cloudfront-0"), 80) == (IMPLICIT, False)
    assert first_match(rules((100, "allow", "0.0.0.0/0")), address("cloudfront-0"), 80) == ("100", True)


def test_a_deny_on_the_attacker_block_refuses_only_the_attacker_when_the_fleet_sees_clients() -> None:
    r = run(nacl_spec("[{rule: 100, action: deny, cidr: 203.0.113.0/24}, {rule: 200, action: allow}]"))
    w, acl = r.workload("u"), r.component("acl")
    att = w["attack"]
    assert att["requests"] > 2000 and att["blocked"] == {"acl": att["requests"]} and att["leaked"] == 0
    assert att["errors"] == {"unavailable": att["requests"]}  # dropped: no connection
    assert w["failed"] == 0 and w["refused"] == {}
    assert acl["inbound_rules_matched"] == {"100": att["requests"], "200": w["requests"]}


def test_an_acl_is_stateless_replies_need_an_outbound_rule_for_ephemeral_ports() -> None:
    # inbound allows everything; outbound allows port 80 only: every reply (to an ephemeral port) is lost
    r = run(nacl_spec("[{rule: 100, action: allow}]", "[{rule: 100, action: allow, ports: '80'}]"))
    w, acl = r.workload("u"), r.component("acl")
    done = w["requests"] - w["in_flight"]
    assert w["succeeded"] == 0 and w["errors"]["timeout"] == done > 2000
    att = w["attack"]
    assert acl["outbound_rules_matched"] == {IMPLICIT: done + att["requests"] - att["in_flight"]}
    assert acl["dropped_outbound"]["legitimate"] == done
    # the ports 1024-65535 cover every ephemeral port [aws-facts §14 Ephemeral ports]
    ok = run(nacl_spec("[{rule: 100, action: allow}]"))
    assert ok.workload("u")["failed"] == 0
    assert all(32768 <= ephemeral_port(f"198.51.100.{i}") <= 61000 for i in range(256))


def test_behind_an_alb_the_acl_sees_the_load_balancer_and_cannot_block_the_client() -> None:
    spec = nacl_spec("[{rule: 100, action: deny, cidr: 203.0.113.0/24}, {rule: 200, action: allow}]")
    spec = spec.replace("nlb: {type: nlb", "alb: {type: alb").replace("entry: nlb", "entry: alb")
    r = run(spec)
    att = r.workload("u")["attack"]
    assert att["blocked"] == {} and att["leaked"] == att["requests"] > 2000
    # a deny on the ALB's subnet addresses instead refuses everyone: its nodes are 10.0.x.y
    r2 = run(spec.replace("cidr: 203.0.113.0/24", "cidr: 10.0.0.0/16"))
    w2 = r2.workload("u")
    assert w2["succeeded"] == 0 and w2["refused"] == {"acl": w2["requests"]}


# ---- WAF rate-based rules [aws-facts §14 WAF rate-based rule] -----------------------------------

def waf_spec(rule: str, attack: str, entry: str = "lb", extra: str = "") -> str:
    return f"""
name: w
components:
  lb: {{type: alb, targets: web}}
  {FLEET}
  acl: {{type: waf, protects: [{entry}], rules: [{rule}]}}
{extra}
workloads:
  u:
    entry: {entry}
    rate: 5/s
    sources: {{ips: 198.51.100.0/22}}
    attack: {attack}
simulate: {{duration: 20m}}
"""


@pytest.mark.parametrize(("window", "blocked"), [("60s", False), ("10m", True)])
def test_the_rate_rule_counts_over_its_window(window: str, blocked: bool) -> None:
    # one address at 0.1 request/s: 6 requests a minute, 60 in ten minutes; limit 30
    r = run(waf_spec(f"{{name: rate, priority: 1, rate: {{limit: 30, window: {window}}}}}",
                     "{rate: 0.1/s, pattern: crawl, addresses: 1, start: 5s}"))
    rule = r.component("acl")["rules"]["rate"]
    if not blocked:
        assert rule["first_over_limit_s"] is None and rule["blocked"]["attack"] == 0
    else:
        # requests at 5, 15, 25 s...: over 30 with the 31st (305 s), found at the next 10 s check
        assert rule["first_over_limit_s"] == 310.0
        assert rule["blocked"]["attack"] > 0
    assert rule["blocked"]["legitimate"] == 0  # 5/s spread over 1024 addresses


def test_the_rate_rule_blocks_within_limit_over_rate_plus_one_check_and_releases_later() -> None:
    r = run(waf_spec("{name: rate, priority: 1, rate: {limit: 100, window: 60s}}",
                     "{rate: 10/s, addresses: 1, start: 2m, duration: 5m}"))
    rule = r.component("acl")["rules"]["rate"]
    t = rule["first_over_limit_s"]
    assert 120 + 100 / 10 <= t <= 120 + 100 / 10 + 10
    att = r.workload("u")["attack"]
    # leaked: the attack's requests before the check that found it (about 10/s), nothing after
    assert att["leaked"] == pytest.approx(10 * (t - 120), rel=0.15)
    assert att["leaked"] + att["blocked"]["acl"] == att["requests"]
    assert rule["keys_over_limit"] == 0  # released once the window emptied after the attack


def test_behind_cloudfront_an_alb_waf_sees_cloudfront_unless_it_reads_x_forwarded_for() -> None:
    cdn = "  cdn: {type: cloudfront, behaviors: [{origin: lb, cache: false}]}"
    spec = waf_spec("{name: bad, priority: 1, ip_set: [203.0.113.0/24]}", "{rate: 5/s}", extra=cdn)
    spec = spec.replace("    entry: lb", "    entry: cdn")
    att = run(spec).workload("u")["attack"]
    assert att["blocked"] == {} and att["leaked"] == att["requests"] > 1000
    fwd = run(spec.replace("ip_set: [203.0.113.0/24]", "ip_set: [203.0.113.0/24], forwarded_ip: true"))
    att2 = fwd.workload("u")["attack"]
    assert att2["leaked"] == 0 and att2["blocked"] == {"acl": att2["requests"]}


def test_geo_rules_and_geo_restriction_refuse_by_country_with_collateral() -> None:
    spec = waf_spec("{name: geo, priority: 1, geo: [CN]}", "{rate: 5/s, country: CN}")
    spec = spec.replace("sources: {ips: 198.51.100.0/22}",
                        "sources: {ips: 198.51.100.0/22, countries: {US: 0.8, CN: 0.2}}")
    r = run(spec)
    w = r.workload("u")
    assert w["attack"]["leaked"] == 0
    assert w["refused"]["acl"] / w["requests"] == pytest.approx(0.2, abs=0.03)  # the CN viewers
    cdn = """
components:
  cdn:
    type: cloudfront
    behaviors: [{origin: web, cache: false}]
    geo_restriction: {type: allowlist, countries: [US]}
  """ + FLEET + """
workloads:
  u: {entry: cdn, rate: 5/s, sources: {ips: 198.51.100.0/22, countries: {US: 0.8, CN: 0.2}}, attack: {rate: 5/s}}
simulate: {duration: 10m}
"""
    r2 = run("name: g" + cdn)
    w2 = r2.workload("u")
    assert w2["refused"]["cdn.geo_restriction"] / w2["requests"] == pytest.approx(0.2, abs=0.03)
    assert w2["attack"]["blocked"] == {}  # no country known for the attacker: served (assumption)


def test_a_managed_group_matches_its_stated_detection_rate() -> None:
    r = run(waf_spec("{name: m, priority: 1, managed: {detection: 0.9, false_positive: 0.01}}", "{rate: 10/s}"))
    w = r.workload("u")
    assert w["attack"]["blocked"]["acl"] / w["attack"]["requests"] == pytest.approx(0.9, abs=0.01)
    assert w["refused"]["acl"] / w["requests"] == pytest.approx(0.01, abs=0.005)


def test_same_seed_same_results() -> None:
    spec = waf_spec("{name: rate, priority: 1, rate: {limit: 100, window: 60s}}", "{rate: 10/s, addresses: 3}")
    a, b = run(spec), run(spec)
    assert a.workload("u") == b.workload("u") and a.component("acl") == b.component("acl")


# ---- bad input: located errors ---------------------------------------------------------------

@pytest.mark.parametrize(("old", "new", "message"), [
    ("window: 60s", "window: 90s", "60, 120, 300 or 600"),
    ("limit: 100", "limit: 5", "greater than or equal to 10"),
    ("protects: [lb]", "protects: [web]", "expected cloudfront or alb or apigateway"),
    ("rate: {limit: 100, window: 60s}", "ip_set: [not-an-ip]", "not an IPv4 CIDR"),
])
def test_bad_waf_specs_are_located_errors(old: str, new: str, message: str) -> None:
    spec = waf_spec("{name: rate, priority: 1, rate: {limit: 100, window: 60s}}", "{rate: 1/s}")
    with pytest.raises(SpecError, match=message) as exc:
        cloudtwin.parse_spec(spec.replace(old, new))
    assert "components" in str(exc.value)


def test_one_web_acl_cannot_span_cloudfront_and_regional_resources() -> None:
    cdn = "  cdn: {type: cloudfront, behaviors: [{origin: lb, cache: false}]}"
    spec = waf_spec("{name: r, priority: 1, ip_set: [203.0.113.0/24]}", "{rate: 1/s}", extra=cdn)
    with pytest.raises(SpecError, match="either for CloudFront"):
        cloudtwin.parse_spec(spec.replace("protects: [lb]", "protects: [lb, cdn]"))


@pytest.mark.parametrize(("inbound", "message"), [
    ("[{rule: 100, action: allow}, {rule: 100, action: deny}]", "used twice"),
    ("[" + ", ".join(f"{{rule: {i}, action: allow}}" for i in range(1, 22)) + "]", "over the quota of 20"),
    ("[{rule: 32767, action: allow}]", "less than or equal to 32766"),
])
def test_bad_acl_specs_are_located_errors(inbound: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        cloudtwin.parse_spec(nacl_spec(inbound))


def test_an_acl_protects_fleets_only() -> None:
    with pytest.raises(SpecError, match="expected ec2 or asg"):
        cloudtwin.parse_spec(nacl_spec("[{rule: 100, action: allow}]").replace("protects: [web]", "protects: [nlb]"))


# ---- security groups [aws-facts §14 Security-group semantics] ------------------------------

SG_SPEC = """
name: s
components:
  cdn: {type: cloudfront, behaviors: [{origin: lb, cache: false}]}
  lb: {type: alb, targets: web}
  FLEET
  lb-sg:
    type: security_group
    protects: [lb]
    inbound: [{prefix_list: com.amazonaws.global.cloudfront.origin-facing, ports: "80"}]
  web-sg:
    type: security_group
    protects: [web]
    inbound: [{source_group: lb-sg, ports: "80"}]
workloads:
  viewers: {entry: cdn, rate: 10/s, sources: {ips: 198.51.100.0/24}}
  direct: {entry: lb, rate: 1/s, attack: {rate: 10/s, addresses: 5}}
simulate: {duration: 5m}
""".replace("FLEET", FLEET)


def test_security_groups_let_in_only_what_a_rule_allows_and_replies_need_no_rule() -> None:
    r = run(SG_SPEC)
    viewers, direct = r.workload("viewers"), r.workload("direct")
    # through CloudFront: the ALB's group allows CloudFront's prefix list, the instances' group the
    # ALB's group (its nodes' addresses); stateful, so every reply goes back without an outbound rule
    assert viewers["failed"] == 0 and viewers["succeeded"] > 2500
    # straight to the ALB: no rule allows the clients, legitimate or attacker
    assert direct["succeeded"] == 0 and direct["refused"] == {"lb-sg": direct["requests"] - direct["in_flight"]}
    assert direct["attack"]["leaked"] == 0 and direct["attack"]["blocked"] == {"lb-sg": direct["attack"]["requests"]}
    assert r.component("web-sg")["denied"] == {"attack": 0, "legitimate": 0}


def test_a_group_without_the_referenced_group_refuses_the_load_balancer() -> None:
    spec = SG_SPEC.replace("inbound: [{source_group: lb-sg, ports: \"80\"}]", "inbound: [{cidr: 203.0.113.0/24}]")
    r = run(spec)
    v = r.workload("viewers")
    assert v["succeeded"] == 0 and list(v["refused"]) == ["web-sg"]
    # a refusal is counted when it happens; the caller's answer may still be on its way at the end
    assert v["failed"] == v["requests"] - v["in_flight"] <= v["refused"]["web-sg"] <= v["requests"]


def test_bad_security_group_specs_are_located_errors() -> None:
    with pytest.raises(SpecError, match="exactly one of cidr, source_group, prefix_list"):
        cloudtwin.parse_spec(SG_SPEC.replace("{source_group: lb-sg, ports",
                                             "{source_group: lb-sg, cidr: 10.0.0.0/8, ports"))
    with pytest.raises(SpecError, match="source group 'nope'"):
        cloudtwin.parse_spec(SG_SPEC.replace("source_group: lb-sg", "source_group: nope"))


def test_the_origin_bypass_rule_clears_once_the_origin_takes_only_cloudfront() -> None:
    from cloudtwin.review import review

    assert review(cloudtwin.parse_spec(SG_SPEC)).by_rule("CT-SEC-006") == []
    open_lb = SG_SPEC.replace("{prefix_list: com.amazonaws.global.cloudfront.origin-facing, ports: \"80\"}",
                              "{cidr: 0.0.0.0/0}")
    assert len(review(cloudtwin.parse_spec(open_lb)).by_rule("CT-SEC-006")) == 1


def test_a_waf_rate_rule_in_front_counts_as_throttling_at_the_edge() -> None:
    from cloudtwin.review import review

    rated = cloudtwin.load_spec("ip-block-alb-waf")
    assert review(rated).by_rule("CT-REL-011") == []
    spec = waf_spec("{name: r, priority: 1, ip_set: [203.0.113.0/24]}", "{rate: 1/s}")
    assert len(review(cloudtwin.parse_spec(spec)).by_rule("CT-REL-011")) == 1  # an IP set throttles nothing
    assert review(cloudtwin.parse_spec(spec.replace("ip_set: [203.0.113.0/24]", "rate: {limit: 100}"))).by_rule(
        "CT-REL-011") == []


def test_a_huge_attack_is_refused_up_front_by_the_run_size_guard() -> None:
    spec = waf_spec("{name: r, priority: 1, rate: {limit: 100}}", "{rate: 1000000/s}")
    with pytest.raises(cloudtwin.RunRefused):
        run(spec.replace("simulate: {duration: 20m}", "simulate: {duration: 7d}"))


def test_an_acl_on_a_single_instance_entry_sees_every_request_even_bare_ones() -> None:
    # a one-instance ec2 entry is called straight through its instance, with bare requests
    r = run("""
name: bare
components:
  web: {type: ec2, handler: [{cpu: 1ms}]}
  acl: {type: network_acl, protects: [web], inbound: [{rule: 100, action: deny, cidr: 0.0.0.0/0}]}
workloads:
  u: {entry: web, rate: 10/s}
simulate: {duration: 1m}
""")
    w = r.workload("u")
    assert w["succeeded"] == 0 and w["errors"]["unavailable"] == w["requests"] > 500
    assert r.component("acl")["inbound_rules_matched"] == {"100": w["requests"]}


def test_a_web_acl_on_api_gateway_blocks_before_the_api_counts_or_throttles() -> None:
    r = run("""
name: api
components:
  api: {type: apigateway, integration: {target: q, op: send}}
  q: {type: sqs}
  acl: {type: waf, protects: [api], rules: [{name: bad, priority: 1, ip_set: [203.0.113.0/24]}]}
workloads:
  w: {entry: api, rate: 20/s, sources: {ips: 198.51.100.0/24}, attack: {rate: 20/s, addresses: 3}}
simulate: {duration: 2m}
""")
    w = r.workload("w")
    assert w["failed"] == 0 and w["refused"] == {}
    att = w["attack"]
    assert att["leaked"] == 0 and att["blocked"] == {"acl": att["requests"]} and att["requests"] > 2000
    assert r.component("api")["requests"] == w["requests"]  # blocked requests never reach the API


# ---- Shield Standard: network-layer floods absorbed at CloudFront, Route 53 and ELB ---------------

def flood_spec(entry: str, kind: str) -> str:
    return f"""
name: s
components:
  cdn: {{type: cloudfront, behaviors: [{{origin: lb, cache: false}}]}}
  lb: {{type: alb, targets: web}}
  {FLEET}
  box: {{type: ec2, handler: [{{cpu: exp(2ms)}}]}}
workloads:
  u:
    entry: {entry}
    rate: 20/s
    attack: {{rate: 50/s, ips: 203.0.113.0/24, addresses: 4, kind: {kind}}}
simulate: {{duration: 1m}}
"""


@pytest.mark.parametrize("entry", ["cdn", "lb"])
@pytest.mark.parametrize("kind", ["syn_flood", "udp_reflection"])
def test_shield_standard_absorbs_a_network_flood_at_cloudfront_and_load_balancers(entry: str, kind: str) -> None:
    r = run(flood_spec(entry, kind))
    a = r["workloads"]["u"]["attack"]
    assert a["requests"] > 2000 and a["blocked"] == {"shield-standard": a["requests"]} and a["leaked"] == 0
    # none of it reached the instances: they served only the legitimate requests
    w = r["workloads"]["u"]
    assert w["requests"] - w["in_flight"] <= r["components"]["web"]["requests"] <= w["requests"]


def test_a_network_flood_sent_to_an_instances_public_address_reaches_it() -> None:
    r = run(flood_spec("box", "syn_flood"))
    a = r["workloads"]["u"]["attack"]
    assert a["blocked"] == {} and a["leaked"] == a["requests"] - a["in_flight"] > 2000


def test_shield_standard_does_not_stop_a_request_flood() -> None:
    r = run(flood_spec("lb", "request"))
    a = r["workloads"]["u"]["attack"]
    assert a["blocked"] == {} and a["leaked"] > 2000  # layer 7: WAF's job
