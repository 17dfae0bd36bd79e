"""ElastiCache: cache-aside hit ratio vs TTL, LRU capacity, TTL expiry, sharding,
replica failover, and server-side sessions that outlive instances."""

from __future__ import annotations

import numpy as np
import pytest

import cloudtwin
from cloudtwin.errors import SpecError
from cloudtwin.handler import MISS
from cloudtwin.request import Request

CACHE_ASIDE = """
name: cache-aside
components:
  app:
    type: ec2
    workers: 16
    handler:
      - cpu: 1ms
      - call: cache.get
        key: zipf(s=1.0, n={n})
        on_miss:
          - call: db.query
          - call: cache.set
            ttl: {ttl}
  cache: {{type: elasticache, node_type: cache.t3.micro}}
  db: {{type: rds, instance_class: db.m5.xlarge}}
workloads:
  users: {{entry: app, rate: {rate}/s}}
simulate: {{duration: {duration}, seed: 3}}
"""


def _run(text: str, **kw: object) -> cloudtwin.Results:
    return cloudtwin.Simulation(cloudtwin.parse_spec(text), **kw).run()  # type: ignore[arg-type]


def _ttl_hit_ratio(rate: float, ttl: float, n: int, s: float = 1.0) -> float:
    """Steady-state hit ratio of a TTL cache set on miss, with Poisson requests per key:
    each miss starts a window of ``ttl`` in which key i gets rate_i * ttl hits on average."""
    p = np.arange(1, n + 1, dtype=float) ** -s
    p /= p.sum()
    x = rate * p * ttl
    return float((p * x / (1 + x)).sum())


def test_cache_aside_hit_ratio_rises_and_db_load_falls_with_ttl() -> None:
    rate, n = 400.0, 50_000
    ratios, db_reads = [], []
    for ttl, seconds in (("5s", 5.0), ("60s", 60.0), ("10m", 600.0)):
        r = _run(CACHE_ASIDE.format(n=n, ttl=ttl, rate=int(rate), duration="5m"))
        c, db = r.component("cache"), r.component("db")
        assert r.workload("users")["availability"] == 1.0
        # cache-aside: every miss costs exactly one DB query and one set
        assert db["reads"] == c["misses"] == c["sets"]
        if seconds < 300:  # steady state is reached within the 5 min run
            assert c["hit_ratio"] == pytest.approx(_ttl_hit_ratio(rate, seconds, n), abs=0.02)
        ratios.append(c["hit_ratio"])
        db_reads.append(db["reads"])
    assert ratios[0] < ratios[1] - 0.15 < ratios[2] - 0.25  # e.g. 0.47 < 0.67 < 0.80
    assert db_reads[0] > 1.5 * db_reads[1] > 2.2 * db_reads[2]


LRU = """
name: lru
components:
  app:
    type: ec2
    workers: 16
    handler:
      - call: cache.get
        key: uniform(1, {top})
        on_miss:
          - call: cache.set
  cache: {{type: elasticache, memory: {memory}, item_size: 1KB}}
workloads:
  users: {{entry: app, rate: 1000/s}}
simulate: {{duration: 2m, seed: 5}}
"""


def test_lru_with_room_for_half_the_keys_hits_half_the_time() -> None:
    cap = 2000
    r = _run(LRU.format(top=2 * cap + 1, memory=f"{cap}KB"))
    c = r.component("cache")
    assert c["capacity_items"] == cap
    assert c["items"] == cap
    assert c["hit_ratio"] == pytest.approx(0.5, abs=0.03)
    # no TTL: every set of a new key beyond the capacity evicts one item (a few sets only
    # refresh a key: two misses on one key within the ~1 ms before its set both set it)
    assert c["sets"] - cap - 0.001 * c["sets"] <= c["evictions"] <= c["sets"] - cap
    assert c["expirations"] == 0


