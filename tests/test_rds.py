"""RDS and Aurora: M/M/c queueing on the instance's vCPUs, the connection limit,
Multi-AZ commit latency and failover, single-AZ outages, read replicas with lag,
and Aurora failover with and without replicas."""

from __future__ import annotations

import math

import pytest

import cloudtwin
from cloudtwin.errors import SpecError
from cloudtwin.services.rds import default_max_connections

DB = """
name: db
zones: [a, b]
components:
  app:
    type: ec2
    zones: [{app_zone}]
    workers: 4096
    handler:
      - call: db.{op}
  db: {{type: {type}, instance_class: {cls}, multi_az: {multi_az}, read_replicas: {replicas},
       query: {query}, write: {write}{extra}}}
workloads:
  users: {{entry: app, rate: {rate}/s}}
faults: [{faults}]
network: {{cross_az: {cross}}}
simulate: {{duration: {duration}, seed: {seed}}}
"""


def _run(**kw: object) -> cloudtwin.Results:
    args: dict[str, object] = {
        "app_zone": "b", "op": "query", "type": "rds", "cls": "db.m5.xlarge", "multi_az": "false",
        "replicas": 0, "query": "exp(10ms)", "write": "exp(10ms)", "extra": "", "rate": 300,
        "faults": "", "cross": "0.5ms", "duration": "10m", "seed": 1,
    }
    args.update(kw)
    return cloudtwin.Simulation(cloudtwin.parse_spec(DB.format(**args))).run()


def _erlang_c(c: int, a: float) -> float:
    """Probability of waiting in M/M/c with offered load ``a`` = lambda * S."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def test_db_is_an_mmc_queue_on_its_vcpus() -> None:
    lam, s, c = 300.0, 0.010, 4  # db.m5.xlarge has 4 vCPUs; rho = 0.75
    r = _run(rate=int(lam))
    db = r.component("db")
    assert db["utilization"] == pytest.approx(lam * s / c, rel=0.03)
    wait = _erlang_c(c, lam * s) * s / (c - lam * s)  # Erlang C mean wait in queue
    assert db["latency_ms"]["mean"] / 1000 == pytest.approx(s + wait, rel=0.05)
    w = r.workload("users")
    assert db["reads"] == w["succeeded"] + w["in_flight"] and w["failed"] == 0


def _mmck_blocking(lam: float, s: float, c: int, k: int) -> float:
    a = lam * s
    p = [a**n / math.factorial(n) if n <= c else a**n / (math.factorial(c) * c ** (n - c)) for n in range(k + 1)]
    return p[k] / sum(p)


def test_connections_beyond_max_connections_are_refused_like_mmck() -> None:
    lam, s, c, k = 300.0, 0.010, 2, 6  # db.m5.large: 2 vCPUs; 6 connections; offered load 1.5 per vCPU
    r = _run(rate=int(lam), cls="db.m5.large", extra=f", max_connections: {k}", duration="5m")
    w, db = r.workload("users"), r.component("db")
    assert {kind for kind, n in w["errors"].items() if n} == {"server_error"}  # "too many connections"
    blocked = w["errors"]["server_error"] / w["requests"]
    assert blocked == pytest.approx(_mmck_blocking(lam, s, c, k), abs=0.01)  # about 0.34
    assert db["refused_connections"] == w["errors"]["server_error"]
    # the DB itself stays at its capacity: 2 vCPUs almost always busy
    assert db["utilization"] == pytest.approx(lam * s * (1 - blocked) / c, rel=0.03)


def test_default_max_connections_follow_the_engine_formula() -> None:
    assert default_max_connections("postgres", 8) == 901  # 8 GiB / 9,531,392
    assert default_max_connections("postgres", 768) == 5000  # capped at 5,000
    assert default_max_connections("mysql", 8) == 682  # 8 GiB / 12,582,880
    arch = cloudtwin.parse_spec("name: x\ncomponents:\n  db: {type: rds, instance_class: db.t3.micro}\n")
    assert cloudtwin.Simulation(arch).components["db"].stats()["max_connections"] == 112


def test_multi_az_writes_pay_a_cross_az_commit() -> None:
    lat = {}
    for multi in ("false", "true"):
        r = _run(op="write", multi_az=multi, write="2ms", rate=20, cross="1ms", duration="2m")
        lat[multi] = r.component("db")["latency_ms"]["mean"]
    assert lat["false"] == pytest.approx(2.0, rel=0.01)
    assert lat["true"] - lat["false"] == pytest.approx(1.5, rel=0.02)  # 1 ms round trip + 0.5 ms standby write


def _down_window(r: cloudtwin.Results, name: str = "db") -> float:
    ev = [e for e in r["timeline"] if e["detail"].startswith(f"{name}:")]
    start = next(e["t"] for e in ev if e["kind"] == "failover")
    end = next(e["t"] for e in ev if e["kind"] == "recovery")
    return float(end - start)


def test_multi_az_fails_over_in_60_to_120s_on_an_az_outage() -> None:
    rate = 50
    for seed in (1, 6, 8):  # failover draws of about 92 s, 111 s and 74 s
        r = _run(op="write", multi_az="true", rate=rate, seed=seed, duration="8m",
                 faults="{at: 2m, az_outage: a, duration: 4m}")
        down = _down_window(r)
        assert 60.0 <= down <= 120.0  # [aws-facts §11]
        w = r.workload("users")
        assert w["errors"]["unavailable"] == pytest.approx(rate * down, rel=0.1)
        db = r.component("db")
        assert db["failovers"] == 1 and db["primary_zone"] == "b"
        # after the failover the DB serves through the rest of the outage and after it
        errs = r["series"]["workloads"]["users"]["errors"]
        assert sum(errs[2 + math.ceil(down / 60):]) == 0


def test_single_az_is_down_for_the_whole_outage() -> None:
    rate = 50
    r = _run(op="write", rate=rate, duration="8m", faults="{at: 2m, az_outage: a, duration: 4m}")
    w, db = r.workload("users"), r.component("db")
    assert _down_window(r) == 240.0
    assert w["errors"]["unavailable"] == pytest.approx(rate * 240, rel=0.05)
    assert db["failovers"] == 0 and db["primary_zone"] == "a"


def test_read_replicas_take_the_reads_and_stale_reads_follow_the_lag() -> None:
    spec = """
