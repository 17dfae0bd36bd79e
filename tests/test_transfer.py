"""The transfer planner: times against size/bandwidth arithmetic, DX port-hour costs, the Snow
family's devices and availability, the crossover points, and the CLI (text, JSON, spec, bad input)."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from cloudtwin.cli import app
from cloudtwin.transfer import DX_PORTS, TB, TransferInputs, plan, snow_seconds

DAY = 86_400.0


def _opts(inp: TransferInputs) -> dict[str, object]:
    return {o.name: o for o in plan(inp).options}


def test_internet_time_is_size_over_effective_bandwidth():
    o = _opts(TransferInputs(size=500 * TB, link_bps=10e9))["internet"]
    # 500 TB = 4e15 bits at 10 Gbps x 0.8 = 8e9 bit/s: 500,000 s (5.79 days), inbound free
    assert o.seconds == pytest.approx(4e15 / 8e9)
    assert o.days == pytest.approx(5.787, abs=1e-3)
    assert o.cost_usd == 0.0


def test_dx_port_speeds_and_port_hour_costs():
    assert DX_PORTS == {"1G": 1e9, "10G": 10e9, "100G": 100e9, "400G": 400e9}  # aws-facts §17
    opts = _opts(TransferInputs(size=500 * TB, link_bps=10e9))
    # 10G: 500,000 s = 138.9 h -> 139 port-hours at $2.25 (aws-facts §19)
    assert opts["directconnect-10G"].seconds == pytest.approx(500_000)
    assert opts["directconnect-10G"].cost_usd == pytest.approx(139 * 2.25)
    # 1G: 5,000,000 s -> 1,389 port-hours at $0.30
    assert opts["directconnect-1G"].cost_usd == pytest.approx(1389 * 0.30)
    # 100G: 50,000 s -> 14 h at $22.50; 400G: 12,500 s -> 4 h at $85.00
    assert opts["directconnect-100G"].cost_usd == pytest.approx(14 * 22.50)
    assert opts["directconnect-400G"].cost_usd == pytest.approx(4 * 85.00)


def test_datasync_is_capped_by_the_link_and_by_a_task():
    slow = _opts(TransferInputs(size=100 * TB, link_bps=1e9))["datasync"]
    assert slow.throughput_bps == pytest.approx(0.8e9)
    fast = _opts(TransferInputs(size=100 * TB, link_bps=100e9))["datasync"]
    assert fast.throughput_bps == pytest.approx(8e9)  # one 10 Gbps task (assumption) x 0.8
    assert fast.cost_usd is None and fast.unpriced == ["DataSync-Bytes"]  # no sourced price: never guessed


def test_snow_devices_time_and_availability():
    inp = TransferInputs(size=500 * TB, link_bps=10e9)
    t, devices = snow_seconds(inp.size, inp)
    assert devices == math.ceil(500 / 80)  # 80 TB usable per Storage Optimized device (aws-facts §17)
    # 2 days out + load 80 TB at 3.2 Gbps (200,000 s) + 2 days back + import (200,000 s)
    assert t == pytest.approx(4 * DAY + 2 * 80e12 * 8 / 3.2e9)
    snow = _opts(inp)["snowball-edge-storage-optimized"]
    assert snow.available is False  # no longer available to new customers (aws-facts §17 CHANGED)
    assert plan(inp).fastest().name != snow.name


def test_crossover_points():
    inp = TransferInputs(size=500 * TB, link_bps=10e9)
    c = plan(inp).crossovers
    # Snow takes 4 d + 400,000 s = 745,600 s once a device is full; the link moves 1 GB/s
    assert c["snow_faster_above_bytes"] == pytest.approx(745_600 * 1e9, rel=1e-6)
    assert c["snow_faster_above_tb"] == pytest.approx(745.6, abs=1e-3)
    # for 500 TB, the network ties with Snow at 4e15 bits / (745,600 s x 0.8)
    assert c["network_faster_above_bps"] == pytest.approx(4e15 / (745_600 * 0.8))
    below, above = (_opts(TransferInputs(size=s * TB, link_bps=10e9)) for s in (700, 800))
    assert below["internet"].seconds < below["snowball-edge-storage-optimized"].seconds
    assert above["internet"].seconds > above["snowball-edge-storage-optimized"].seconds


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="size"):
        TransferInputs(size=0, link_bps=1e9)
    with pytest.raises(ValueError, match="utilization"):
        TransferInputs(size=1, link_bps=1e9, utilization=1.5)


def test_cli_text_and_json():
    r = CliRunner().invoke(app, ["transfer", "--size", "500TB", "--link", "10Gbps", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert {o["name"] for o in out["options"]} >= {"internet", "directconnect-10G", "datasync",
                                                   "snowball-edge-storage-optimized"}
    assert out["crossovers"]["snow_faster_above_tb"] == pytest.approx(745.6, abs=1e-3)
    r = CliRunner().invoke(app, ["transfer", "--size", "500TB", "--link", "10Gbps"])
    assert r.exit_code == 0 and "directconnect-10G" in r.output and "NOT AVAILABLE" in r.output


def test_cli_bad_input_exits_2_without_traceback():
    for args in (["transfer", "--size", "lots", "--link", "10Gbps"], ["transfer", "--size", "5TB"],
                 ["transfer", "--size", "5TB", "--link", "10Gbps", "--utilization", "2"]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 2, (args, r.output)
        assert "Traceback" not in r.output


def test_cli_reads_a_specs_transfer_block(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text("name: t\ncomponents:\n  q: {type: sqs}\ntransfer: {size: 160TB, link: 1Gbps}\n")
    r = CliRunner().invoke(app, ["transfer", str(p), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    internet = next(o for o in out["options"] if o["name"] == "internet")
    assert internet["seconds"] == pytest.approx(160e12 * 8 / 0.8e9)
    p.write_text("name: t\ncomponents:\n  q: {type: sqs}\ntransfer: {size: 160TB, link: fast}\n")
    r = CliRunner().invoke(app, ["transfer", str(p)])
    assert r.exit_code == 2 and "transfer.link" in r.output
