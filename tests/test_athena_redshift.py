"""Athena (bytes scanned, time, limits, results in S3), Redshift (slots, COPY), QuickSight (SPICE
staleness, direct query) and Firehose's Redshift destination."""

from __future__ import annotations

import pytest

from cloudtwin import Results, Simulation, parse_spec
from cloudtwin.errors import SpecError
from cloudtwin.spec.references import warnings

MIB = 1_048_576.0


def athena(wg: str = "", rate: str = "1/m", stored: str = "100GB", duration: str = "10m", extra: str = "",
           workload: str = "") -> str:
    return f"""
name: an
components:
  lake:
    type: s3
    stored: {{data/: {stored}}}
  wg:
    type: athena
    bucket: lake
    prefix: data/
{wg}
{extra}
workloads:
  q:
    entry: wg
    rate: {rate}
    arrivals: constant
{workload}
simulate: {{duration: {duration}, seed: 5}}
"""


def run(text: str) -> Results:
    return Simulation(parse_spec(text)).run()


@pytest.mark.parametrize(("wg", "share"), [
    ("", 1.0),
    ("    format: parquet\n    columns_read: 0.2", 0.2),
    ("    format: parquet\n    partitioned: true\n    partition_filter: 0.05\n    columns_read: 0.2", 0.01),
    ("    format: json\n    partitioned: true\n    partition_filter: 0.05", 0.05),
])
def test_a_query_scans_the_stored_bytes_times_what_it_must_read(wg: str, share: float) -> None:
    res = run(athena(wg))
    st = res.component("wg")
    assert st["queries"] == 10 and st["succeeded"] >= 9
    assert st["mean_bytes_per_query"] == pytest.approx(100e9 * share, rel=1e-9)
    usage = {i["usage_type"]: i["quantity"] for i in res["cost"]["items"] + res["cost"]["unpriced"]
             if i["component"] == "wg"}
    # billed when a query ends: 9 of the 10 ended within the 10 minutes
    assert usage["Athena-TB-Scanned"] == pytest.approx(9 * 100e9 * share / 1024**4, rel=1e-3)


def test_tiny_queries_are_billed_10_mb_each() -> None:
    st = run(athena(stored="1MB")).component("wg")
    assert st["succeeded"] == 9 and st["bytes_scanned"] == pytest.approx(9 * 1e6)
    assert st["bytes_billed"] == 9 * 10 * MIB


def test_query_time_is_overhead_plus_bytes_over_the_scan_rate_and_results_land_in_s3() -> None:
    sim = Simulation(parse_spec(athena("    scan_rate: 1GB\n    output_prefix: reports/\n    result_size: 2MB")))
    res = sim.run()
    st = res.component("wg")
    lat = st["latency_ms"]
    assert lat["min"] > 100e3 and lat["max"] < 100e3 + 6e3  # 100 GB at 1 GB/s + planning
    # one query a minute from minute 1; each takes 101 s, so those started at 9 and 10 min are still running
    assert res.workload("q")["succeeded"] == st["succeeded"] == 8 and res.workload("q")["in_flight"] == 2
    lake = sim.components["lake"]
    assert lake.stored_objects("reports/") == 8 and lake.stored_bytes("reports/") == 8 * 2e6  # type: ignore[attr-defined]


def test_start_query_execution_is_throttled_past_20_per_second_with_a_burst_of_80() -> None:
    res = run(athena("    active_queries: 1000", rate="40/s", stored="1MB", duration="10s"))
    st = res.component("wg")
    # 400 starts in 10 s against 20/s + a burst of 80: about 400 - 200 - 80 = 120 throttled [aws-facts §18]
    assert st["throttled"]["start_query_rate"] == pytest.approx(120, abs=4)
    assert res.workload("q")["errors"]["throttled"] == st["throttled"]["start_query_rate"]


def test_active_queries_over_the_quota_get_too_many_requests() -> None:
    """One 100 s query per second against 25 active queries: after 25 start, the rest are refused."""
    res = run(athena("    scan_rate: 1GB", rate="1/s", duration="60s"))
    st = res.component("wg")
    assert st["max_active"] == 25 and st["throttled"]["active_queries"] == 60 - 25


def test_a_query_past_the_timeout_fails_and_pays_for_what_it_read() -> None:
    res = run(athena("    scan_rate: 1GB\n    timeout: 60s", stored="1TB", rate="1/m", duration="5m"))
    st = res.component("wg")
    assert st["timeouts"] == st["queries"] - 1 == 4 and st["succeeded"] == 0  # the 5th started at the end
    assert st["mean_bytes_per_query"] == pytest.approx(59e9, rel=0.05)  # 60 s minus the planning overhead


def test_partition_filter_on_an_unpartitioned_table_is_warned() -> None:
    arch = parse_spec(athena("    partition_filter: 0.1\n    columns_read: 0.5"))
    found = {".".join(map(str, p)): m for p, m in warnings(arch)}
    assert "unpartitioned" in found["components.wg.partition_filter"]
    assert "parquet and orc" in found["components.wg.columns_read"]