name: replicas
components:
  writers: {type: ec2, workers: 64, handler: [{call: db.write, key: "uniform(1, 101)"}]}
  readers: {type: ec2, workers: 64, handler: [{call: db.query, key: "uniform(1, 101)"}]}
  db: {type: rds, instance_class: db.m5.xlarge, read_replicas: 2, replica_lag: 200ms,
       query: exp(4ms), write: exp(4ms)}
workloads:
  w: {entry: writers, rate: 100/s}
  r: {entry: readers, rate: 200/s}
simulate: {duration: 5m, seed: 4}
"""
    r = cloudtwin.Simulation(cloudtwin.parse_spec(spec)).run()
    db = r.component("db")
    # the primary only writes (100/s x 4 ms / 4 vCPUs); two replicas share 200 reads/s
    assert db["utilization"] == pytest.approx(100 * 0.004 / 4, rel=0.05)
    assert db["replica_utilization"] == pytest.approx(100 * 0.004 / 4, rel=0.05)
    # each key is written at 1/s; a read is stale when the last write is younger than the 200 ms lag
    assert db["stale_reads"] / db["reads"] == pytest.approx(1 - math.exp(-0.2), abs=0.01)  # 0.181


def test_aurora_fails_over_to_a_replica_in_under_30s_and_recreates_without_one() -> None:
    fault = "{at: 1m, db_failover: db}"
    with_replica = _run(type="aurora", cls="db.r5.large", replicas=1, op="write", rate=20, duration="4m",
                        faults=fault)
    assert 15.0 <= _down_window(with_replica) <= 30.0  # "often under 30 s" [aws-facts §11]
    assert with_replica.component("db")["primary_zone"] == "b"
    alone = _run(type="aurora", cls="db.r5.large", op="write", rate=20, duration="15m", faults=fault)
    assert 300.0 <= _down_window(alone) <= 600.0  # recreated "in under 10 min" [aws-facts §11]
    assert alone.component("db")["primary_zone"] == "a"
    # Multi-AZ Aurora means a replica in another zone, so it fails over like the first case
    multi = _run(type="aurora", cls="db.r5.large", multi_az="true", op="write", rate=20, duration="3m",
                 faults=fault)
    assert multi.component("db")["instances"] == 2
    assert 15.0 <= _down_window(multi) <= 30.0
    # reads keep flowing from the replica while the writer is replaced
    reads = _run(type="aurora", cls="db.r5.large", replicas=1, op="query", rate=20, duration="4m", faults=fault)
    assert reads.workload("users")["availability"] > 0.99


def test_bad_db_specs_are_spec_errors() -> None:
    with pytest.raises(SpecError, match="components.db.instance_class: unknown DB instance class 'db.z9.huge'"):
        cloudtwin.parse_spec("name: x\ncomponents:\n  db: {type: rds, instance_class: db.z9.huge}\n")
    # the zone counts are spec errors at validate time, with the key's path (and file:line)
    with pytest.raises(SpecError, match="components.db.multi_az: a Multi-AZ standby needs a second zone"):
        cloudtwin.parse_spec("name: x\nzones: [a]\ncomponents:\n  db: {type: rds, multi_az: true}\n")
    with pytest.raises(SpecError, match="components.db.deployment: a Multi-AZ DB cluster needs three zones"):
        cloudtwin.parse_spec("name: x\nzones: [a, b]\ncomponents:\n  db: {type: rds, deployment: multi_az_cluster}\n")
    with pytest.raises(SpecError, match="contradicts"):
        cloudtwin.parse_spec("name: x\ncomponents:\n  db: {type: rds, multi_az: true, deployment: single_az}\n")
    with pytest.raises(SpecError, match="deployment"):
        cloudtwin.parse_spec("name: x\ncomponents:\n  db: {type: aurora, deployment: multi_az_cluster}\n")


CLUSTER = """
name: cluster
zones: [a, b, c]
components:
  app:
    type: ec2
    workers: 4096
    handler:
      - call: db.{op}
  db: {{type: rds, instance_class: db.m5.xlarge, {deploy}, query: exp(5ms), write: exp(5ms)}}
