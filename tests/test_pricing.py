"""Cost from simulated usage, checked by hand against the price table."""

from pathlib import Path

import pytest

import cloudtwin
from cloudtwin.metering import bill
from cloudtwin.pricing.table import builtin
from cloudtwin.simulation import Simulation

SPEC = """
name: priced
components:
  app:
    type: ec2
    instance_type: {itype}
    count: 2
    zones: [a, b]
    elastic_ip: false
    handler:
      - cpu: 5ms
workloads:
  w: {{entry: app, rate: 10/s}}
simulate: {{duration: 2h, seed: 1}}
"""


def run(itype: str = "m5.large", **kw: object) -> dict:
    sim = Simulation(cloudtwin.parse_spec(SPEC.format(itype=itype)))
    for k, v in kw.items():
        setattr(sim, k, v)
    return sim.run()["cost"]


def test_hand_computed_bill_matches_to_the_cent() -> None:
    cost = run()
    # 2 instances x 2 h x $0.096 (m5.large) + 2 public IPv4 x 2 h x $0.005
    expected = 2 * 2 * 0.096 + 2 * 2 * 0.005
    assert cost["window_usd"] == pytest.approx(expected, abs=0.005)
    assert round(cost["window_usd"], 2) == round(expected, 2)
    assert cost["monthly_usd"] == pytest.approx(expected * 730 / 2, rel=1e-6)
    assert cost["unpriced"] == []


def test_unpriced_items_are_listed_not_invented() -> None:
    cost = run("m4.xlarge\n    workers: 4")  # a previous generation: no row in the sourced table
    assert {"component": "app", "usage_type": "BoxUsage:m4.xlarge", "quantity": 4.0} in cost["unpriced"]
    assert all(i["usage_type"] != "BoxUsage:m4.xlarge" for i in cost["items"])


