"""Firehose: Direct PUT quota, buffering by size or interval, billing unit, format ratios,
the Lambda transform's failures, S3 retries, a Kinesis source, and bad buffers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cloudtwin import Results, Simulation, parse_spec
from cloudtwin.errors import SpecError

MIB = 1_048_576.0


def spec(fh: str = "", rate: str = "1000/s", size: str = "1KB", extra: str = "", duration: str = "30s") -> str:
    return f"""
name: fh
components:
  fh:
    type: firehose
    s3: lake
    prefix: raw/
{fh}
  lake: {{type: s3}}
{extra}
workloads:
  put:
    entry: fh
    rate: {rate}
    arrivals: constant
    message: {{size: {size}}}
simulate: {{duration: {duration}, seed: 3}}
"""


def run(text: str) -> Results:
    return Simulation(parse_spec(text)).run()


def test_direct_put_over_the_request_quota_is_throttled() -> None:
    """3,000 puts/s against 2,000 requests/s (+ one second's burst): ~1,000/s throttled [aws-facts §9]."""
    res = run(spec(rate="3000/s", duration="20s"))
    fh = res.component("fh")
    assert fh["throttled"] == pytest.approx(20 * 1000 - 2000, rel=0.03)
    w = res.workload("put")
    assert fh["throttled"] - w["in_flight"] <= w["errors"]["throttled"] <= fh["throttled"]  # replies on their way
    assert res["messages"]["published"] == fh["records_in"] == res.workload("put")["requests"] - fh["throttled"]


def test_direct_put_over_the_byte_quota_is_throttled() -> None:
    """1,000 puts/s of 10 KiB = 10 MiB/s against 5 MiB/s: about half are throttled."""
    res = run(spec(rate="1000/s", size="10KiB", duration="20s"))
    assert res.component("fh")["throttled"] == pytest.approx(20 * 1000 / 2 - 512, rel=0.03)


def test_size_bound_buffer_flushes_every_buffer_size_of_bytes() -> None:
    """1 MB/s into a 5 MiB buffer: an object every 5.24 s, latency at most about that."""
    res = run(spec(duration="60s"))
    fh = res.component("fh")
    assert fh["flushes"]["interval"] == 0
    assert fh["flushes"]["size"] == int(60 / (5 * MIB / 1e6))
    assert fh["objects"] == pytest.approx(11, abs=1)
    lat = fh["delivery_latency_ms"]
    assert 5.2e3 < lat["max"] < 5.24e3 + 4e3 and lat["mean"] == pytest.approx(5.24e3 / 2 + 600, rel=0.2)
    m = res["messages"]
    assert m["delivered"] + m["in_flight"] == m["published"] and m["lost"] == 0
    assert res.component("lake")["stored_bytes"] == pytest.approx(fh["records_delivered"] * 1000)


def test_interval_bound_buffer_flushes_on_the_interval() -> None:
    res = run(spec("    buffer_interval: 60s", rate="10/s", duration="5m"))
    fh = res.component("fh")
    assert fh["flushes"] == {"size": 0, "interval": 4}  # the fifth is still on its way at the end
    lat = fh["delivery_latency_ms"]
    assert 60e3 < lat["max"] < 65e3 and lat["mean"] == pytest.approx(30e3, rel=0.1)


def test_each_record_is_billed_rounded_up_to_5_kb() -> None:
    res = run(spec(rate="100/s", size="6000B", duration="10s"))
    fh = res.component("fh")
    assert fh["billed_gb"] == pytest.approx(fh["records_in"] * 10240 / 1024**3, rel=1e-4)
    usage = {i["usage_type"]: i["quantity"] for i in res["cost"]["unpriced"] if i["component"] == "fh"}
    assert usage["Firehose-IngestGB"] == pytest.approx(fh["billed_gb"], rel=1e-4)


@pytest.mark.parametrize(("fmt", "ratio"), [("format: parquet", 0.2), ("compression: gzip", 0.25)])
def test_format_conversion_and_compression_shrink_stored_bytes(fmt: str, ratio: float) -> None:
    res = run(spec(f"    {fmt}", duration="30s"))
    fh = res.component("fh")
    assert fh["bytes_out"] == pytest.approx(fh["records_delivered"] * 1000 * ratio, rel=1e-6)


TRANSFORM = """
  enrich:
    type: lambda
    memory: 1769
    timeout: {timeout}
    handler: [{{cpu: 1ms}}]
"""


def test_records_the_transform_fails_go_to_the_error_prefix_not_lost() -> None:
    text = spec("    transform: {function: enrich, error_rate: 0.05}", rate="200/s", duration="2m",
                extra=TRANSFORM.format(timeout="1m"))
    res = run(text)
    fh = res.component("fh")
    assert fh["transform"]["failed_records"] == fh["delivered_to_error_prefix"]
    assert fh["delivered_to_error_prefix"] == pytest.approx(0.05 * fh["records_in"], rel=0.15)
    m = res["messages"]
    assert m["lost"] == 0 and m["delivered"] + m["in_flight"] == m["published"]
    assert res.component("lake")["stored_objects"] == fh["objects"]


def test_a_transform_that_times_out_is_retried_then_its_batch_goes_to_the_error_prefix() -> None:
    """200 records x 10 ms = 2 s per batch against a 1 s timeout: 1 + 3 attempts, then processing-failed/."""
    text = spec("    transform: {function: enrich, buffer_size: 0.2MB}", rate="100/s", duration="1m",
                extra=TRANSFORM.format(timeout="1s").replace("1ms", "10ms"))
    res = run(text)
    fh = res.component("fh")
    batches = fh["error_objects"]
    assert batches >= 20 and fh["transform"]["retries"] >= 3 * batches
    m = res["messages"]
    assert fh["records_delivered"] == 0 and m["delivered"] == fh["delivered_to_error_prefix"]
    assert 0 <= fh["transform"]["failed_records"] - fh["delivered_to_error_prefix"] <= 200  # the last batch's PUT
    assert m["lost"] == 0 and m["in_flight"] == fh["buffered"]


class Refusing:
    """Stands in for the bucket: refuses every PUT (throttled) until ``until`` seconds."""

    def __init__(self, real: object, until: float) -> None:
        self.real, self.until, self.refused = real, until, 0

    def write_object(self, prefix: str, size: float, user: int | None = None) -> str | None:
        if self.real.engine.now < self.until:  # type: ignore[attr-defined]
            self.refused += 1
            return "throttled"
        return self.real.write_object(prefix, size, user)  # type: ignore[attr-defined]


def test_a_throttled_s3_write_is_retried_and_delivers_later() -> None:
    sim = Simulation(parse_spec(spec(duration="2m")))
    fh = sim.components["fh"]
    fake = fh.bucket = Refusing(sim.components["lake"], until=40.0)  # type: ignore[attr-defined]
    res = sim.run()
    st = res.component("fh")
    assert fake.refused == st["write_retries"] > 5
    assert st["lost"] == 0 and st["delivery_latency_ms"]["max"] > 35e3
    assert res["messages"]["delivered"] + res["messages"]["in_flight"] == res["messages"]["published"]


def test_past_the_retry_duration_the_records_are_lost_under_a_named_cause() -> None:
    sim = Simulation(parse_spec(spec("    retry_duration: 20s", duration="1m")))
    fh = sim.components["fh"]
    fh.bucket = Refusing(sim.components["lake"], until=1e9)  # type: ignore[attr-defined]
    res = sim.run()
    m = res["messages"]
    assert m["lost"] == res.component("fh")["lost"] > 0
    assert set(m["lost_by_cause"]) == {"firehose_retry_duration_exceeded"}


KINESIS = """
name: ks
components:
  stream: {type: kinesis, shards: 2, consumers: [{function: fn}]}
  fn: {type: lambda, handler: [{cpu: 0.1ms}]}
  fh: {type: firehose, source: stream, s3: lake, buffer_size: 1MiB, buffer_interval: 10s}
  lake: {type: s3}
workloads:
  put: {entry: stream, rate: 1500/s, message: {size: 1KB}}
simulate: {duration: 1m, seed: 2}
"""


def test_a_kinesis_source_is_read_like_a_shared_consumer() -> None:
    res = run(KINESIS)
    ks, fh = res.component("stream"), res.component("fh")
    src = next(c for c in ks["consumers"] if c.get("firehose") == "fh")
    assert src["records_read"] + src["backlog"] == ks["accepted"] == fh["records_in"] + src["backlog"]
    # one poll per shard per second, later when the Lambda's reads have used the shard's 5 calls/s
    assert src["read_waits"] > 0 and 2 * 60 / 1.25 <= src["get_records_calls"] <= 2 * 60
    m = res["messages"]
    assert m["published"] == 2 * ks["accepted"]  # one copy for the Lambda, one for Firehose
    assert m["lost"] == 0 and m["delivered"] + m["in_flight"] == m["published"]


def test_a_stream_sourced_delivery_stream_takes_no_direct_put() -> None:
    with pytest.raises(SpecError) as e:
        parse_spec(KINESIS.replace("put: {entry: stream", "put: {entry: fh"))
    i = e.value.issues[0]
    assert i.path == "workloads.put.entry" and "takes no Direct PUT" in i.message


@pytest.mark.parametrize(("line", "words"), [
    ("    buffer_size: 200MB", "1-128 MiB"),
    ("    buffer_size: 512KB", "1-128 MiB"),
    ("    buffer_interval: 20m", "0-900 s"),
    ("    transform: {function: fh, buffer_size: 5MB}", "0.2-3 MB"),
])
def test_a_firehose_buffer_outside_the_documented_ranges_is_refused_with_file_line(line: str, words: str) -> None:
    with pytest.raises(SpecError) as e:
        parse_spec(spec(line), file="pipe.yaml")
    i = e.value.issues[0]
    key = line.split(":")[0].strip()
    assert i.path.startswith(f"components.fh.{key}") and i.line == 8 and i.file == "pipe.yaml"
    assert words in i.message and "aws-facts §9" in i.message


def test_the_cli_names_the_path_and_line_of_a_bad_buffer(tmp_path: object) -> None:
    from pathlib import Path

    p = Path(str(tmp_path)) / "pipe.yaml"
    p.write_text(spec("    buffer_size: 200MB"), encoding="utf-8")
    exe = Path(sys.executable).with_name("cloudtwin")
    out = subprocess.run([str(exe), "validate", str(p)], capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr + out.stdout
    assert f"{p}:8: components.fh.buffer_size" in out.stderr + out.stdout
