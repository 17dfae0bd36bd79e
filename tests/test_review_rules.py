"""Every review rule fires on its documented example and stops firing once the documented fix is applied.

The examples live in docs/rules.md (so the docs cannot drift from what the rules do); a
reference architecture that follows every practice triggers no rule at all.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cloudtwin.review import load_rules, review
from cloudtwin.review.rule import BEST_PRACTICES, PILLARS, PREFIX_PILLAR, SEVERITIES, bp_pillar
from cloudtwin.spec import parse_spec_located

DOC = Path(__file__).resolve().parents[1] / "docs" / "rules.md"
RULES = load_rules()
SECTION = re.compile(r"^### (CT-[A-Z]+-\d{3})\s*$", re.M)


def examples() -> dict[str, tuple[str, list[tuple[str, str]]]]:
    text = DOC.read_text(encoding="utf-8")
    parts = SECTION.split(text)
    out = {}
    for rid, body in zip(parts[1::2], parts[2::2], strict=True):
        m = re.search(r"```yaml\n(.*?)```", body, re.S)
        fixes = re.findall(r"^Fix: `(.+?)` → `(.+?)`\s*$", body, re.M)
        if m:
            out[rid] = (m.group(1), fixes)
    return out


EXAMPLES = examples()


def run(text: str, *, file: str = "example.yaml"):
    arch, located = parse_spec_located(text, file=file)
    return review(arch, located=located)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_fires_on_its_example_and_not_after_the_fix(rule) -> None:
    text, fixes = EXAMPLES[rule.id]
    found = run(text).by_rule(rule.id)
    assert len(found) == 1, [f.message for f in found]
    f = found[0]
    assert f.file == "example.yaml" and f.line >= 2, f.where
    assert f.message and f.fix and f.evidence
    assert f.severity == rule.severity and f.best_practices == rule.best_practices
    assert fixes, f"{rule.id}: docs give no fix"
    fixed = text
    for old, new in fixes:
        assert fixed.count(old) == 1, (rule.id, old)
        fixed = fixed.replace(old, new)
    assert run(fixed).by_rule(rule.id) == []


def test_finding_points_at_the_offending_line() -> None:
    text = "name: x\ncomponents:\n  web:\n    type: ec2\n    handler:\n      - call: db.query\n        retries: 2\n" \
           "        backoff: 0s\n        timeout: 1s\n  db: {type: rds}\n"
    f = run(text).by_rule("CT-REL-007")[0]
    assert (f.line, f.path, f.component) == (8, "components.web.handler[0].backoff", "web")


REFERENCE = """
name: reference
zones: [a, b, c]
components:
  lb: {type: alb, targets: web, internet_facing: false, https: true, deregistration_delay: 15s}
  web:
    type: asg
    zones: [a, b, c]
    capacity: {min: 3, desired: 3, max: 12}
    scaling: {target_cpu: 50}
    health_check: {type: elb, grace_period: 300s}
    purchase: {reserved: 3}
    handler:
      - cpu: 5ms
      - call: cache.get
        key: zipf(s=1.1, n=10000)
        timeout: 50ms
        retries: 2
        backoff: 50ms
        on_miss:
          - call: db.query
            timeout: 500ms
          - call: cache.set
            ttl: 5m
            timeout: 50ms
  cache: {type: elasticache, replicas: 1, encrypted: true}
  db: {type: rds, multi_az: true, encrypted: true, backup_retention: 7}
workloads:
  users: {entry: lb, rate: 100/s, timeout: 10s, sessions: {requests: 5, state: elasticache, store: cache}}
