"""The edge's hot paths (issue 17) answer exactly as the plain definitions they stand for:
the network ACL's remembered decisions, the WAF's one read of a request, CloudFront's stale age."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cloudtwin
from cloudtwin.origins import address, client_address, source
from cloudtwin.request import REJECTED, Client, Request
from cloudtwin.services import network_acl
from cloudtwin.services.cloudfront_cache import changed_after, stale_age, version
from cloudtwin.services.network_acl import ephemeral_port, first_match

NACL = """
name: n
components:
  nlb: {type: nlb, targets: web}
  web: {type: asg, capacity: {min: 2, max: 2}, handler: [{cpu: exp(2ms)}]}
  acl:
    type: network_acl
    protects: [web]
    inbound: [{rule: 100, action: deny, cidr: 203.0.113.0/25}, {rule: 200, action: allow, cidr: 0.0.0.0/0}]
    outbound: [{rule: 100, action: deny, cidr: 198.51.100.0/30}, {rule: 110, action: allow, ports: 1024-65535}]
workloads:
  u:
    entry: nlb
    rate: 40/s
    clients: 50
    sources: {ips: 198.51.100.0/24}
    attack: {rate: 40/s, ips: 203.0.113.0/24, addresses: 200}
simulate: {duration: 1m}
"""


def _acl_run() -> tuple[dict[str, Any], Any]:
    sim = cloudtwin.Simulation(cloudtwin.parse_spec(NACL))
    res = sim.run()
    return res["components"]["acl"], sim.components["acl"]


def test_network_acl_decisions_are_the_first_match_of_each_address_memo_full_or_not(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stats, acl = _acl_run()
    assert acl.memo_in and acl.memo_out
    for src, d in acl.memo_in.items():  # [rule, allow, requests counted on the entry]
        assert (d[0], d[1]) == first_match(acl.inbound, address(src), acl.port) and d[2] >= 1
    for src, d in acl.memo_out.items():
        assert (d[0], d[1]) == first_match(acl.outbound_rules, address(src), ephemeral_port(src)) and d[2] >= 1
    # half the attackers' block is denied inbound; the legitimate clients in the /30 lose their replies
    assert stats["denied_inbound"]["attack"] > 0 and stats["denied_inbound"]["legitimate"] == 0
    assert stats["dropped_outbound"]["legitimate"] > 0
    monkeypatch.setattr(network_acl, "MEMO_MAX", 3)  # cleared every few addresses: the same counts
    small, acl2 = _acl_run()
    assert len(acl2.memo_in) <= 3 and len(acl2.memo_out) <= 3
    assert small == stats


WAF = """
name: w
components:
  lb: {type: alb, targets: web}
  web: {type: asg, capacity: {min: 2, max: 2}, handler: [{cpu: 2ms}]}
  acl:
    type: waf
    protects: [lb]
    rules:
      - {name: own, priority: 1, ip_set: [203.0.113.0/24]}
      - {name: xff, priority: 2, ip_set: [192.0.2.0/24], forwarded_ip: true}
      - {name: names, priority: 3, ip_set: [0.0.0.0/0], action: count}
workloads:
  u: {entry: lb, rate: 1/s}
