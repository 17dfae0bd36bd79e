"""The edge's hot paths (issue 17) answer exactly as the plain definitions they stand for:
the network ACL's remembered decisions, the WAF's one read of a request, CloudFront's stale age."""

from __future__ import annotations

import math
from heapq import heappop
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


WAF_MEMO = """
name: wm
components:
  lb: {type: alb, targets: web}
  web: {type: asg, capacity: {min: 2, max: 2}, handler: [{cpu: 2ms}]}
  acl:
    type: waf
    protects: [lb]
    rules:
      - {name: half, priority: 1, ip_set: [203.0.113.0/25]}
      - {name: per-ip, priority: 2, rate: {limit: 100, window: 5m}}
workloads:
  u:
    entry: lb
    rate: 40/s
    clients: 50
    sources: {ips: 198.51.100.0/24}
    attack: {rate: 60/s, ips: 203.0.113.0/24, addresses: 200}
simulate: {duration: 2m}
"""


def test_waf_ip_set_memo_holds_the_plain_verdict_and_a_small_memo_gives_the_same_results(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The IP set's verdict is remembered per address string (issue 17): each remembered verdict
    is ``_ip_set``'s, and a memo cleared every few addresses gives the same results."""
    from cloudtwin.services import waf as waf_mod

    sim = cloudtwin.Simulation(cloudtwin.parse_spec(WAF_MEMO))
    res = sim.run()
    rule = sim.components["acl"].rules[0]
    assert len(rule.memo) > 100  # the attackers' 200 addresses and the clients'
    for s, hit in rule.memo.items():
        assert hit == rule._ip_set(s, s, None, None, 0.0)
    blocked = res["components"]["acl"]["rules"]["half"]["blocked"]
    assert blocked["attack"] > 1000 and blocked["legitimate"] == 0
    monkeypatch.setattr(waf_mod, "MEMO_MAX", 3)
    sim2 = cloudtwin.Simulation(cloudtwin.parse_spec(WAF_MEMO))
    again = sim2.run()
    assert len(sim2.components["acl"].rules[0].memo) <= 3
    assert again["components"] == res["components"] and again["workloads"] == res["workloads"]


def test_cloudfront_phase_table_holds_stale_ages_phases_and_keyless_only_where_no_key_is_read() -> None:
    """The hit path reads a key's update phase from a table made at build: it must be the very
    float ``stale_age`` computes; a behavior skips its key draw only when nothing reads the key."""
    from cloudtwin.services.cloudfront_cache import GOLDEN

    spec = FAULTED.replace('ttl: 60s, key: "uniform(0, 50)"}]',
                           'ttl: 60s, key: "zipf(s=1.1, n=500)", update_every: 10s}]', 1)
    cdn = cloudtwin.Simulation(cloudtwin.parse_spec(spec)).ctx.components["cdn"]
    b = cdn.behaviors[0]  # type: ignore[attr-defined]
    assert b.phase is not None and len(b.phase) == 501 and not b.keyless
    assert all(b.phase[k] == math.fmod(k * GOLDEN + 0.0, 1.0) for k in range(501))
    for k in (1, 7, 250, 500):  # the hit path's arithmetic with the table's phase is stale_age's
        u = b.phase[k]
        was = math.floor(3.0 / 10.0 + u)
        if math.floor(47.0 / 10.0 + u) > was:
            assert 47.0 - (was + 1 - u) * 10.0 == stale_age(k, 3.0, 47.0, 10.0)
        else:
            assert stale_age(k, 3.0, 47.0, 10.0) is None
    uncached = cloudtwin.Simulation(cloudtwin.parse_spec(FAULTED.replace("ttl: 60s, ", "cache: false, ", 1)))
    assert uncached.ctx.components["cdn"].behaviors[0].keyless  # type: ignore[attr-defined]
    s3 = """
name: k
components:
  cdn: {type: cloudfront, behaviors: [{origin: files, cache: false}]}
  files: {type: s3}
workloads: {u: {entry: cdn, rate: 5/s}}
simulate: {duration: 10s}
"""
    assert not cloudtwin.Simulation(cloudtwin.parse_spec(s3)).ctx.components["cdn"].behaviors[0].keyless  # type: ignore[attr-defined]


def test_elasticache_fast_branches_answer_as_the_general_path() -> None:
    """A get of an int key and a session lookup take their own branch in ``handle`` (issue 17);
    the general path (``_general``) must give the same answers and counters for the same calls."""
    spec = """
name: e
components:
  kv: {type: elasticache, engine: redis, node_type: cache.m5.large, nodes: 2}
  web: {type: ec2, handler: [{call: kv.get, key: "zipf(s=1.1, n=10)"}]}
workloads: {u: {entry: web, rate: 1/s}}
simulate: {duration: 1s}
"""
    answers: dict[str, list[Any]] = {"fast": [], "general": []}
    counters = {}
    for way in ("fast", "general"):
        sim = cloudtwin.Simulation(cloudtwin.parse_spec(spec))
        kv: Any = sim.ctx.components["kv"]
        call = kv.handle if way == "fast" else kv._general
        eng = sim.ctx.engine
        got = answers[way]
        for i, (op, arg) in enumerate([("get", 3), ("set", (3, 60.0)), ("get", 3), ("get", 4), ("", 3),
                                       ("set", (4, 0.5)), ("get", 4), ("delete", 3), ("get", 3)]):
            eng.now = float(i)
            call(Request(float(i), None, None), op, lambda r, err, got=got: got.append(err), arg)
            while eng._heap and eng._heap[0][0] <= eng.now + 0.5:  # the answer, after its latency
                t, _, fn, a = heappop(eng._heap)
                eng.now = t
                fn(a)
        counters[way] = (kv.hits, kv.misses, kv.sets, kv.deletes, kv.expirations, kv.requests)
    assert answers["fast"] == answers["general"] and len(answers["fast"]) == 9
    assert counters["fast"] == counters["general"]
    assert counters["fast"][:5] == (2, 4, 2, 1, 1)  # hits, misses, sets, deletes, expirations


@given(st.floats(0.01, 100.0), st.floats(0.01, 100.0), st.floats(0.0, 1.0, exclude_max=True))
def test_two_behaviors_pick_is_bisect_right_clamped(a: float, b: float, u: float) -> None:
    """CloudFront picks one of two behaviors with one comparison (issue 17): the same index as
    ``min(bisect_right(cum, x), 1)``, the general rule, for every draw."""
    from bisect import bisect_right

    cum = [a, a + b]
    x = u * cum[-1]
    assert (0 if x < cum[0] else 1) == min(bisect_right(cum, x), 1)


WAF_RATE = """
name: wr
components:
  lb: {type: alb, targets: web}
  web: {type: asg, capacity: {min: 2, max: 2}, handler: [{cpu: 2ms}]}
  acl:
    type: waf
    protects: [lb]
    rate_check_interval: 5s
    rules:
      - {name: per-ip, priority: 1, rate: {limit: 10, window: 60s}}
workloads:
  u:
    entry: lb
    rate: 20/s
    clients: 30
    sources: {ips: 198.51.100.0/24}
    attack: {rate: 30/s, ips: 203.0.113.0/24, addresses: 3, start: 1m, duration: 1m}
  crawl:
    entry: lb
    rate: 0.1/s
    sources: {ips: 192.0.2.0/24}
    attack: {pattern: crawl, rate: 20/s, ips: 100.64.0.0/16}
simulate: {duration: 4m}
"""


@pytest.mark.python_only
def test_waf_rate_check_limits_exactly_the_keys_a_count_of_every_key_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rate check counts only the keys that may be over the limit (issue 17): after every check
    the limited keys are those with more than ``limit`` requests in (now - window, now], counted
    here from a log of every request the web ACL saw."""
    from collections import defaultdict

    from cloudtwin.services.waf import Waf, _Rule

    log: dict[str, list[float]] = defaultdict(list)
    plain = Waf.admit

    def logged(self: Any, req: Any) -> Any:
        log[source(req)].append(self.engine.now)
        return plain(self, req)

    checks: list[bool] = []
    recount = _Rule.recount

    def checked(self: Any, now: float, sweep: int = 1) -> None:
        recount(self, now, sweep)
        want = {k for k, ts in log.items() if sum(now - 60.0 < t <= now for t in ts) > 10}
        checks.append(self.limited == want)
        assert self.limited == want, now

    monkeypatch.setattr(Waf, "admit", logged)
    monkeypatch.setattr(_Rule, "recount", checked)
    sim = cloudtwin.Simulation(cloudtwin.parse_spec(WAF_RATE))
    res = sim.run()
    rule = sim.components["acl"].rules[0]
    assert len(checks) >= 47 and all(checks)
    assert res["components"]["acl"]["rules"]["per-ip"]["blocked"]["attack"] > 1000
    assert len(rule.seen) < 1500  # the crawler's expired keys are swept (20/s over 65,536 addresses)
