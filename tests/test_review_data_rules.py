"""The data rules: a DynamoDB hot partition (CT-PERF-005) and throttled Kinesis producers (CT-REL-022).

Static verdicts come from the spec's key draws, peak rates and limits; dynamic ones from a real
simulated run of the spec (the ``spec`` scenario alone, to keep the file fast), and they quote
the measured numbers.
"""

from __future__ import annotations

from cloudtwin import parse_spec
from cloudtwin.review import load_rules, review
from cloudtwin.review.context import Context
from cloudtwin.review.dynamic import Measured, Scenario
from cloudtwin.review.rules._rates import harmonic, top_share
from cloudtwin.simulation import Simulation
from cloudtwin.spec.units import parse_key_distribution

HOT = "CT-PERF-005"
KDS = "CT-REL-022"

READER = """
name: reader
components:
  api:
    type: lambda
    handler:
      - call: {target}.get
        key: "{key}"
        timeout: 1s
  cache: {{type: dax, table: items}}
  items: {{type: dynamodb, item_size: 8KB}}
workloads:
  users: {{entry: api, rate: {rate}/s}}
"""


def static(text: str, rule: str) -> list:
    return review(parse_spec(text)).by_rule(rule)


def measured(text: str, rule_id: str) -> tuple[list, str | None]:
    """The rule's findings and clean note with the spec's own run as the measurement."""
    arch = parse_spec(text)
    data = Simulation(arch).run().data
    ctx = Context(arch, None, Measured({"spec": Scenario("spec", "the spec's run", data)}))
    rule = next(r for r in load_rules() if r.id == rule_id)
    return rule.check(ctx), rule.clean(ctx)


# ---- the key-skew arithmetic ---------------------------------------------------
def test_hottest_key_share_of_the_key_draws() -> None:
    assert top_share(parse_key_distribution("7")) == 1.0
    assert abs(top_share(parse_key_distribution("zipf(s=1.5, n=1000)")) - 1 / 2.5479) < 1e-3
    assert top_share(parse_key_distribution("uniform(1, 1000)")) == 1 / 1000
    # the tail beyond 10,000 terms is summed in closed form: exact sums agree to 1e-6
    exact = sum(k ** -1.1 for k in range(1, 200_001))
    assert abs(harmonic(200_000, 1.1) - exact) < 1e-6


# ---- CT-PERF-005, static ----------------------------------------------------------
def test_skewed_reads_over_a_partition_fire_with_the_estimate() -> None:
    """zipf(1.5, 1000): the hottest key takes 39.2%; 6,000 RCU/s over 4 partitions puts ~3,265 RCU/s
    (39.2% + 60.8%/4 of it) on one partition, above its 3,000."""
    found = static(READER.format(target="items", key="zipf(s=1.5, n=1000)", rate=6000), HOT)
    assert len(found) == 1
    f = found[0]
    assert f.component == "items" and f.path == "components.api.handler[0].key"
    data = f.evidence[0].data
    assert data["peak_units_per_s"] == 6000.0 and data["partitions"] == 4
    assert 3200 < data["hot_partition_units_per_s"] < 3300, data
    assert "3,265 RCU/s" in f.evidence[0].text and "DAX" in f.fix


def test_no_finding_below_the_partition_limit_or_with_uniform_keys() -> None:
    # 5,000 reads/s: the hottest partition takes ~2,720 RCU/s, under 3,000
    assert static(READER.format(target="items", key="zipf(s=1.5, n=1000)", rate=5000), HOT) == []
    # uniform keys at the same 6,000 RCU/s: 1,500 per partition, and uniform is never skew
    assert static(READER.format(target="items", key="uniform(1, 1000000)", rate=6000), HOT) == []


def test_reads_through_dax_or_a_cache_are_not_counted() -> None:
    assert static(READER.format(target="cache", key="zipf(s=1.5, n=1000)", rate=6000), HOT) == []
    aside = """
name: aside
components:
  api:
    type: lambda
    handler:
      - call: ec.get
        key: "7"
        timeout: 50ms
        on_miss: [{call: items.get, key: "7", timeout: 1s}]
  ec: {type: elasticache, replicas: 1}
  items: {type: dynamodb, item_size: 8KB}
workloads:
  users: {entry: api, rate: 6000/s}
"""
    assert static(aside, HOT) == []


def test_constant_key_writes_over_1000_wcu_fire_even_through_dax() -> None:
    """Writes go through DAX to the table: 1,200 puts/s of 1 KB items on one key is 1,200 WCU/s on one partition."""
    text = READER.format(target="cache", key="42", rate=1200).replace("cache.get", "cache.put") \
        .replace("item_size: 8KB", "item_size: 1KB")
    found = static(text, HOT)
    assert len(found) == 1 and "writes" in found[0].message
    assert found[0].evidence[0].data["hot_partition_units_per_s"] == 1200.0
    assert static(text.replace("rate: 1200/s", "rate: 900/s"), HOT) == []


