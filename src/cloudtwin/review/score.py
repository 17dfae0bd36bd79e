"""Per-pillar scores and finding counts.

A rule counts in every pillar it touches (its own and those of the practices it
cites). A pillar's score is the share of its rules' weight that passed, out of
100, weighting a rule by its severity (high 3, medium 2, low 1); a rule with at
least one finding fails once, however many findings it has. A pillar no rule
covers has no score (None).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cloudtwin.review.finding import Finding
from cloudtwin.review.rule import PILLARS, SEVERITIES, Rule

WEIGHT = {"high": 3, "medium": 2, "low": 1}


def counts(findings: Sequence[Finding]) -> dict[str, int]:
    out = dict.fromkeys(reversed(SEVERITIES), 0)
    for f in findings:
        out[f.severity] += 1
    return out


def score(rules: Sequence[Rule], findings: Sequence[Finding]) -> dict[str, dict[str, Any]]:
    failed = {f.rule_id for f in findings}
    out: dict[str, dict[str, Any]] = {}
    for p in PILLARS:
        mine = [r for r in rules if p in r.pillars]
        total = sum(WEIGHT[r.severity] for r in mine)
        lost = sum(WEIGHT[r.severity] for r in mine if r.id in failed)
        ids = {r.id for r in mine}
        out[p] = {
            "score": None if total == 0 else round(100.0 * (total - lost) / total, 1),
            "rules": len(mine),
            "failed": sum(1 for r in mine if r.id in failed),
            "findings": counts([f for f in findings if f.rule_id in ids]),
        }
    return out
