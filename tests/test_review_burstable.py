"""CT-PERF-006: a burstable instance above its CPU baseline, static and measured."""

from __future__ import annotations

from cloudtwin.review import review
from cloudtwin.review.dynamic import Measured, Scenario
from cloudtwin.spec import parse_spec_located
from test_review_dynamic import check
from test_review_rules import EXAMPLES

RULE = "CT-PERF-006"


def spec_scenario(web: dict) -> Measured:
    data = {"series": {"step_s": 60.0, "t": [0.0], "workloads": {}}, "workloads": {}, "components": {"web": web}}
    return Measured({"spec": Scenario("spec", "hand-built spec run", data)})


def test_the_measurement_decides_and_quotes_the_balance() -> None:
    text, _ = EXAMPLES[RULE]  # statically 6/s x 100 ms over 2 vCPUs = 30 %, above the t3.micro's 10 %
    found, _ = check(RULE, text, Measured({}))
    assert len(found) == 1 and "30% CPU, above its 10% baseline" in found[0].message
    ran_out = {"utilization": 0.233, "cpu_credits": {"exhausted_at_s": 3600.0, "balance_min": 0.0,
                                                    "surplus_credits_charged": 0.0}}
    found, _ = check(RULE, text, spec_scenario(ran_out))
    [dyn] = [e for e in found[0].evidence if e.kind == "dynamic"]
    assert "credit balance ran out at 60 min" in dyn.text and dyn.data["exhausted_at_s"] == 3600.0
    # measured under the baseline with credits to spare: the run clears it, and says so
    idle = {"utilization": 0.08, "cpu_credits": {"exhausted_at_s": None, "balance_min": 12.5,
                                                 "surplus_credits_charged": 0.0}}
    found, note = check(RULE, text, spec_scenario(idle))
    assert found == [] and note is not None and "web 8% (baseline 10%)" in note


def test_a_real_run_gives_the_measured_balance() -> None:
    text = EXAMPLES[RULE][0].replace("instance_type: t3.micro", "instance_type: t3.micro\n"
                                     "    credit_specification: standard\n    initial_cpu_credits: 6")
    text += "simulate: {duration: 20m, seed: 1}\n"
    arch, located = parse_spec_located(text, file="example.yaml")
    [f] = review(arch, located=located, simulate=True).by_rule(RULE)
    [dyn] = [e for e in f.evidence if e.kind == "dynamic" and e.data.get("scenario") == "spec"]
    # 6 credits at 0.6 spent against 0.2 earned a minute: gone after about 15 minutes
    assert dyn.data["exhausted_at_s"] is not None and abs(dyn.data["exhausted_at_s"] / 60 - 15) <= 2
    assert "held to its baseline" in f.message