def test_lru_with_room_for_every_key_never_evicts() -> None:
    r = _run(LRU.format(top=1001, memory="2000KB"))
    c = r.component("cache")
    assert c["evictions"] == 0
    assert 1000 <= c["misses"] <= 1010  # one cold miss per key (rarely two at once), then hits only
    assert c["hit_ratio"] > 0.99


def test_eviction_takes_the_least_recently_used_item_not_the_oldest() -> None:
    sim = _cache_sim(", memory: 3KB, item_size: 1KB")
    cache = sim.components["cache"]
    req = Request(0.0, None, None)
    seen: dict[int, str | None] = {}
    steps = [("set", (1, None)), ("set", (2, None)), ("set", (3, None)), ("get", 1), ("set", (4, None))]
    for i, (op, arg) in enumerate(steps):
        sim.engine.at(float(i), lambda _, op=op, arg=arg: cache.handle(req, op, lambda _r, e: None, arg))
    for k in (1, 2, 3, 4):
        sim.engine.at(10.0 + k, lambda _, k=k: cache.handle(req, "get", lambda _r, e, k=k: seen.__setitem__(k, e), k))
    sim.engine.run(until=20.0)
    assert seen == {1: None, 2: MISS, 3: None, 4: None}  # 2 was least recently used; 1 was read
    assert cache.stats()["evictions"] == 1


def _cache_sim(extra: str = "") -> cloudtwin.Simulation:
    text = f"""
name: ttl
components:
  cache: {{type: elasticache, replicas: 1{extra}}}
"""
    return cloudtwin.Simulation(cloudtwin.parse_spec(text), duration=60.0)


def test_an_item_set_with_ttl_10s_is_a_miss_after_10s() -> None:
    sim = _cache_sim()
    cache = sim.components["cache"]
    answers: dict[float, str | None] = {}
    req = Request(0.0, None, None)

    def get(t: float) -> None:
        sim.engine.at(t, lambda _: cache.handle(req, "get", lambda _r, err: answers.__setitem__(t, err), 42))

    sim.engine.at(0.0, lambda _: cache.handle(req, "set", lambda _r, err: None, (42, 10.0)))
    for t in (0.5, 5.0, 9.9, 10.1, 30.0):
        get(t)
    sim.engine.at(12.0, lambda _: cache.handle(req, "set", lambda _r, err: None, (7, None)))  # no TTL
    sim.engine.at(50.0, lambda _: cache.handle(req, "get", lambda _r, err: answers.__setitem__(50.0, err), 7))
    sim.engine.run(until=60.0)
    assert answers == {0.5: None, 5.0: None, 9.9: None, 10.1: MISS, 30.0: MISS, 50.0: None}
    s = cache.stats()
    assert (s["hits"], s["misses"], s["expirations"]) == (4, 2, 1)


def test_failover_fault_promotes_the_replica_in_a_few_seconds_and_loses_only_recent_writes() -> None:
    sim = _cache_sim(", replica_lag: 1s")
    cache = sim.components["cache"]
    req = Request(0.0, None, None)
    errs: list[tuple[float, str | None]] = []
    for k in range(1000):  # one set every 10 ms, keys 0..999, the last at 9.995 s
        sim.engine.at(k * 0.01 + 0.005, lambda _, k=k: cache.handle(req, "set", lambda _r, e: None, (k, None)))
    sim.engine.at(10.0, lambda _: cache.failover())
    for t in np.arange(10.0, 20.0, 0.25).tolist():
        sim.engine.at(t, lambda _, t=t: cache.handle(req, "get", lambda _r, e, t=t: errs.append((t, e)), 5))
    sim.engine.run(until=30.0)
    kinds = {e["kind"]: e["t"] for e in sim.timeline}
    down = kinds["recovery"] - kinds["failover"]
    assert 3.0 <= down <= 10.0  # "typically just a few seconds" [aws-facts §11]
    failed = [t for t, e in errs if e == "unavailable"]
    assert failed and min(failed) == 10.0 and max(failed) < kinds["recovery"] <= max(failed) + 0.25
    s = cache.stats()
    assert s["lost_items"] == 100  # the sets of the last replica_lag = 1 s (100 of them)
    assert s["items"] == 900
    assert s["failovers"] == 1
    assert cache.shards[0].zone == "b" and cache.shards[0].replica_zones == ["a"]