"""


def test_a_well_architected_reference_triggers_nothing() -> None:
    rep = run(REFERENCE)
    assert rep.findings == [], [(f.rule_id, f.message) for f in rep.findings]
    assert all(s["score"] == 100.0 for s in rep.scores.values())


def test_every_rule_is_well_formed() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) >= 30 and len(set(ids)) == len(ids)
    assert {r.pillar for r in RULES} == set(PILLARS)  # all six pillars are covered
    for r in RULES:
        prefix = r.id.split("-")[1]
        assert re.fullmatch(r"CT-[A-Z]+-\d{3}", r.id)
        assert PREFIX_PILLAR[prefix] == r.pillar, r.id
        assert r.best_practices and all(bp in BEST_PRACTICES for bp in r.best_practices), r.id
        assert bp_pillar(r.best_practices[0]) == r.pillar, r.id
        # severity is the risk level of the riskiest practice the rule cites
        worst = max((BEST_PRACTICES[bp][1] for bp in r.best_practices), key=SEVERITIES.index)
        assert r.severity == worst, r.id
        assert r.framework == "2024-06-27" and r.help_uri.startswith("https://docs.aws.amazon.com/wellarchitected/")


def test_eip_quota_counts_instances_across_components() -> None:
    text = ("name: x\ncomponents:\n  a: {type: ec2, count: 3, elastic_ip: true}\n"
            "  b: {type: ec2, count: 2, elastic_ip: true}\n  c: {type: asg, elastic_ip: true}\n")
    f = run(text).by_rule("CT-REL-015")
    assert len(f) == 1 and f[0].component == "c" and f[0].evidence[0].data["elastic_ips"] == 6
    assert f[0].severity == "high"
    five = text.replace("  c: {type: asg, elastic_ip: true}\n", "")
    assert run(five).by_rule("CT-REL-015") == []


def test_sticky_sessions_message_depends_on_stickiness() -> None:
    text, _ = EXAMPLES["CT-REL-006"]
    sticky = run(text).by_rule("CT-REL-006")[0].message
    loose = run(text.replace(", stickiness: true", "")).by_rule("CT-REL-006")[0].message
    assert "die" not in sticky and "loses every session pinned to it" in sticky
    assert "is not sticky" in loose


def test_static_stability_arithmetic() -> None:
    """200/s x 15 ms = 3 busy slots; 2 instances x 2 vCPUs = 4 slots. Without one zone: 2 slots, 150%."""
    text, _ = EXAMPLES["CT-REL-012"]
    f = run(text).by_rule("CT-REL-012")[0]
    assert f.evidence[0].data["utilisation_after_loss"] == pytest.approx(1.5)
    # three zones of 2: losing one leaves 4 instances = 8 slots for 3 busy -> 37.5%, fine
    three = text.replace("zones: [a, b]", "zones: [a, b, c]").replace("desired: 2, max: 4", "desired: 6, max: 8")
    assert run("zones: [a, b, c]\n" + three).by_rule("CT-REL-012") == []


def test_queue_rule_spares_dead_letter_queues_of_every_kind() -> None:
    """A queue that is some other component's dead-letter target needs no DLQ of its own."""
    text = """
name: q
components:
  jobs: {type: sqs, dlq: jobs-dlq}
  jobs-dlq: {type: sqs, retention: 14d}
  fn-dlq: {type: sqs, retention: 14d}
  sub-dlq: {type: sqs, retention: 14d}
  spare: {type: sqs}
  fn: {type: lambda, on_failure: fn-dlq, event_sources: [{queue: jobs}]}
  topic: {type: sns, subscriptions: [{target: fn, dlq: sub-dlq}]}
"""
    found = run(text).by_rule("CT-REL-020")
    assert [f.component for f in found] == ["spare"]
    assert found[0].line == 8  # the line of `spare:`


def test_draining_shorter_than_the_client_timeout() -> None:
    text, _ = EXAMPLES["CT-OPS-001"]
    short = run(text.replace("deregistration_delay: 0s", "deregistration_delay: 5s")).by_rule("CT-OPS-001")
    assert len(short) == 1 and "drains targets for 5s but a request may last 10s" in short[0].message
    # the AWS default of 300 s is fine: deregistration ends as soon as nothing is in flight
    assert run(text.replace("deregistration_delay: 0s", "deregistration_delay: 300s")).by_rule("CT-OPS-001") == []