workloads:
  users: {{entry: app, rate: {rate}/s}}
faults: [{{at: 1m, db_failover: db}}]
simulate: {{duration: 5m, seed: {seed}}}
"""


def _cluster(op: str, deploy: str, seed: int = 1, rate: int = 50) -> cloudtwin.Results:
    spec = CLUSTER.format(op=op, deploy=deploy, seed=seed, rate=rate)
    return cloudtwin.Simulation(cloudtwin.parse_spec(spec)).run()


def test_multi_az_cluster_fails_over_in_under_35s_against_60_to_120s_for_an_instance() -> None:
    rate = 50
    for seed in (1, 2, 3):
        cl = _cluster("write", "deployment: multi_az_cluster", seed, rate)
        inst = _cluster("write", "multi_az: true", seed, rate)
        down_cl, down_inst = _down_window(cl), _down_window(inst)
        assert down_cl <= 35.0  # "typically under 35 s" [aws-facts §11 RDS Multi-AZ DB cluster]
        assert 60.0 <= down_inst <= 120.0  # "typically 60-120 s" [aws-facts §11 RDS Multi-AZ DB instance]
        # the writes are unavailable for the failover and no longer
        assert cl.workload("users")["errors"]["unavailable"] == pytest.approx(rate * down_cl, rel=0.15)
        assert inst.workload("users")["errors"]["unavailable"] == pytest.approx(rate * down_inst, rel=0.1)
        db = cl.component("db")
        assert db["failovers"] == 1 and db["primary_zone"] in ("b", "c") and db["instances"] == 3
        assert inst.component("db")["instances"] == 2
        assert any("promoting the standby" in e["detail"] for e in cl["timeline"])


def test_multi_az_cluster_standbys_serve_reads_through_a_failover() -> None:
    cl = _cluster("query", "deployment: multi_az_cluster", rate=200)
    db = cl.component("db")
    # the reader endpoint keeps answering; only the reads in flight on the promoted standby are cut
    assert cl.workload("users")["availability"] > 0.9999
    assert db["utilization"] < 0.01 and db["replica_utilization"] > 0.05  # reads on the standbys, not the writer
    # a Multi-AZ instance's standby serves nothing: its reads stop with the primary
    inst = _cluster("query", "multi_az: true", rate=200)
    assert inst.workload("users")["availability"] < 0.9


def test_multi_az_cluster_writes_wait_for_the_first_standby() -> None:
    lat = {}
    for deploy in ("deployment: single_az", "multi_az: true", "deployment: multi_az_cluster"):
        spec = CLUSTER.format(op="write", deploy=deploy, seed=1, rate=20).replace(
            "write: exp(5ms)", "write: 2ms").replace("faults: [{at: 1m, db_failover: db}]", "faults: []")
        spec += "network: {cross_az: exp(1ms)}\n"
        lat[deploy] = cloudtwin.Simulation(cloudtwin.parse_spec(spec)).run().component("db")["latency_ms"]["mean"]
    inst = lat["multi_az: true"] - lat["deployment: single_az"]
    cl = lat["deployment: multi_az_cluster"] - lat["deployment: single_az"]
    assert inst == pytest.approx(1.5, rel=0.05)  # one exp(1 ms) round trip + 0.5 ms
    assert cl == pytest.approx(1.0, rel=0.05)  # the first of two exp(1 ms) acks (mean 0.5 ms) + 0.5 ms


def test_multi_az_cluster_bills_three_instances() -> None:
    from cloudtwin.pricing.meters import _rds

    spec = "name: x\nzones: [a, b, c]\ncomponents:\n  db: {{type: rds, instance_class: db.t3.large, {d}}}\n"
    use = {d: _rds(cloudtwin.parse_spec(spec.format(d=d)).components["db"], None, 10.0)
           for d in ("deployment: single_az", "multi_az: true", "deployment: multi_az_cluster")}
    key = "InstanceUsage:db.t3.large:postgres"
    assert [use[d][key] for d in use] == [10.0, 20.0, 30.0]
