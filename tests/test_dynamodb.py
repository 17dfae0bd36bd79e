"""DynamoDB tables: capacity units, the per-partition limits (hot keys), burst capacity,
on-demand's starting capacity, billing units, and spec checks."""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Simulation, SpecError, parse_spec
from cloudtwin.spec import spec_warnings


def run(text: str, seed: int | None = 1) -> Any:
    return Simulation(parse_spec(text), seed=seed).run()


HOT = """
name: hot
components:
  t: {{type: dynamodb, capacity: provisioned, rcu: 100, wcu: 2000, key: "{key}"}}
workloads:
  w: {{entry: t, op: put, rate: 1200/s, arrivals: constant}}
simulate: {{duration: 60s}}
"""


def test_a_hot_key_is_throttled_at_one_partitions_1000_wcu_while_uniform_keys_are_not() -> None:
    """1,200 writes/s of 1 KB on a table with 2,000 WCU (3 partitions). Every write to key 42
    lands on one partition, which serves at most 1,000 WCU/s [aws-facts §11 partition limit]:
    of 72,000 writes about 61,000 (1,000/s plus one second's burst) succeed. The same rate on
    uniform keys is spread over the partitions and nothing is throttled."""
    hot = run(HOT.format(key="42")).component("t")
    assert hot["partitions"] == 3  # ceil(100/3000 + 2000/1000)
    assert hot["hot_partition_share"] == 1.0
    assert hot["writes"] == pytest.approx(61_000, abs=50)
    assert hot["throttled"] / hot["requests"] == pytest.approx(11 / 72, abs=0.005)
    assert sorted(hot["throttled_per_partition"])[:2] == [0, 0]
    uniform = run(HOT.format(key="uniform(1, 1000000)")).component("t")
    assert uniform["throttled"] == 0 and uniform["writes"] == 72_000
    assert uniform["hot_partition_share"] < 0.4


READS = """
name: reads
components:
  t: {{type: dynamodb, item_size: 4KiB, key: "7", consistent: {consistent}}}
workloads:
  w: {{entry: t, op: get, rate: 4000/s, arrivals: constant}}
simulate: {{duration: 30s}}
"""


def test_strongly_consistent_4kb_reads_of_one_key_stop_at_3000_rcu_per_partition() -> None:
    """4,000 strongly consistent reads/s of a 4 KiB item take 1 RCU each: the item's partition
    gives 3,000 [aws-facts §11] (plus one second's burst), so about a quarter is throttled.
    Eventually consistent reads take half a unit [aws-facts §11 capacity units]: 2,000 RCU/s
    fit and nothing is throttled."""
    strong = run(READS.format(consistent="true"))
    t = strong.component("t")
    assert t["consumed_rcu"] == pytest.approx(3000 * 31, abs=5)  # 30 s plus one second's burst
    assert t["throttled"] == pytest.approx(4000 * 30 - 3000 * 31, abs=5)
    assert strong.workload("w")["errors"]["throttled"] == pytest.approx(t["throttled"], abs=10)  # replies in flight
    eventual = run(READS.format(consistent="false")).component("t")
    assert eventual["throttled"] == 0
    assert eventual["consumed_rcu"] == pytest.approx(0.5 * 4000 * 30, abs=1)


BURST = """
name: burst
components:
  t: {{type: dynamodb, capacity: provisioned, rcu: 1, wcu: 100}}
workloads:
  w:
    entry: t
    op: put
    rate: 50/s
    arrivals: constant
    profile: {{type: spike, at: 10m, duration: {spike}, factor: 4}}
simulate: {{duration: {total}}}
"""


def test_burst_capacity_absorbs_a_short_spike_but_not_a_long_one() -> None:
    """100 WCU provisioned; 10 min at 50 writes/s bank the unused 50/s, up to 300 s of
    capacity (30,000 WCU) [aws-facts §11 burst capacity]. A 2-minute spike to 200/s needs
    12,000 above capacity: all absorbed. A 10-minute spike drains the bank in 300 s, then
    100 writes/s are throttled for the remaining 300 s: about 30,000."""
    short = run(BURST.format(spike="2m", total="13m")).component("t")
    assert short["throttled"] == 0
    assert short["writes"] == pytest.approx(50 * 660 + 200 * 120, abs=10)
    long = run(BURST.format(spike="10m", total="20m")).component("t")
    assert long["throttled"] == pytest.approx(30_000, rel=0.03)
    assert long["consumed_wcu"] == pytest.approx(50 * 600 + 200 * 600 - long["throttled"], abs=10)


def test_a_new_on_demand_table_sustains_4000_writes_per_second() -> None:
    """A new on-demand table sustains 4,000 WRU/s [aws-facts §11 on-demand scaling]; at
    5,000 uniform writes/s for 30 s, 4,000/s (plus one second's burst) succeed and the rest,
    about a sixth, are throttled; only the successful writes are billed."""
    sim = Simulation(parse_spec("""
name: od
components:
  t: {type: dynamodb}
workloads:
  w: {entry: t, op: put, rate: 5000/s, arrivals: constant}
simulate: {duration: 30s}
"""), seed=1)
    t = sim.run().component("t")
    assert t["partitions"] == 4
    assert t["writes"] == pytest.approx(4000 * 31, abs=100)
    assert t["throttled"] == t["requests"] - t["writes"]
    assert sim.components["t"].usage() == {"WriteRequestUnits": t["consumed_wcu"]}  # type: ignore[attr-defined]
    assert t["consumed_wcu"] == t["writes"]