SHARDS = """
name: shards
components:
  app:
    type: ec2
    zones: [b]
    workers: 16
    handler:
      - call: cache.get
        key: uniform(1, 20001)
        on_miss:
          - call: cache.set
  cache: {type: elasticache, nodes: 2, engine: memcached}
workloads:
  users: {entry: app, rate: 1000/s}
faults:
  - {at: 60s, az_outage: a, duration: 60s}
simulate: {duration: 3m, seed: 2}
"""


def test_losing_the_zone_of_one_of_two_shards_loses_half_the_items() -> None:
    r = _run(SHARDS)
    c = r.component("cache")
    w = r.workload("users")
    # keys are split evenly; the shard in zone a is unavailable for the 60 s outage
    assert w["errors"]["unavailable"] == pytest.approx(0.5 * 60 * 1000, rel=0.05)
    # at 60 s about 19,000 distinct keys were cached, half of them on the lost node
    assert c["lost_items"] == pytest.approx(0.5 * 20_000 * (1 - np.exp(-60_000 / 20_000)), rel=0.05)
    assert c["failovers"] == 0


SESSIONS = """
name: sessions
components:
  app:
    type: ec2
    zones: [{app_zone}]
    boot_time: 30s
    workers: 16
    handler:
      - cpu: 2ms
  cache: {{type: elasticache, replicas: {replicas}, replica_lag: 1s}}
workloads:
  users:
    entry: app
    rate: 20/s
    sessions: {{requests: 1000, think: exp(5s), state: {state}, store: cache}}
faults:
  - {fault}
simulate: {{duration: 4m, seed: 7}}
"""


def _sessions(state: str, fault: str, replicas: int = 0, app_zone: str = "a", **kw: object) -> cloudtwin.Results:
    return _run(SESSIONS.format(state=state, fault=fault, replicas=replicas, app_zone=app_zone), **kw)


def _live_at_fault() -> int:
    """Sessions started in the first 2 min (same seed, same arrivals); none ends within 4 min."""
    return int(_sessions("elasticache", "{at: 3m, replace: app}", duration=120.0)["sessions"]["active"])


def test_sessions_in_elasticache_survive_replacing_the_instance() -> None:
    fault = "{at: 2m, replace: app}"
    in_memory = _sessions("instance", fault)
    cached = _sessions("elasticache", fault)
    live = _live_at_fault()
    assert live == pytest.approx(20 * 120, rel=0.1)
    # state in instance memory: every session with state is lost once the new instance serves it
    assert in_memory["sessions"]["lost"] == pytest.approx(live, rel=0.01)
    # state in ElastiCache: nothing is lost; requests during the 30 s boot fail `unavailable`
    assert cached["sessions"]["lost"] == 0
    assert cached.component("cache")["sessions"]["lost"] == 0
    w = cached.workload("users")
    assert w["errors"]["session_lost"] == 0 and w["errors"]["unavailable"] > 0
    assert cached.component("cache")["sessions"]["created"] == cached["sessions"]["started"]


def test_sessions_are_lost_with_a_cache_node_that_has_no_replica() -> None:
    fault = "{at: 2m, az_outage: a, duration: 30s}"
    alone = _sessions("elasticache", fault, replicas=0, app_zone="b")
    replicated = _sessions("elasticache", fault, replicas=1, app_zone="b")
    live = _live_at_fault()
    # no replica: the node's data is gone; every session that had state is lost after recovery
    assert alone["sessions"]["lost"] == pytest.approx(live, rel=0.01)
    assert alone.component("cache")["lost_items"] == pytest.approx(live, rel=0.01)
    # one replica: only the sessions created within replica_lag (1 s) before the failure
    lost = replicated["sessions"]["lost"]
    assert 5 <= lost <= 45  # about 20/s x 1 s
    assert lost == replicated.component("cache")["sessions"]["lost"]
    assert replicated.component("cache")["failovers"] == 1