def test_user_price_file_overrides(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("region,service,usage_type,unit,usd,source,date\n"
                 "us-east-1,ec2,BoxUsage:m5.xlarge,instance-hour,0.192,my quote,2026-11-01\n")
    cost = run("m5.xlarge", prices=builtin().overridden(f))
    assert cost["unpriced"] == []
    assert cost["by_component"]["app"] == pytest.approx(4 * 0.192 + 4 * 0.005, abs=1e-6)


def test_bad_price_file_is_a_spec_error(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("region,usage_type\nus-east-1,x\n")
    with pytest.raises(cloudtwin.SpecError, match="needs the columns"):
        builtin().overridden(f)


def test_bill_of_a_stopped_instance_stops_at_termination() -> None:
    spec = SPEC.format(itype="m5.large").replace("faults: []", "") + "faults:\n  - {at: 30m, terminate: app}\n"
    sim = Simulation(cloudtwin.parse_spec(spec))
    res = sim.run()
    box = [i for i in res["cost"]["items"] if i["usage_type"] == "BoxUsage:m5.large"][0]
    assert box["quantity"] == pytest.approx(0.5 + 2.0, abs=1e-6)  # one for 30 min, one for 2 h
    assert bill(sim)["window_usd"] == res["cost"]["window_usd"]


# ---------------------------------------------------------------- load balancer, cache, database, network
FULL = """
name: priced-full
zones: [a, b]
components:
  lb: {type: alb, targets: app}
  app:
    type: ec2
    instance_type: m5.large
    count: 2
    zones: [a, b]
    public_ip: false
    handler:
      - cpu: 2ms
      - call: cache.get
        key: zipf(s=1.1, n=1000)
        size: 2KB
        on_miss:
          - {call: db.query, size: 4KB}
          - {call: cache.set, ttl: 5m, size: 2KB}
  cache: {type: elasticache, node_type: cache.t3.micro, replicas: 1}
  db: {type: rds, instance_class: db.m5.large, multi_az: true, storage_gb: 100}
workloads:
  users: {entry: lb, rate: 10/s, arrivals: constant, request_size: 1KB, response_size: 100KB}
simulate: {duration: 1h, seed: 1}
"""
GIB = 2**30


def qty(cost: dict, comp: str, usage_type: str) -> float:
    return sum(i["quantity"] for i in cost["items"] + cost["unpriced"]
               if i["component"] == comp and i["usage_type"] == usage_type)


def test_hand_computed_bill_with_lb_cache_db_and_network() -> None:
    sim = Simulation(cloudtwin.parse_spec(FULL))
    res = sim.run()
    cost = res["cost"]
    w = res["workloads"]["users"]
    n, ok = w["requests"], w["succeeded"]
    assert n == 36_000  # 10/s evenly spaced for 1 h
    crossed = sim.network.cross_az_bytes
    assert crossed > 0 and sim.network.cross_az_unsized == 0
    lcu = n * (1000 + 100_000) / GIB  # 1 GB/h processed per LCU beats 25 new connections/s: 3.39 vs 0.4
    expected = {
        "lb": 1 * 0.0225 + 2 * 1 * 0.005 + lcu * 0.008,  # LB-hour, a public IPv4 per zone, LCU-hours
        "app": 2 * 1 * 0.096,  # two on-demand m5.large for 1 h
        "cache": 2 * 1 * 0.017,  # one node + one replica
        "db": 2 * 100 * (1 / 730) * 0.115,  # Multi-AZ: storage for primary and standby; instances unpriced
        "(network)": ok * 100_000 / GIB * 0.09 + 2 * crossed / GIB * 0.01,  # egress + cross-AZ both ways
    }
    for comp, usd in expected.items():
        assert round(cost["by_component"][comp], 2) == round(usd, 2), comp
        assert cost["by_component"][comp] == pytest.approx(usd, rel=1e-5), comp
    assert round(cost["window_usd"], 2) == round(sum(expected.values()), 2)
    assert cost["monthly_usd"] == pytest.approx(sum(expected.values()) * 730, abs=0.01)
    assert "730 h" in cost["extrapolation"]
    # Multi-AZ bills two DB instances; there is no sourced db.m5.large price, so it is listed, not guessed
    assert cost["unpriced"] == [{"component": "db", "usage_type": "InstanceUsage:db.m5.large:postgres",
                                 "quantity": 2.0}]
    assert qty(cost, "lb", "LCUUsage:application") == pytest.approx(lcu, abs=1e-6)
    assert any("processed bytes" in note for note in cost["notes"])
    assert cost["unmeasured"] == []


def test_lcus_without_byte_sizes_count_connections_and_say_so() -> None:
    spec = FULL.replace(", request_size: 1KB, response_size: 100KB", "")
    res = Simulation(cloudtwin.parse_spec(spec), duration=600).run()
    cost, n = res["cost"], res["components"]["lb"]["requests"]
    assert n == pytest.approx(6000, abs=1)
    # one new connection per request: n / (25/s x 3600 s) LCU-hours
    assert qty(cost, "lb", "LCUUsage:application") == pytest.approx(n / 90_000, abs=1e-6)
    missing = {(u["component"], u["usage_type"]) for u in cost["unmeasured"]}
    assert missing == {("lb", "processed bytes"), ("(network)", "DataTransfer-Out-Bytes")}
    assert qty(cost, "(network)", "DataTransfer-Out-Bytes") == 0


def test_cross_az_calls_without_size_are_unmeasured() -> None:
    spec = FULL.replace("        size: 2KB\n", "").replace(", size: 4KB", "").replace(", size: 2KB", "")
    sim = Simulation(cloudtwin.parse_spec(spec), duration=600)
    cost = sim.run()["cost"]
    assert qty(cost, "(network)", "DataTransfer-Regional-Bytes") == 0
    (entry,) = [u for u in cost["unmeasured"] if u["usage_type"] == "DataTransfer-Regional-Bytes"]
    assert f"{sim.network.cross_az_requests} cross-AZ calls" in entry["reason"]
    assert sim.network.cross_az_requests > 100


def test_rds_bills_ten_minutes_at_least() -> None:
    cost = Simulation(cloudtwin.parse_spec(FULL), duration=120).run()["cost"]
    # Multi-AZ x the 10-minute minimum
    assert qty(cost, "db", "InstanceUsage:db.m5.large:postgres") == pytest.approx(2 * 10 / 60, abs=1e-6)
    assert qty(cost, "app", "BoxUsage:m5.large") == pytest.approx(2 * 120 / 3600, abs=1e-6)  # EC2: per second


# ---------------------------------------------------------------- purchase mix
ASG = """
name: mix
components:
  web:
    type: asg
    instance_type: m5.large
    capacity: {{min: 4, desired: 4, max: 4}}
    purchase: {purchase}
    handler: [{{cpu: 5ms}}]
workloads:
  w: {{entry: web, rate: 20/s}}
simulate: {{duration: 30m, seed: 2}}
"""


def mix_cost(purchase: str, **kw: object) -> dict:
    sim = Simulation(cloudtwin.parse_spec(ASG.format(purchase=purchase)))
    for k, v in kw.items():
        setattr(sim, k, v)
    return sim.run()["cost"]


def test_purchase_mix_changes_the_bill_exactly_as_the_price_table_says() -> None:
    table = builtin()
    od = table.get("us-east-1", "BoxUsage:m5.large")
    ri = table.get("us-east-1", "ReservedUsage:m5.large")
    assert od is not None and ri is not None and ri.usd < od.usd
    all_od = mix_cost("{on_demand: 4}")
    mixed = mix_cost("{on_demand: 2, reserved: 2}")
    assert qty(all_od, "web", "BoxUsage:m5.large") == pytest.approx(4 * 0.5)
    assert qty(mixed, "web", "ReservedUsage:m5.large") == pytest.approx(2 * 0.5)
    # 2 instances x 0.5 h move from $0.096 to $0.060 an hour
    assert all_od["window_usd"] - mixed["window_usd"] == pytest.approx(2 * 0.5 * (od.usd - ri.usd), abs=1e-9)
    assert all_od["monthly_usd"] - mixed["monthly_usd"] == pytest.approx(2 * 730 * (od.usd - ri.usd), abs=0.01)


SPOT_M5_LARGE = 0.04366  # us-east-1 average spot, from the shared EC2 source (tools/make_prices.py)


def test_spot_is_priced_at_the_sourced_average_and_a_user_file_overrides_it(tmp_path: Path) -> None:
    cost = mix_cost("{on_demand: 2, spot: 2}")
    spot = next(i for i in cost["items"] if i["usage_type"] == "SpotUsage:m5.large")
    assert spot["unit_usd"] == SPOT_M5_LARGE and spot["quantity"] == 1.0 and "average spot" in spot["source"]
    f = tmp_path / "spot.csv"
    f.write_text("region,service,usage_type,unit,usd,source,date\n"
                 "us-east-1,ec2,SpotUsage:m5.large,instance-hour,0.035,my spot history,2026-11-01\n")
    priced = mix_cost("{on_demand: 2, spot: 2}", prices=builtin().overridden(f))
    assert priced["unpriced"] == []
    assert priced["window_usd"] - cost["window_usd"] == pytest.approx(1.0 * (0.035 - SPOT_M5_LARGE), abs=1e-9)


# ---------------------------------------------------------------- Route 53 and unpriced services
DNS = """
name: dns
components:
  dns:
    type: route53
    records:
      - {name: lb.example.com, alias: lb}
      - {name: box.example.com, a: box, ttl: 60s, health_check: {interval: 10}}
  lb: {type: nlb, targets: web}
  web: {type: ec2, count: 2, zones: [a, b], public_ip: false, handler: [{cpu: 1ms}]}
  box: {type: ec2, handler: [{cpu: 1ms}]}
workloads:
  via_lb: {entry: dns, host: lb.example.com, rate: 20/s, clients: 100}
  direct: {entry: dns, host: box.example.com, rate: 20/s, clients: 100}
simulate: {duration: 20m, seed: 4}
"""


def test_route53_bills_zone_health_check_and_non_alias_queries() -> None:
    sim = Simulation(cloudtwin.parse_spec(DNS))
    cost = sim.run()["cost"]
    dns = sim.components["dns"]
    alias, plain = dns.alias_queries, dns.queries - dns.alias_queries  # type: ignore[attr-defined]
    assert alias > 0 and plain > 0
    months = (20 / 60) / 730
    expected = months * 0.50 + months * 0.50 + months * 1.00 + plain * 0.40 / 1e6  # zone, check, fast option
    assert cost["by_component"]["dns"] == pytest.approx(expected, abs=1e-6)
    assert qty(cost, "dns", "DNS-Queries-Alias") == alias  # free [aws-facts §4]
    # ~100 clients re-resolve every 60 s: far fewer queries than requests
    assert plain < 0.2 * sim.workloads["direct"].requests


def test_nlb_hours_and_capacity_units_are_billed() -> None:
    cost = Simulation(cloudtwin.parse_spec(DNS), duration=600).run()["cost"]
    hours = next(i for i in cost["items"] if i["component"] == "lb" and i["usage_type"] == "LoadBalancerUsage:network")
    assert hours["quantity"] == round(1 / 6, 6) and hours["unit_usd"] == 0.0225  # infracost lb_test golden
    assert qty(cost, "lb", "LCUUsage:network") > 0  # 800 new connections/s per NLCU


def test_lcu_dimensions() -> None:
    from cloudtwin.pricing.lcu import ALB_UNIT, NLB_UNIT, lcu_hours

    assert lcu_hours(90_000, 0.0, 0.0, ALB_UNIT) == (pytest.approx(1.0), "new connections")
    assert lcu_hours(1000, 0.0, GIB, ALB_UNIT) == (pytest.approx(1000.0), "processed bytes")
    # 180,000 requests of 1 s each in 1 h keep 50 connections open: under 3,000, so new connections still win
    assert lcu_hours(180_000, 1.0, 0.0, ALB_UNIT)[1] == "new connections"
    assert lcu_hours(800 * 3600, 0.0, 0.0, NLB_UNIT)[0] == pytest.approx(1.0)


# ---------------------------------------------------------------- fixed (configured) cost
def test_fixed_cost_is_configured_capacity_for_730_hours() -> None:
    from cloudtwin.pricing import fixed_cost

    arch = cloudtwin.parse_spec(ASG.format(purchase="{on_demand: 1, reserved: 2, spot: 1}"))
    out = fixed_cost(arch)
    assert out["monthly_usd"] == pytest.approx(round(730 * (0.096 + 2 * 0.060 + SPOT_M5_LARGE), 2))
    assert out["unpriced"] == []
    full = fixed_cost(cloudtwin.parse_spec(FULL))
    assert full["by_component"] == pytest.approx({
        "lb": 730 * 0.0225 + 2 * 730 * 0.005, "app": 2 * 730 * 0.096, "cache": 2 * 730 * 0.017,
        "db": 2 * 100 * 0.115})
    based = {(u["component"], u["usage_type"]) for u in full["usage_based"]}
    assert ("lb", "LCUUsage:application") in based and ("(network)", "DataTransfer-Out-Bytes") in based


def test_every_price_row_has_a_source_and_a_date() -> None:
    from cloudtwin.pricing.table import BUILTIN, read_prices

    rows = read_prices(BUILTIN)
    assert len(rows) >= 25
    for p in rows:
        assert p.source.strip() and p.date.strip() and p.confidence in (
            "confirmed", "weak", "third-party", "unconfirmed"), p.usage_type
    assert len({(p.region, p.usage_type) for p in rows}) == len(rows)


def test_storage_and_aurora_configured_usage() -> None:
    from cloudtwin.pricing import fixed_cost

    arch = cloudtwin.parse_spec("""
name: storage
components:
  app: {type: ec2, public_ip: false, handler: [{cpu: 1ms}]}
  io: {type: ebs, volume_type: io2, iops: 5000, size_gb: 50}
  gp: {type: ebs, volume_type: gp3, iops: 6000, size_gb: 20}
  fs: {type: efs, storage_gb: 10}
  au: {type: aurora, engine: aurora-mysql, instance_class: db.r5.large, multi_az: true, storage_gb: 10}
""")
    out = fixed_cost(arch)
    assert out["by_component"] == pytest.approx({
        "app": 730 * 0.096, "io": 50 * 0.125 + 5000 * 0.065, "gp": 20 * 0.08, "fs": 10 * 0.30,
        "au": 10 * 0.10})  # one cluster volume (not one per instance) at $0.10/GB-month
    unpriced = {(u["component"], u["usage_type"]): u["quantity"] for u in out["unpriced"]}
    assert unpriced == {
        ("gp", "EBS:VolumeP-IOPS.gp3"): 3000.0,  # only the IOPS above gp3's free 3,000
        ("au", "InstanceUsage:db.r5.large:aurora-mysql"): 2 * 730.0,  # writer + the Multi-AZ replica
    }
