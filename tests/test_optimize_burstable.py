"""`cloudtwin optimize` over instance types: a burstable candidate that runs out of CPU credits
now loses, held to its baseline (standard mode misses the SLO) or billed for its surplus credits
(unlimited mode costs more than a fixed-performance type)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cloudtwin.cli import app

runner = CliRunner()
SPEC = """name: burst-opt
components:
  app:
    type: ec2
    instance_type: m5.large
    handler:
      - cpu: exp(100ms)
workloads:
  users: {{entry: app, rate: {rate}/s}}
simulate: {{duration: {minutes}m, seed: 2}}
"""


def optimize(tmp_path: Path, rate: float, minutes: int, types: str, slo: str) -> dict[str, Any]:
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC.format(rate=rate, minutes=minutes))
    r = runner.invoke(app, ["optimize", str(spec), "-o", str(tmp_path / "o"), "-f", "json",
                            "--vary", f"components.app.instance_type={types}", "--slo", slo])
    assert r.exit_code == 0, r.stderr
    out: dict[str, Any] = json.loads(r.stdout)
    return out


def by_type(got: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["set"]["components.app.instance_type"]: t for t in got["trials"]}


def test_a_t2_held_to_its_baseline_misses_the_slo_and_loses(tmp_path: Path) -> None:
    """t2.micro: 1 vCPU, 10 % baseline, 30 launch credits (standard by default). At 50 % it nets
    -0.4 credits a minute, is held after ~75 minutes, and its queue grows past the SLO."""
    got = optimize(tmp_path, 5, 90, "t2.micro,m5.large", "availability>=99%, p99<=2s")
    trials = by_type(got)
    assert trials["t2.micro"]["metrics"]["monthly_usd"] < trials["m5.large"]["metrics"]["monthly_usd"]
    assert not trials["t2.micro"]["feasible"] and trials["m5.large"]["feasible"]
    assert got["best"]["set"] == {"components.app.instance_type": "m5.large"}


def test_a_t3_paying_for_surplus_credits_costs_more_than_a_fixed_type(tmp_path: Path) -> None:
    """t3.micro unlimited at 90 % of 2 vCPUs: 1.8 - 0.2 = 1.6 vCPU-hours of surplus an hour at
    $0.05 = $0.08/h on top of $0.0104/h, above a c6g.large's $0.068/h (same 2 vCPUs)."""
    got = optimize(tmp_path, 18, 20, "t3.micro,c6g.large", "availability>=99%")
    trials = by_type(got)
    t3, c6g = trials["t3.micro"]["metrics"], trials["c6g.large"]["metrics"]
    assert t3["availability"] >= 0.99 and trials["t3.micro"]["feasible"]  # never held: unlimited
    hours = 730
    box = 0.0104 * hours
    assert t3["monthly_usd"] > c6g["monthly_usd"] and t3["monthly_usd"] > box + 0.07 * hours
    assert got["best"]["set"] == {"components.app.instance_type": "c6g.large"}