def test_bad_cache_specs_are_spec_errors() -> None:
    with pytest.raises(SpecError, match="memcached has no replication"):
        cloudtwin.parse_spec("name: x\ncomponents:\n  c: {type: elasticache, engine: memcached, replicas: 1}\n")
    with pytest.raises(SpecError, match="up to 5|less than or equal to 5"):
        cloudtwin.parse_spec("name: x\ncomponents:\n  c: {type: elasticache, replicas: 6}\n")
    with pytest.raises(SpecError, match="components.c.node_type: unknown node type 'cache.x9.huge'"):
        cloudtwin.parse_spec("name: x\ncomponents:\n  c: {type: elasticache, node_type: cache.x9.huge}\n")


def test_default_capacity_is_node_memory_less_reserved_over_item_size() -> None:
    arch = cloudtwin.parse_spec("name: x\ncomponents:\n  c: {type: elasticache, node_type: cache.m5.large}\n")
    cache = cloudtwin.Simulation(arch).components["c"]
    assert cache.capacity == int(6.38 * 1024**3 * 0.75 // 1024)  # 6.38 GiB, 25 % reserved, 1 KB items


WAVES = """
name: waves
components:
  app:
    type: ec2
    workers: 256
    handler:
      - call: cache.get
        key: uniform(1, 1001)
        on_miss:
          - call: db.query
          - call: cache.set
            ttl: 2m
  cache: {{type: elasticache, warm: {warm}}}
  db: {{type: rds, instance_class: db.m5.xlarge, failover_time: 20s}}
workloads:
  users: {{entry: app, rate: 200/s}}
faults: [{faults}]
simulate: {{duration: 10m, seed: 5}}
"""


def _misses_per_minute(r: cloudtwin.Results) -> list[float]:
    return [1.0 - h for h in r["series"]["components"]["cache"]["hit_ratio"]]


def test_a_cold_cache_misses_in_waves_every_ttl_and_a_warm_one_does_not() -> None:
    # 1,000 keys at 0.2 lookups/s each with a 2-minute TTL: in steady state a lookup misses with
    # probability 1 / (1 + lambda T) = 1/25 (T held, then a mean 5 s absent)
    cold = _misses_per_minute(_run(WAVES.format(warm="false", faults="")))
    warm = _misses_per_minute(_run(WAVES.format(warm="true", faults="")))
    # cold: every key is set in the first seconds, so each expires at 2, 4, 6, 8 minutes
    waves = [cold[i] for i in (2, 4, 6, 8)]
    between = [cold[i] for i in (1, 3, 5, 7, 9)]
    assert min(waves) > 5 * max(between)
    # warm: expiry times spread over the TTL, the steady miss rate from the first minute
    assert np.mean(warm) == pytest.approx(1 / 25, rel=0.1)
    assert np.std(warm) / np.mean(warm) < 0.1
    assert np.std(cold[1:]) / np.mean(cold[1:]) > 0.5


def test_a_warm_cache_makes_the_fault_timing_matter_much_less() -> None:
    def failed(warm: str, at: str) -> int:
        r = _run(WAVES.format(warm=warm, faults=f"{{at: {at}, db_failover: db}}"))
        return int(r.workload("users")["failed"])

    # a 20 s database failover on an expiry wave (minute 4 = 2 TTLs) or between waves (minute 5)
    cold = (failed("false", "4m"), failed("false", "5m"))
    warm = (failed("true", "4m"), failed("true", "5m"))
    assert cold[0] > 5 * (cold[1] + 1)  # cold: the wave's keys all miss into the failed database
    assert max(warm) < 1.5 * min(warm)  # warm: about the same whenever it lands
    assert min(warm) > 0