simulate: {duration: 1s}
"""


@pytest.mark.parametrize(("ip", "via", "blocked_by"), [
    ("203.0.113.5", None, "own"),  # the client's own address, seen directly
    ("203.0.113.5", "cloudfront-0", None),  # behind a proxy the hop sees its name: only 0.0.0.0/0 holds it
    ("192.0.2.9", "cloudfront-0", "xff"),  # X-Forwarded-For still carries the client's
    ("198.51.100.1", None, None),
])
def test_waf_reads_the_address_the_hop_sees_and_the_forwarded_one(ip: str, via: str | None,
                                                                 blocked_by: str | None) -> None:
    sim = cloudtwin.Simulation(cloudtwin.parse_spec(WAF))
    waf = sim.components["acl"]
    req = Request(0.0, Client(ip, 1), None)
    req.via = via
    assert (source(req), client_address(req)) == (via or ip, ip)
    err = waf.admit(req)
    assert err == (REJECTED if blocked_by else None)
    rules = {r.name: r for r in waf.rules}
    for name, r in rules.items():
        assert r.matched == (1 if name == blocked_by or (name == "names" and blocked_by is None) else 0)
    assert waf.admit(0.0) is None  # a bare request has no address: only the 0.0.0.0/0 count rule holds it
    assert rules["names"].matched == (2 if blocked_by is None else 1)


@given(st.integers(0, 10**7), st.floats(0.0, 1e6), st.floats(0.0, 1e4),
       st.sampled_from([0.1, 1.0, 7.3, 60.0, 600.0, 21600.0]))
def test_stale_age_is_the_time_since_the_first_change_after_the_fetch(key: int, fetched: float, wait: float,
                                                                       every: float) -> None:
    now = fetched + wait
    if version(key, now, every) <= version(key, fetched, every):
        assert stale_age(key, fetched, now, every) is None
    else:
        age = stale_age(key, fetched, now, every)
        assert age == now - changed_after(key, fetched, every)
        assert age is not None and 0.0 <= age <= wait + 1e-9 * max(1.0, now) and not math.isnan(age)
    assert stale_age(key, fetched, now, None) is None


FAULTED = """
name: f
zones: [a, b]
components:
  cdn:
    type: cloudfront
    behaviors: [{origin: web, ttl: 60s, key: "uniform(0, 50)"}]
  web: {type: ec2, count: 2, handler: [{cpu: 2ms}, {call: kv.get, key: "uniform(0, 50)"}]}
  kv: {type: elasticache, engine: redis, node_type: cache.m5.large}
workloads:
  u: {entry: cdn, rate: 50/s}
faults:
  - {at: 1m, errors: cdn, rate: 1.0, duration: 1m}
  - {at: 2m, errors: kv, rate: 1.0, duration: 30s}
simulate: {duration: 3m, seed: 3}
"""


def test_components_whose_handle_carries_serve_still_run_injected_faults_first() -> None:
    """CloudFront and ElastiCache answer through their own ``handle`` (serve's body
    inline, issue 17): an ``errors`` fault must still fail the requests of its window there.
    Same numbers as before the change (main's src: 4509, 8921, 1519, 1619, 1519)."""
    res = cloudtwin.Simulation(cloudtwin.parse_spec(FAULTED)).run()
    cdn, kv = res["components"]["cdn"], res["components"]["kv"]
    origin_errors = cdn["behaviors"][0]["origin_errors"]
    # the cache's half minute: every call fails (~50/s x 30 s: a failed answer is not cached at
    # the edge, so each viewer request misses), and few calls outside it reach the cache at all
    assert 1300 < kv["errors"] < 1700
    assert kv["requests"] - kv["errors"] < 200
    assert origin_errors == kv["errors"]  # each reached the viewer as an origin error
    # the edge's own minute: every viewer request fails there (~50/s x 60 s, Poisson)
    assert 2700 < cdn["errors"] - origin_errors < 3300


def test_cloudfront_skips_int_only_for_keys_that_are_ints_already() -> None:
    """A behavior's ``int_keys`` lets its hot path skip ``int()``: only right if every draw of a
    zipf key is a Python int already, as ``int(draw)`` would give."""
    sim = cloudtwin.Simulation(cloudtwin.parse_spec(FAULTED.replace('"uniform(0, 50)"}]', '"zipf(s=1.1, n=500)"}]', 1)))
    b = sim.ctx.components["cdn"].behaviors[0]  # type: ignore[attr-defined]
    assert b.int_keys
    draws = [b.key() for _ in range(5000)]
    assert all(type(k) is int and 1 <= k <= 500 for k in draws)
    uniform = cloudtwin.Simulation(cloudtwin.parse_spec(FAULTED)).ctx.components["cdn"]
    assert not uniform.behaviors[0].int_keys  # type: ignore[attr-defined]  # floats: int() per request
