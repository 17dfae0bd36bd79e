"""CPU credits of burstable instances (services/cpu_credits.py): the credit table, standard mode
held to its baseline once the balance is spent, unlimited mode's surplus bill, T2 launch credits,
the CloudWatch series an alarm can watch, and the spec checks."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import cloudtwin
from cloudtwin.errors import SpecError
from cloudtwin.simulation import Simulation
from cloudtwin.sizes import credit_type
from cloudtwin.spec import parse_spec

DATA = Path(cloudtwin.__file__).parent / "data" / "burstable_types.csv"

# 30 % of a t3.micro's two vCPUs: 6 requests/s of exp(100 ms) CPU = 0.6 busy vCPUs
SPEC = """
name: burst
components:
  app:
    type: {kind}
    instance_type: {itype}
{extra}
    handler:
      - cpu: exp(100ms)
workloads:
  users:
    entry: app
    rate: {rate}/s
simulate:
  duration: {minutes}m
  seed: 1
"""


def arch(itype: str = "t3.micro", extra: str = "", *, rate: float = 6, minutes: int = 90,
         kind: str = "ec2", more: str = "") -> cloudtwin.Architecture:
    text = SPEC.format(kind=kind, itype=itype, extra=extra, rate=rate, minutes=minutes) + more
    return parse_spec(text, file="burst.yaml")


def run(a: cloudtwin.Architecture) -> cloudtwin.Results:
    return Simulation(a).run()


def app_series(r: cloudtwin.Results) -> dict[str, list[float]]:
    s: dict[str, list[float]] = r["series"]["components"]["app"]
    return s


def p99(r: cloudtwin.Results, lo: int, hi: int) -> float:
    return max(v for v in r["series"]["workloads"]["users"]["p99_ms"][lo:hi] if v is not None)


def test_the_credit_table_follows_the_credit_definition() -> None:
    """A credit is one vCPU-minute at 100 %: earnings per hour are vCPUs x baseline x 60, and the
    balance holds 24 hours of them; only T2 standard gets launch credits (30 per vCPU)."""
    with DATA.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    assert len(rows) == 28
    for r in rows:
        v, base, per_h = int(r["vcpus"]), float(r["baseline"]), float(r["credits_per_hour"])
        assert per_h == pytest.approx(v * base * 60), r["instance_type"]
        assert float(r["max_credits"]) == pytest.approx(24 * per_h), r["instance_type"]
        assert float(r["launch_credits"]) == (30 * v if r["instance_type"].startswith("t2.") else 0)
        assert r["source"]
    micro = credit_type("t3.micro")
    assert micro is not None and (micro.vcpus, micro.baseline, micro.per_hour, micro.max_credits) == (2, 0.1, 12, 288)
    assert micro.mode == "unlimited" and micro.launch == 0
    t2 = credit_type("t2.micro")
    assert t2 is not None and (t2.mode, t2.launch) == ("standard", 30)
    assert credit_type("t2.micro", "unlimited").launch == 0  # type: ignore[union-attr]
    assert credit_type("m5.large") is None


def test_standard_mode_runs_out_at_the_computed_minute_then_is_held_and_latency_rises() -> None:
    """24 credits to start, 0.6 vCPU busy against 0.2 earned a minute: spent after 24 / 0.4 = 60
    minutes; then held to 10 % of each vCPU (0.2 vCPU for a 0.6 vCPU load), the queue grows."""
    r = run(arch(extra="    credit_specification: standard\n    initial_cpu_credits: 24"))
    cc = r["components"]["app"]["cpu_credits"]
    s = app_series(r)
    # the ledger by hand from the measured usage: the first minute whose end leaves nothing
    bal, minute = 24.0, None
    for k, used in enumerate(s["CPUCreditUsage"]):
        bal = min(288.0, bal + 12 / 60 - used)
        if bal <= 1e-9:
            minute = k + 1
            break
    assert minute is not None and cc["exhausted_at_s"] == minute * 60.0
    assert abs(minute - 60) <= 3  # the nominal 24 / (0.6 - 0.2)
    assert s["CPUCreditBalance"][minute - 1] == 0.0 and s["CPUCreditBalance"][:minute - 1][-1] > 0
    # held: CPUUtilization reads the 10 % baseline, CPUCreditUsage what it earns (0.2 a minute)
    assert s["utilization"][minute + 2:] == [0.1] * len(s["utilization"][minute + 2:])
    assert all(u == pytest.approx(0.2, abs=1e-3) for u in s["CPUCreditUsage"][minute + 2:])
    assert cc["held_instance_minutes"] >= 90 - minute - 1
    before, after = p99(r, 0, minute - 1), p99(r, minute + 10, 90)
    assert before < 1000 and after > 30 * before
    assert r["components"]["app"]["errors"] > 0  # the accept queue overflowed while held
    assert cc["surplus_credits_charged"] == 0 and not any(
        i["usage_type"].startswith("CPUCredits") for i in r["cost"]["items"])
    assert any(e["kind"] == "cpu_credits" and e["t"] == minute * 60.0 for e in r["timeline"])


def test_unlimited_mode_is_never_held_and_bills_the_surplus_computed_by_hand() -> None:
    r = run(arch())  # t3.micro defaults to unlimited; no launch credits, so the balance starts at 0
    cc = r["components"]["app"]["cpu_credits"]
    s = app_series(r)
    assert cc["credit_specification"] == "unlimited" and cc["held_instance_minutes"] == 0
    assert p99(r, 0, 90) < 1000 and r["components"]["app"]["errors"] == 0
    assert max(s["CPUCreditBalance"]) == 0.0
    # every minute spends more than the 0.2 earned, so the surplus is spent - earned, summed
    surplus = sum(s["CPUCreditUsage"]) - 90 * 12 / 60
    assert s["CPUSurplusCreditBalance"][-1] == pytest.approx(surplus, abs=1e-2)
    assert cc["surplus_credits_charged"] == pytest.approx(surplus, abs=1e-2)
    [item] = [i for i in r["cost"]["items"] if i["usage_type"] == "CPUCredits:t3"]
    assert item["quantity"] == pytest.approx(surplus / 60, abs=1e-3)  # vCPU-hours: 60 credits each
    assert item["unit_usd"] == 0.05 and item["usd"] == pytest.approx(surplus / 60 * 0.05, abs=1e-4)
    # ~0.4 surplus credits a minute for 90 minutes = 0.6 vCPU-hours = $0.03
    assert item["usd"] == pytest.approx(0.03, rel=0.1)


def test_below_the_baseline_nothing_is_spent_for_good() -> None:
    r = run(arch(rate=0.6, minutes=30))  # 3 % of two vCPUs, under the 10 % baseline
    cc = r["components"]["app"]["cpu_credits"]
    assert cc["exhausted_at_s"] is None and cc["surplus_credits_charged"] == 0
    assert app_series(r)["CPUCreditBalance"][-1] > 4  # 30 minutes of 0.2 earned less ~0.06 spent a minute


def test_a_non_burstable_instance_is_untouched() -> None:
    r = run(arch("m5.large", minutes=30))
    assert "cpu_credits" not in r["components"]["app"]
    assert set(app_series(r)) == {"in_service", "utilization"}
    assert not any(i["usage_type"].startswith("CPUCredits") for i in r["cost"]["items"])


def test_t2_standard_spends_its_launch_credits_first() -> None:
    """A t2.micro (1 vCPU, 10 %, 6 credits/h) gets 30 launch credits; at 30 % it nets -0.2 a minute,
    so it is held after 30 / 0.2 = 150 minutes."""
    r = run(arch("t2.micro", rate=3, minutes=160))
    cc = r["components"]["app"]["cpu_credits"]
    assert cc["credit_specification"] == "standard"
    assert app_series(r)["CPUCreditBalance"][0] == pytest.approx(30 + 0.1 - app_series(r)["CPUCreditUsage"][0])
    assert cc["exhausted_at_s"] is not None and abs(cc["exhausted_at_s"] / 60 - 150) <= 6


def test_an_asg_of_burstable_instances_keeps_a_ledger_per_instance() -> None:
    a = arch(kind="asg", extra="    credit_specification: standard\n    initial_cpu_credits: 10\n"
                               "    capacity: {min: 2, max: 2, desired: 2}", rate=12, minutes=40)
    r = run(a)
    cc = r["components"]["app"]["cpu_credits"]
    assert cc["exhausted_at_s"] is not None and abs(cc["exhausted_at_s"] / 60 - 25) <= 3
    assert cc["held_instance_minutes"] >= 2 * 10


def test_an_alarm_watches_the_credit_balance() -> None:
    alarm = """
  low:
    type: cloudwatch_alarm
    component: app
    metric: CPUCreditBalance
    comparison: LessThanThreshold
    threshold: 4
