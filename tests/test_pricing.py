"""Cost from simulated usage, checked by hand against the price table."""

from pathlib import Path

import pytest

import cloudtwin
from cloudtwin.pricing import bill
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
    cost = run("m5.xlarge")  # no m5.xlarge row in aws-facts §19
    assert {"component": "app", "usage_type": "BoxUsage:m5.xlarge", "quantity": 4.0} in cost["unpriced"]
    assert all(i["usage_type"] != "BoxUsage:m5.xlarge" for i in cost["items"])


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
    with pytest.raises(cloudtwin.SpecError, match="needs columns"):
        builtin().overridden(f)


def test_bill_of_a_stopped_instance_stops_at_termination() -> None:
    spec = SPEC.format(itype="m5.large").replace("faults: []", "") + "faults:\n  - {at: 30m, terminate: app}\n"
    sim = Simulation(cloudtwin.parse_spec(spec))
    res = sim.run()
    box = [i for i in res["cost"]["items"] if i["usage_type"] == "BoxUsage:m5.large"][0]
    assert box["quantity"] == pytest.approx(0.5 + 2.0, abs=1e-6)  # one for 30 min, one for 2 h
    assert bill(sim)["window_usd"] == res["cost"]["window_usd"]