# ---- CT-PERF-005, measured ----------------------------------------------------------
TABLE = """
name: table
components:
  items: {{type: dynamodb, capacity: provisioned, rcu: {rcu}, wcu: 10, partitions: 4, item_size: 40KB,
          consistent: true, key: "{key}"}}
workloads:
  readers: {{entry: items, rate: 350/s, arrivals: constant}}
simulate: {{duration: 60s, seed: 1}}
"""


def test_measured_hot_partition_fires_and_quotes_the_numbers() -> None:
    """350 strongly consistent reads/s of 40 KB (10 RCU each) on one key: 3,500 RCU/s on a partition that
    serves 3,000, while the table (8,000 RCU/s) is far from its limit."""
    found, _ = measured(TABLE.format(rcu=8000, key="7"), HOT)
    assert len(found) == 1
    dyn = [e for e in found[0].evidence if e.kind == "dynamic"][0]
    d = dyn.data
    assert d["throttled"] > 0 and sum(1 for x in d["throttled_per_partition"] if x) == 1
    # about 50 of the 350 reads/s are over the partition's 3,000 RCU (a second's burst absorbs the first ones)
    assert 2000 < d["throttled"] < 3200, d
    assert d["hot_partition_share"] == 1.0 and d["peak_rcu_per_s"] < 0.9 * d["table_limit_rcu_per_s"]
    assert f"{d['throttled']:,} requests" in dyn.text and "100% of them" in dyn.text


def test_measured_uniform_keys_do_not_fire_and_the_note_says_why() -> None:
    found, note = measured(TABLE.format(rcu=8000, key="uniform(1, 1000000)"), HOT)
    assert found == []
    assert note is not None and "0 throttled" in note


def test_table_wide_throttling_is_not_a_hot_partition() -> None:
    """Uniform reads of 3,500 RCU/s against a 1,000 RCU/s table: throttles everywhere, at the table limit."""
    found, _ = measured(TABLE.format(rcu=1000, key="uniform(1, 1000000)"), HOT)
    assert found == []


# ---- CT-REL-022, static -------------------------------------------------------------
STREAM = """
name: stream
components:
  clicks: {{type: kinesis, shards: {shards}}}
workloads:
  devices: {{entry: clicks, rate: {rate}/s{profile}}}
simulate: {{duration: 30s, seed: 1}}
"""
SPIKE = ", profile: {type: spike, at: 10s, duration: 10s, factor: 2}"


def test_the_spike_factor_counts() -> None:
    """800/s doubled by the spike is 1,600 records/s into one shard of 1,000; without the spike it fits."""
    found = static(STREAM.format(shards=1, rate=800, profile=SPIKE), KDS)
    assert len(found) == 1
    d = found[0].evidence[0].data
    assert (d["peak_records_per_s"], d["capacity_records_per_s"]) == (1600.0, 1000.0)
    assert "about 2 for this peak" in found[0].fix
    assert static(STREAM.format(shards=1, rate=800, profile=""), KDS) == []
    assert static(STREAM.format(shards=2, rate=800, profile=SPIKE), KDS) == []


def test_bytes_per_second_count_too() -> None:
    """500 records/s of 4 KB is 2 MB/s: twice one shard's 1 MB/s though the record rate has room."""
    text = STREAM.format(shards=1, rate=500, profile=", message: {size: 4KB}")
    found = static(text, KDS)
    assert len(found) == 1 and found[0].evidence[0].data["peak_bytes_per_s"] == 2_000_000.0


def test_an_api_throttle_caps_what_reaches_the_stream() -> None:
    api = """
name: api
components:
  ingest:
    type: apigateway
    throttle: {rate: %s, burst: 100}
    integration: {target: clicks, op: put}
  clicks: {type: kinesis, shards: 1}
workloads:
  devices: {entry: ingest, rate: 1500/s}
"""
    assert static(api % "900/s", KDS) == []
    found = static(api % "5000/s", KDS)
    assert len(found) == 1 and found[0].evidence[0].data["peak_records_per_s"] == 1500.0


# ---- CT-REL-022, measured -------------------------------------------------------------
def test_measured_throttles_fire_with_the_counts() -> None:
    """1,500 puts/s into one shard for 30 s: about a third are refused."""
    found, _ = measured(STREAM.format(shards=1, rate=1500, profile=", arrivals: constant"), KDS)
    assert len(found) == 1
    dyn = [e for e in found[0].evidence if e.kind == "dynamic"][0]
    thr, acc = dyn.data["throttled"], dyn.data["accepted"]
    assert 0.28 < thr / (thr + acc) < 0.36, (thr, acc)
    assert f"{thr:,} of {thr + acc:,} put attempts" in dyn.text


def test_measured_room_does_not_fire() -> None:
    found, note = measured(STREAM.format(shards=2, rate=1500, profile=", arrivals: constant"), KDS)
    assert found == []
    assert note is not None and "none throttled" in note
