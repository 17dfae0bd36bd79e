"""`cloudtwin import` maps an AWS WAF web ACL (AWS::WAFv2::WebACL) to a `waf` component: what it
protects from its associations, its rules in priority order, what it cannot simulate named."""

from __future__ import annotations

from pathlib import Path

import yaml

import cloudtwin
from cloudtwin.importers.convert import import_template

TEMPLATE = Path(__file__).parent / "data" / "cfn" / "waf-alb.yaml"


def test_a_web_acl_on_a_load_balancer_maps_with_its_rules() -> None:
    got = import_template(str(TEMPLATE))
    spec = yaml.safe_load(got.text)
    acl = spec["components"]["acl"]
    assert acl["protects"] == ["lb"] and acl["default_action"] == "allow"
    assert acl["rules"] == [
        {"name": "block-list", "priority": 0, "action": "block", "ip_set": ["203.0.113.0/24", "198.51.100.7/32"]},
        {"name": "no-xx", "priority": 1, "action": "count", "geo": ["KP"]},
        {"name": "rate-limit", "priority": 2, "action": "block", "rate": {"limit": 500, "window": "60s"}},
    ]
    # the IP set and the association are part of the ACL; the managed group is named, not guessed
    assert got.ctx.folded["Blocked"] == "acl" and got.ctx.folded["AclOnLb"] == "acl"
    assert got.unmapped == []
    assert any("rule 'Common' left out (a managed rule group has no detection rate" in a for a in got.ctx.assumptions)
    arch = cloudtwin.parse_spec(got.text)
    r = cloudtwin.Simulation(arch, duration=60).run()
    assert r["workloads"]["lb-traffic"]["succeeded"] > 0  # legitimate stub traffic passes the ACL


def test_a_web_acl_protecting_nothing_is_listed(tmp_path: Path) -> None:
    text = TEMPLATE.read_text().split("  AclOnLb:")[0]
    t = tmp_path / "t.yaml"
    t.write_text(text)
    got = import_template(str(t))
    assert ("Acl", "it protects no load balancer, API or distribution of the template") in [
        (n, why) for n, _, _, why in got.unmapped]
