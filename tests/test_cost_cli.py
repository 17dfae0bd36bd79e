"""`cloudtwin cost`, `cloudtwin compare`, `run --prices` and the report's cost chart, checked by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cloudtwin
from cloudtwin.cli import app
from cloudtwin.render.report import render_report
from cloudtwin.simulation import Simulation

runner = CliRunner()
OD, RI = 0.096, 0.060  # m5.large on-demand and 1-year standard no-upfront reserved, from prices.csv

WEB = """
name: {name}
zones: [a, b]
components:
  dns:
    type: route53
    records: [{{name: app.example.com, alias: lb}}]
  lb: {{type: alb, targets: web}}
  web:
    type: asg
    instance_type: m5.large
    zones: [a, b]
    capacity: {{min: 4, desired: 4, max: 4}}
    purchase: {purchase}
    handler: [{{cpu: exp(8ms)}}]
  cache: {{type: elasticache, node_type: cache.m4.large}}  # a previous-generation type: no sourced price
workloads:
  users: {{entry: dns, rate: 50/s, response_size: 20KB}}
simulate: {{duration: 10m, seed: 7}}
"""


def write(tmp_path: Path, name: str, purchase: str) -> str:
    p = tmp_path / f"{name}.yaml"
    p.write_text(WEB.format(name=name, purchase=purchase), encoding="utf-8")
    return str(p)


def cli(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.output


def test_cost_matches_a_hand_computation(tmp_path: Path) -> None:
    spec = write(tmp_path, "mixed", "{on_demand: 2, reserved: 2}")
    code, out = cli("cost", spec, "--format", "json")
    assert code == 0
    data = json.loads(out)
    # 2 on-demand + 2 reserved m5.large, an ALB-hour and a public IPv4 per zone, one hosted zone, all for 730 h
    expected = 730 * (2 * OD + 2 * RI) + 730 * 0.0225 + 2 * 730 * 0.005 + 0.50
    assert data["monthly_usd"] == pytest.approx(round(expected, 2))
    assert data["hours"] == 730
    assert {"component": "cache", "usage_type": "NodeUsage:cache.m4.large", "quantity": 730.0} in data["unpriced"]
    assert {(u["component"], u["usage_type"]) for u in data["usage_based"]} >= {
        ("lb", "LCUUsage:application"), ("dns", "DNS-Queries"), ("(network)", "DataTransfer-Out-Bytes")}
    code, text = cli("cost", spec)
    assert code == 0
    assert f"${expected:,.2f}" in text
    assert "unpriced: cache NodeUsage:cache.m4.large" in text
    assert "730 h" in text


def test_cost_bad_input_exits_2(tmp_path: Path) -> None:
    spec = write(tmp_path, "mixed", "{on_demand: 4}")
    assert cli("cost", spec, "--format", "xml")[0] == 2
    bad = tmp_path / "p.csv"
    bad.write_text("region,usd\nus-east-1,1\n")
    code, out = cli("cost", spec, "--prices", str(bad))
    assert code == 2 and "needs the columns" in out
    code, out = cli("cost", str(tmp_path / "missing.yaml"))
    assert code == 2


def test_cost_honours_a_price_file(tmp_path: Path) -> None:
    spec = write(tmp_path, "mixed", "{on_demand: 4}")
    f = tmp_path / "p.csv"
    f.write_text("region,service,usage_type,unit,usd,source,date\n"
                 "us-east-1,elasticache,NodeUsage:cache.m4.large,node-hour,0.15,my quote,2026-11-01\n")
    base = json.loads(cli("cost", spec, "--format", "json")[1])
    code, out = cli("cost", spec, "--format", "json", "--prices", str(f))
    assert code == 0
    data = json.loads(out)
    assert data["unpriced"] == []
    assert data["monthly_usd"] - base["monthly_usd"] == pytest.approx(730 * 0.15, abs=0.01)


def test_compare_reserved_plus_on_demand_costs_less_at_the_same_availability(tmp_path: Path) -> None:
    a = write(tmp_path, "all-on-demand", "{on_demand: 4}")
    b = write(tmp_path, "with-reserved", "{on_demand: 2, reserved: 2}")
    code, out = cli("compare", a, b, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["a"]["spec"] == "all-on-demand" and data["b"]["spec"] == "with-reserved"
    assert data["seed"] == 7 and data["duration_s"] == 600
    assert data["a"]["availability"] == data["b"]["availability"] > 0.99
    assert data["diff"]["availability"] == 0
    # the same 4 x 730 instance-hours a month, 2 x 730 of them at the reserved rate
    assert data["diff"]["monthly_usd"] == pytest.approx(-2 * 730 * (OD - RI), abs=0.02)
    assert data["diff"]["monthly_usd"] == pytest.approx(data["b"]["monthly_usd"] - data["a"]["monthly_usd"])
    assert data["a"]["unpriced"] == data["b"]["unpriced"] == 1  # the cache node type has no sourced price
    assert "730 h" in data["note"]


def test_compare_text_shows_both_columns_and_the_difference(tmp_path: Path) -> None:
    a = write(tmp_path, "all-on-demand", "{on_demand: 4}")
    b = write(tmp_path, "with-reserved", "{on_demand: 2, reserved: 2}")
    code, out = cli("compare", a, b, "--seed", "3", "--duration", "5m")
    assert code == 0
    assert "A: all-on-demand" in out and "B: with-reserved" in out
    assert "seed 3, 300 s simulated" in out
    row = next(line for line in out.splitlines() if "monthly, if" in line)
    assert f"-${2 * 730 * (OD - RI):,.2f}" in row  # B - A
    assert re.search(r"availability .*0\.000 pp", out)
    assert "unpriced item" in out


def test_compare_bad_duration_exits_2(tmp_path: Path) -> None:
    a = write(tmp_path, "all-on-demand", "{on_demand: 4}")
    assert cli("compare", a, a, "--duration", "soon")[0] == 2
    assert cli("compare", a, a, "--duration", "0s")[0] == 2


def test_run_with_prices_uses_them(tmp_path: Path) -> None:
    spec = write(tmp_path, "mixed", "{on_demand: 4}")
    f = tmp_path / "p.csv"
    f.write_text("region,service,usage_type,unit,usd,source,date\n"
                 "us-east-1,ec2,BoxUsage:m5.large,instance-hour,1.0,test price,2026-11-01\n")
    out = tmp_path / "r.json"
    code, _ = cli("run", spec, "--duration", "2m", "--json", str(out), "--prices", str(f), "-q")
    assert code == 0
    cost = json.loads(out.read_text())["cost"]
    box = next(i for i in cost["items"] if i["usage_type"] == "BoxUsage:m5.large")
    assert box["unit_usd"] == 1.0 and box["source"] == "test price"
    assert box["usd"] == pytest.approx(4 * 2 / 60 * 1.0, abs=1e-6)


def test_report_has_a_cost_chart_with_unpriced_items(tmp_path: Path) -> None:
    arch = cloudtwin.parse_spec(WEB.format(name="chart", purchase="{on_demand: 2, reserved: 2}"))
    results = Simulation(arch, duration=120).run().data
    page = render_report(results)
    section = page.split("<h2>Cost breakdown</h2>", 1)[1].split("<h2>", 1)[0]
    assert 'aria-label="Monthly cost by component"' in section
    monthly = results["cost"]["monthly_usd"]
    assert f"Monthly ${monthly:,.2f}" in section
    for comp in ("web", "lb", "(network)"):
        assert f">{comp}</text>" in section
    assert "NodeUsage:cache.m4.large" in section.split("Unpriced", 1)[1]
    assert "http://" not in section.replace("http://www.w3.org", "") and "<script" not in section


def test_chart_bars_are_proportional_to_monthly_cost() -> None:
    from cloudtwin.render.cost_chart import breakdown

    cost = {"window_usd": 2.0, "monthly_usd": 730.0, "items": [
        {"component": "web", "usage_type": "BoxUsage:m5.large", "usd": 1.5},
        {"component": "web", "usage_type": "PublicIPv4:InUseAddress", "usd": 0.1},
        {"component": "lb", "usage_type": "LoadBalancerUsage:application", "usd": 0.4}]}
    rows = breakdown(cost)
    assert [(c, round(t, 6)) for c, t, _ in rows] == [("web", 584.0), ("lb", 146.0)]
    assert rows[0][2][0] == ("BoxUsage:m5.large", pytest.approx(547.5))