def test_request_units_follow_item_size_and_consistency() -> None:
    """Eventually consistent 1 KiB gets take 0.5 RRU; a query of 10 items x 1 KiB takes
    ceil(10 KiB / 4 KiB) = 3 units, halved: 1.5; a 2.5 KB write takes ceil(2,500 / 1,024) = 3."""
    res = run("""
name: units
components:
  t: {type: dynamodb, item_size: 2500}
  q: {type: dynamodb}
workloads:
  w: {entry: t, op: put, rate: 10/s, arrivals: constant}
  r: {entry: q, op: get, rate: 10/s, arrivals: constant}
  s: {entry: q, op: query, rate: 10/s, arrivals: constant}
simulate: {duration: 100s}
""")
    t, q = res.component("t"), res.component("q")
    assert t["consumed_wcu"] == 3 * t["writes"] == 3000
    assert q["consumed_rcu"] == 0.5 * q["reads"] + 1.5 * q["queries"] == 2000


def test_a_zone_outage_does_not_touch_dynamodb() -> None:
    res = run("""
name: regional
zones: [a, b]
components:
  t: {type: dynamodb}
workloads:
  w: {entry: t, rate: 100/s}
faults:
  - {at: 10s, az_outage: a, duration: 30s}
simulate: {duration: 60s}
""")
    w = res.workload("w")
    assert w["failed"] == 0 and w["succeeded"] == w["requests"] > 5000


def test_retries_get_hot_key_writes_through_later() -> None:
    """The SDK's retries (a call step's ``retries``) get throttled writes through once the
    burst is over: 1,500 writes/s on one key for 10 s, where its partition takes 1,000/s."""
    res = run("""
name: retry
components:
  t: {type: dynamodb, key: "1"}
  app:
    type: ec2
    workers: 4096
    backlog: 100000
    handler: [{call: t.put, retries: 10, backoff: 0.2s}]
workloads:
  w: {entry: app, rate: 1500/s, arrivals: constant, profile: {type: spike, at: 10s, duration: 100s, factor: 0}}
simulate: {duration: 60s}
""")
    w, t = res.workload("w"), res.component("t")
    assert t["throttled"] > 4000
    assert w["succeeded"] == w["requests"] == t["writes"]


@pytest.mark.parametrize(("body", "line", "message"), [
    ("capacity: provisioned\n    rcu: 5", 3, "needs both `rcu:` and `wcu:`"),
    ("rcu: 5", 3, "apply to `capacity: provisioned`"),
    ("item_size: 500KB", 5, "above DynamoDB's 400 KB"),
])
def test_bad_tables_are_spec_errors_with_their_line(body: str, line: int, message: str) -> None:
    with pytest.raises(SpecError) as exc:
        parse_spec(f"name: bad\ncomponents:\n  t:\n    type: dynamodb\n    {body}\n", file="t.yaml")
    assert f"t.yaml:{line}:" in str(exc.value) and message in str(exc.value)


def test_provisioned_capacity_above_the_table_quota_is_warned() -> None:
    arch = parse_spec("name: q\ncomponents:\n  t: {type: dynamodb, capacity: provisioned, rcu: 50000, wcu: 10}\n")
    found = [i.message for i in spec_warnings(arch)]
    assert any("rcu 50000" in m and "40,000" in m for m in found)
    assert not any("wcu" in m for m in found)


def test_a_call_or_workload_with_no_word_on_retries_is_warned_about_the_sdk_default() -> None:
    """AWS SDKs retry throttles by default; a spec that says nothing is warned (it fails every
    throttle), one that sets retries (even 0) is not."""
    text = """
name: sdk
components:
  t: {type: dynamodb}
  fn: {type: lambda, handler: [{call: t.get}, {call: t.put, retries: 0}, {call: t.query, retries: 2}]}
workloads:
  direct: {entry: t, rate: 1/s}
  sdk: {entry: t, rate: 1/s, retries: 2}
"""
    found = {i.path: i.message for i in spec_warnings(parse_spec(text))}
    assert set(found) == {"components.fn.handler[0].call", "workloads.direct.entry"}
    assert all("standard mode: 3 attempts" in m and "retries: 2" in m for m in found.values())


def test_an_on_demand_table_doubles_its_previous_peak_once_it_is_old_enough() -> None:
    """The previous-peak rule [aws-facts §11 on-demand scaling] with the figures scaled down
    (a new table of 20 WRU/s, peaks counting after 2 min instead of 30): writes run at 15/s,
    so from 2 min the table takes twice that, 30/s; they step to 100/s at 5 min. 30/s are taken
    until the step's first minute (30/s consumed) is 2 min old, 3 minutes (then 60/s), and
    60/s until a 60/s minute is, 3 more: throttles fall in two steps, 70/s, then 40/s, then
    none (120/s fits)."""
    res = run("""
name: od
components:
  t: {type: dynamodb, on_demand: {initial_write: 20/s, peak_age: 2m}}
workloads:
  w: {entry: t, op: put, rate: 15/s, arrivals: constant, profile: {type: spike, at: 5m, duration: 9m, factor: 6.666667}}
simulate: {duration: 14m}
""")
    thr = res["series"]["components"]["t"]["throttled"]
    assert sum(thr[:5]) == 0
    per_s = [x / 60 for x in thr[5:]]
    assert per_s == pytest.approx([70, 70, 70, 40, 40, 40, 0, 0, 0], abs=1)
