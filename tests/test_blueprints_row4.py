"""Blueprint row 4, "With Database/Cache: ElastiCache": cache-aside with a TTL, and
sessions kept server-side in ElastiCache.

Variants are the blueprint's own YAML with one thing changed (the TTL of the
``cache.set`` on a miss, or where the session state lives), so every difference in
the numbers comes from that change: same seed, same arrivals, same fault.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import pytest
import yaml

import cloudtwin
from cloudtwin import Results, Simulation, load_spec

NAME = "web-app-cache"


def blueprint_data() -> dict[str, Any]:
    text = resources.files("cloudtwin.blueprints").joinpath(f"{NAME}.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def run_variant(change: Callable[[dict[str, Any]], None]) -> Results:
    data = blueprint_data()
    change(data)
    return Simulation(cloudtwin.parse_spec(yaml.safe_dump(data))).run()


def set_ttl(ttl: str) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        get = d["components"]["web"]["handler"][1]
        assert get["call"] == "cache.get" and get["on_miss"][1]["call"] == "cache.set"
        get["on_miss"][1]["ttl"] = ttl

    return change


def sessions(**kw: Any) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        d["workloads"]["shoppers"]["sessions"] = {"requests": 20, "think": "exp(5s)", **kw}
        if kw["state"] == "instance":
            d["components"]["lb"]["stickiness"] = True  # in-memory state needs stickiness

    return change


@cache
def by_ttl(ttl: str) -> Results:
    if ttl == "5m":  # the blueprint as shipped
        return Simulation(load_spec(NAME)).run()
    return run_variant(set_ttl(ttl))


def test_blueprint_is_row_4() -> None:
    arch = load_spec(NAME)
    assert arch.blueprint is not None and arch.blueprint.section == "With Database/Cache: ElastiCache"
    get: Any = arch.components["web"].handler[1]  # type: ignore[union-attr]
    assert get.target == "cache" and get.op == "get" and get.on_miss[1].ttl == 300.0
    c: Any = arch.components["cache"]
    assert c.engine == "redis" and c.replicas == 1
    assert arch.components["db"].multi_az  # type: ignore[union-attr]
    s = arch.workloads["shoppers"].sessions
    assert s is not None and s.state == "elasticache" and s.store == "cache"
    assert not arch.components["lb"].stickiness  # type: ignore[union-attr]


@pytest.mark.slow
def test_hit_ratio_rises_and_db_load_falls_with_the_ttl() -> None:
    runs = [by_ttl(t) for t in ("30s", "5m", "30m")]
    hit = [r.component("cache")["hit_ratio"] for r in runs]
    db = [r.component("db")["requests"] for r in runs]
    assert hit[0] < hit[1] < hit[2]
    assert db[0] > db[1] > db[2]
    assert hit[2] - hit[0] > 0.15  # measured 0.63 -> 0.77 -> 0.84
    assert db[2] < 0.5 * db[0]  # measured 42.3k -> 25.8k -> 18.8k queries
    for r in runs:
        cache_ = r.component("cache")
        # cache-aside: every miss reads the DB once and writes the item back once (but for the
        # few requests cut short by the terminated instance or the end of the run)
        assert 0 <= cache_["misses"] - r.component("db")["requests"] <= 5
        assert 0 <= r.component("db")["requests"] - cache_["sets"] <= 5
        assert cache_["evictions"] == 0  # 100k keys fit: the TTL alone decides the misses
    assert runs[0].component("cache")["expirations"] > runs[1].component("cache")["expirations"]
    assert len({r["sessions"]["started"] for r in runs}) == 1  # the same users in all three


def test_sessions_in_elasticache_survive_the_instance_loss() -> None:
    r = by_ttl("5m")
    assert any(e["kind"] == "fault" and "terminated web-" in e["detail"] for e in r["timeline"])
    w = r.workload("shoppers")
    assert w["errors"]["unavailable"] > 0  # requests in flight on, or sent to, the dead instance
    assert r["sessions"]["lost"] == 0 and w["errors"]["session_lost"] == 0
    stored = r.component("cache")["sessions"]
    assert stored["created"] == r["sessions"]["started"] and stored["lost"] == 0
    assert stored["found"] > 15 * stored["created"]  # later requests find their session on any instance


def test_the_same_sessions_in_instance_memory_are_lost_with_the_instance() -> None:
    r = run_variant(sessions(state="instance"))
    lost, started = r["sessions"]["lost"], r["sessions"]["started"]
    assert r["sessions"]["started"] == by_ttl("5m")["sessions"]["started"]
    # one of 4 sticky instances: about a quarter of the ~470 live sessions
    assert 90 <= lost <= 140 and lost < 0.05 * started
    # every lost session either found its state missing (session_lost) or met the dead
    # instance on its next request (unavailable): both end it
    assert 0 < r.workload("shoppers")["errors"]["session_lost"] <= lost


def test_a_cookie_over_4kb_is_refused_and_one_under_is_kept() -> None:
    big = run_variant(sessions(state="cookie", cookie_size="6KB"))
    s = big["sessions"]
    # every session that got its first reply (and the cookie) is lost on its second request
    assert s["completed"] == 0 and s["lost"] == s["started"] - s["active"] > 0.99 * s["started"]
    w = big.workload("shoppers")
    assert w["errors"]["session_lost"] == s["lost"]
    assert w["requests"] < 2.1 * s["started"]  # a session ends at its second request
    small = run_variant(sessions(state="cookie", cookie_size="2KB"))
    assert small["sessions"]["lost"] == 0 and small["sessions"]["completed"] > 5000


def test_the_cookie_limit_is_4096_bytes() -> None:
    """Browsers keep at most 4,096 bytes per cookie: 4 KiB is kept, one byte more is not."""
    out = {}
    for size in (4096, 4097):
        data = blueprint_data()
        sessions(state="cookie", cookie_size=size)(data)
        r = Simulation(cloudtwin.parse_spec(yaml.safe_dump(data)), duration=180.0).run()
        out[size] = r["sessions"]
    assert out[4096]["lost"] == 0 and out[4096]["completed"] > 0
    assert out[4097]["lost"] > 0.9 * out[4097]["started"] and out[4097]["completed"] == 0