REDSHIFT = """
name: rs
components:
  lake: {{type: s3, stored: {{loads/: 1GB}}}}
  dw:
    type: redshift
    nodes: {nodes}
    concurrency: 5
    query_time: 1s
    load_bucket: lake
    load_prefix: loads/
    load_every: 1m
workloads:
  q: {{entry: dw, rate: {rate}, arrivals: constant}}
simulate: {{duration: 3m, seed: 1}}
"""


@pytest.mark.parametrize(("nodes", "copy_s"), [(2, 2 + 1e9 / (50e6 * 2)), (4, 2 + 1e9 / (50e6 * 4))])
def test_copy_time_scales_with_the_nodes(nodes: int, copy_s: float) -> None:
    st = run(REDSHIFT.format(nodes=nodes, rate="1/s")).component("dw")
    assert st["copies"] == 3 and st["bytes_copied"] == 1e9  # the first load takes it all; later ones find nothing new
    assert st["copy_ms"]["max"] == pytest.approx(copy_s * 1000, rel=0.02)
    cost = run(REDSHIFT.format(nodes=nodes, rate="1/s"))["cost"]
    usage = {i["usage_type"]: i["quantity"] for i in cost["items"] + cost["unpriced"]}
    assert usage["Node:dc2.large"] == pytest.approx(nodes * 3 / 60)


def test_queries_wait_for_a_wlm_slot_when_the_slots_are_busy() -> None:
    calm = run(REDSHIFT.format(nodes=2, rate="4/s")).component("dw")  # 4 s of work per s on 5 slots
    busy = run(REDSHIFT.format(nodes=2, rate="8/s")).component("dw")  # 8 s per s: the queue grows
    assert calm["max_queue"] < 20 and calm["wait_ms"]["p50"] < 100
    assert busy["queued"] > 400 and busy["wait_ms"]["max"] > 60e3


DASH = """
name: qs
components:
  lake: {{type: s3, stored: {{data/: 10GB}}}}
  wg: {{type: athena, bucket: lake, prefix: data/}}
  dash: {{type: quicksight, source: wg, mode: {mode}, refresh_every: 5m}}
workloads:
  viewers: {{entry: dash, op: view, rate: 1/s}}
simulate: {{duration: 20m, seed: 4}}
"""


def test_spice_views_read_the_last_refresh_and_direct_views_query_each_time() -> None:
    spice = run(DASH.format(mode="spice"))
    d, wg = spice.component("dash"), spice.component("wg")
    assert d["refreshed"] == 3 and wg["queries"] == 4  # minutes 5, 10, 15 done; the 20th-minute one started
    assert d["staleness_ms"]["mean"] == pytest.approx(150e3, rel=0.1)  # uniform over 5 minutes
    assert d["staleness_ms"]["max"] < 300e3 + 10e3
    direct = run(DASH.format(mode="direct"))
    d2, wg2 = direct.component("dash"), direct.component("wg")
    assert wg2["queries"] == pytest.approx(d2["views"] + d2["refreshes"], abs=2)
    assert wg2["bytes_scanned"] > 300 * wg["bytes_scanned"]  # every view scans 10 GB
    assert direct.workload("viewers")["latency_ms"]["p50"] > 5 * spice.workload("viewers")["latency_ms"]["p50"]


def test_firehose_to_redshift_delivers_a_record_when_its_copy_ends() -> None:
    res = run("""
name: fr
components:
  fh: {type: firehose, s3: stage, redshift: dw, buffer_size: 1MiB, buffer_interval: 60s}
  stage: {type: s3}
  dw: {type: redshift, nodes: 1, load_rate: 1MB}
workloads:
  put: {entry: fh, rate: 200/s, message: {size: 1KB}}
simulate: {duration: 2m, seed: 1}
""")
    fh, dw = res.component("fh"), res.component("dw")
    assert dw["copies"] == fh["objects"] > 20
    assert dw["copy_ms"]["min"] > 2000 + 1000  # 2 s overhead + 1 MiB at 1 MB/s
    assert fh["delivery_latency_ms"]["max"] > (MIB / 200e3 + 3) * 1000  # buffer fill + COPY
    m = res["messages"]
    assert m["lost"] == 0 and m["delivered"] + m["in_flight"] == m["published"]


@pytest.mark.parametrize(("old", "new", "path"), [
    ("source: wg", "source: lake", "components.dash.source"),
    ("bucket: lake, prefix", "bucket: dash, prefix", "components.wg.bucket"),
])
def test_bad_references_name_their_path(old: str, new: str, path: str) -> None:
    with pytest.raises(SpecError) as e:
        parse_spec(DASH.format(mode="spice").replace(old, new))
    assert e.value.issues[0].path == path
