"""DESIGN row 24, "IP Blocking Strategies": attacker traffic is blocked or not depending on
where the block sits. A network ACL behind CloudFront and an ALB sees the proxies' addresses
and blocks nothing; the same ACL behind an NLB (which preserves the client address) blocks
the whole attack; a WAF rate-based rule on the ALB blocks a flood within its documented lag
but not a slow crawl from many addresses; WAF on CloudFront blocks the attack at the edge,
a geo restriction refuses legitimate viewers of the blocked country too, and an origin
reachable around CloudFront is not protected at all."""

from __future__ import annotations

from typing import Any

import pytest

import cloudtwin
from cloudtwin.simulation import Simulation

SECTION = "IP Blocking Strategies"
ATTACK_START, ATTACK_END = 300.0, 900.0


def run(name: str) -> cloudtwin.Results:
    arch = cloudtwin.load_spec(name)
    assert arch.blueprint is not None and arch.blueprint.section == SECTION
    return Simulation(arch).run()


@pytest.fixture(scope="module")
def nacl() -> cloudtwin.Results:
    return run("ip-block-nacl")


@pytest.fixture(scope="module")
def alb_waf() -> cloudtwin.Results:
    return run("ip-block-alb-waf")


@pytest.fixture(scope="module")
def edge() -> cloudtwin.Results:
    return run("ip-block-cloudfront")


def accounted(att: dict[str, Any]) -> None:
    """Every attacker request is blocked somewhere, leaked, or still in flight."""
    assert sum(att["blocked"].values()) + att["leaked"] + att["in_flight"] == att["requests"]


def test_a_nacl_behind_cloudfront_blocks_nothing_and_behind_an_nlb_blocks_everything(nacl: Any) -> None:
    via_cdn, via_nlb = nacl.workload("users")["attack"], nacl.workload("direct")["attack"]
    for att in (via_cdn, via_nlb):
        accounted(att)
        assert att["requests"] == pytest.approx(300 * (ATTACK_END - ATTACK_START), rel=0.01)  # 180,000
    # behind CloudFront and the ALB the instances see the ALB's addresses: rule 100 never matches
    assert via_cdn["blocked"] == {} and via_cdn["leaked"] == via_cdn["requests"]
    # behind the NLB they see the client's: rule 100 drops every attacker request
    assert via_nlb["leaked"] == 0 and via_nlb["blocked"] == {"web-nacl": via_nlb["requests"]}
    acl = nacl.component("web-nacl")
    assert acl["inbound_rules_matched"]["100"] == via_nlb["requests"]
    assert acl["denied_inbound"] == {"attack": via_nlb["requests"], "legitimate": 0}
    for w in ("users", "direct"):  # no collateral either way
        assert nacl.workload(w)["refused"] == {} and nacl.workload(w)["failed"] == 0


def test_a_waf_rate_rule_on_the_alb_blocks_the_flood_within_its_lag_but_not_the_crawl(alb_waf: Any) -> None:
    rule = alb_waf.component("lb-acl")["rules"]["per-ip-rate"]
    per_address = 300 / 20  # 15 requests a second from each of 20 addresses
    crossed = ATTACK_START + 1000 / per_address  # the limit is passed after 66.7 s
    t = rule["first_over_limit_s"]
    assert crossed <= t <= crossed + 10  # found at the next check, every 10 s: 370 s
    flood = alb_waf.workload("users")["attack"]
    accounted(flood)
    # leaked: everything sent before that check (300/s for 70 s), blocked: everything after
    assert flood["leaked"] == pytest.approx(300 * (t - ATTACK_START), rel=0.03)
    assert flood["blocked"]["lb-acl"] == pytest.approx(300 * (ATTACK_END - t), rel=0.03)
    # 500 addresses at 0.2/s each: 60 requests per 5 minutes per address, far under 1,000
    crawl = alb_waf.workload("scrapers")["attack"]
    accounted(crawl)
    assert crawl["addresses"] == 500 and crawl["blocked"] == {} and crawl["leaked"] == crawl["requests"] > 59_000
    # 100/s legitimate over 1,024 addresses: none refused
    assert alb_waf.workload("users")["refused"] == {} and rule["blocked"]["legitimate"] == 0


def test_waf_at_the_edge_blocks_the_attack_geo_restriction_costs_legitimate_viewers(edge: Any) -> None:
    viewers = edge.workload("viewers")
    att = viewers["attack"]
    accounted(att)
    assert att["leaked"] == 0 and att["blocked"] == {"edge-acl": att["requests"]} and att["requests"] > 179_000
    assert edge.component("edge-acl")["blocked"]["legitimate"] == 0  # the IP set: no collateral
    # the geo restriction (CN) refuses the legitimate viewers in CN: 10% of them (12,396 of 119,929)
    refused = viewers["refused"]["cdn.geo_restriction"]
    assert refused / viewers["requests"] == pytest.approx(0.10, abs=0.01)
    assert viewers["errors"]["rejected"] == refused == viewers["failed"]
    # the ALB is internet-facing: the same attack sent to it directly passes both and leaks whole
    around = edge.workload("around-the-edge")["attack"]
    accounted(around)
    assert around["blocked"] == {} and around["leaked"] == around["requests"] > 59_000


def test_conservation_of_legitimate_requests(nacl: Any, alb_waf: Any, edge: Any) -> None:
    for r in (nacl, alb_waf, edge):
        for name, w in r["workloads"].items():
            assert w["succeeded"] + w["failed"] + w["in_flight"] == w["requests"], name
            assert sum(w["refused"].values()) <= w["failed"], name
