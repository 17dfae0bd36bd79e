"""The Well-Architected review: rules over the architecture, with evidence.

``review(arch)`` runs every rule in :mod:`cloudtwin.review.rules` (one rule per
module, found by listing the directory) and returns a :class:`Report`: the
findings with their ``file:line``, per-pillar scores and counts by severity.
With ``simulate=True`` it first runs the scenarios of
:mod:`cloudtwin.review.dynamic` and the dynamic rules let the measurements
decide and cite them. Without it, nothing here imports the simulator.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Clean, Evidence, Finding
from cloudtwin.review.rule import FRAMEWORK, SEVERITIES, Rule
from cloudtwin.review.score import counts, score
from cloudtwin.spec.loader import Located
from cloudtwin.spec.schema import Architecture

__all__ = ["FRAMEWORK", "Clean", "Evidence", "Finding", "Report", "Rule", "load_rules", "review"]


@dataclass
class Report:
    """What a review found, and what it measured when it simulated."""

    spec: str
    file: str
    rules: list[Rule]
    findings: list[Finding]
    clean: list[Clean] = field(default_factory=list)
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    simulated: bool = False

    @property
    def counts(self) -> dict[str, int]:
        return counts(self.findings)

    @property
    def scores(self) -> dict[str, dict[str, Any]]:
        return score(self.rules, self.findings)

    def at_or_above(self, severity: str) -> list[Finding]:
        floor = SEVERITIES.index(severity)
        return [f for f in self.findings if SEVERITIES.index(f.severity) >= floor]

    def by_rule(self, rule_id: str) -> list[Finding]:
        return [f for f in self.findings if f.rule_id == rule_id]

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec, "file": self.file, "framework": FRAMEWORK, "simulated": self.simulated,
            "counts": self.counts, "scores": self.scores,
            "findings": [f.to_dict() for f in self.findings],
            "clean": [c.to_dict() for c in self.clean],
            "scenarios": self.scenarios,
            "rules_checked": len(self.rules),
        }


@cache
def _rule_classes() -> tuple[type[Rule], ...]:
    from cloudtwin.review import rules as pkg

    found: list[type[Rule]] = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
        mine = [v for v in vars(mod).values()
                if isinstance(v, type) and issubclass(v, Rule) and v is not Rule and v.__module__ == mod.__name__]
        if len(mine) != 1:
            raise TypeError(f"review rule module {info.name} must define exactly one Rule, has {len(mine)}")
        found.append(mine[0])
    ids = [c.id for c in found]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise TypeError(f"duplicate rule ids: {sorted(dup)}")
    return tuple(sorted(found, key=lambda c: c.id))


def load_rules() -> list[Rule]:
    """One instance of every rule, sorted by id."""
    return [c() for c in _rule_classes()]


def _note_cache_waves(arch: Architecture, measured: Any, findings: list[Finding]) -> None:
    """A finding measured in a window where a cold cache's items expire in a wave says so."""
    from cloudtwin.review.dynamic import cache_waves

    for f in findings:
        scenarios = {str(e.data.get("scenario") or "spec") for e in f.evidence if e.kind == "dynamic"}
        for name in sorted(scenarios):
            s = measured.get(name)
            if s is None:
                continue
            for cname, ttl, waves in cache_waves(arch, s):
                at = ", ".join(f"{t / 60:g}" for t in waves)
                f.evidence.append(Evidence(
                    "dynamic", f"cache {cname!r} started cold, so its items expire in waves every TTL "
                    f"({ttl / 60:g} min): at minute(s) {at}, inside the measured window of the {name!r} scenario; "
                    f"the figure depends on where the window falls on a wave (`warm: true` starts the cache "
                    f"in steady state)", {"scenario": name, "cache": cname, "ttl_s": ttl, "waves_s": waves}))


def review(arch: Architecture, *, located: Located | None = None, simulate: bool = False,
           seed: int | None = None) -> Report:
    """Review ``arch``; with ``simulate`` run the scenarios and attach measured evidence."""
    measured = None
    if simulate:
        from cloudtwin.review.dynamic import measure

        measured = measure(arch, seed=seed)
    ctx = Context(arch, located, measured)
    rules = load_rules()
    findings: list[Finding] = []
    clean: list[Clean] = []
    for rule in rules:
        found = rule.check(ctx)
        findings.extend(found)
        if measured is not None and not found:
            note = rule.clean(ctx)
            if note:
                clean.append(Clean(rule.id, note))
    if measured is not None:
        _note_cache_waves(arch, measured, findings)
    order = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    findings.sort(key=lambda f: (order[f.severity], f.rule_id, f.line, f.path))
    scenarios = [s.to_dict() for s in measured.scenarios.values()] if measured else []
    return Report(arch.name, ctx.file, rules, findings, clean, scenarios, simulate)