"""
    text = SPEC.format(kind="ec2", itype="t3.micro", extra="    credit_specification: standard\n"
                       "    initial_cpu_credits: 24", rate=6, minutes=70)
    text = text.replace("workloads:", alarm.lstrip("\n") + "workloads:", 1)
    r = Simulation(parse_spec(text, file="burst.yaml")).run()
    changes = [(e["t"], e["state"]) for e in r["timeline"] if e["kind"] == "alarm" and e["component"] == "low"]
    bal = r["series"]["components"]["app"]["CPUCreditBalance"]
    first = next(k for k, v in enumerate(bal) if v < 4)
    assert "ALARM" in [st for _, st in changes]
    assert next(t for t, st in changes if st == "ALARM") == (first + 1) * 60.0


@pytest.mark.parametrize(("itype", "extra", "path", "needle"), [
    ("m5.large", "    credit_specification: standard", "credit_specification", "is for burstable"),
    ("m5.large", "    initial_cpu_credits: 5", "initial_cpu_credits", "is for burstable"),
    ("t3.micro", "    initial_cpu_credits: 300", "initial_cpu_credits", "above the 288 credits"),
    ("t3.micro", "    credit_specification: turbo", "credit_specification", "standard"),
])
def test_bad_credit_keys_are_located_spec_errors(itype: str, extra: str, path: str, needle: str) -> None:
    with pytest.raises(SpecError) as e:
        arch(itype, extra)
    [issue] = [i for i in e.value.issues if path in str(i)]
    assert needle in str(issue) and "burst.yaml:" in str(issue)


def test_same_seed_same_credits() -> None:
    a = arch(extra="    credit_specification: standard\n    initial_cpu_credits: 5", minutes=20)
    assert run(a).deterministic_json() == run(a).deterministic_json()
