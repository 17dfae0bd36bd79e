"""Review output: terminal text, JSON, and SARIF 2.1.0.

SARIF puts every rule in ``tool.driver.rules`` (id, name, descriptions, the
practice page as ``helpUri``, and ``properties`` with the pillar, the
best-practice ids, the framework version and tags), and every finding in
``results`` with a ``physicalLocation`` (the spec file and line, for code-scanning
UIs) and a ``logicalLocation`` (the component). Severity maps to SARIF levels:
high ``error``, medium ``warning``, low ``note``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudtwin.review.rule import BEST_PRACTICES, FRAMEWORK, PILLARS

if TYPE_CHECKING:
    from cloudtwin.review import Report

LEVEL = {"high": "error", "medium": "warning", "low": "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/cloudtwin/cloudtwin/blob/main/docs/rules.md"


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2)


def to_text(report: Report) -> str:
    lines = [f"Well-Architected review of {report.spec} ({report.file}), framework {FRAMEWORK}"
             f"{', with simulation' if report.simulated else ''}"]
    c = report.counts
    lines.append(f"{len(report.findings)} finding(s): {c['high']} high, {c['medium']} medium, {c['low']} low; "
                 f"{len(report.rules)} rules checked")
    lines.append("")
    for f in report.findings:
        lines.append(f"{f.where}: {f.severity.upper()} {f.rule_id} [{', '.join(f.best_practices)}] {f.title}")
        lines.append(f"    {f.message}")
        for e in f.evidence:
            lines.append(f"    - {e.kind}: {e.text}")
        lines.append(f"    fix: {f.fix}")
    if report.clean:
        lines += ["", "Proven clean by simulation:"]
        lines += [f"  {c.rule_id}: {c.text}" for c in report.clean]
    if report.scenarios:
        lines += ["", "Scenarios:"]
        for s in report.scenarios:
            if s.get("skipped"):
                lines.append(f"  {s['name']}: skipped ({s['skipped']})")
            else:
                extra = "" if s.get("availability_during") is None else \
                    f", availability during the window {100 * s['availability_during']:.2f}%"
                lines.append(f"  {s['name']}: {s['description']}; availability "
                             f"{100 * (s.get('availability') or 0):.2f}%{extra}")
    lines += ["", "Pillar scores:"]
    for p in PILLARS:
        s = report.scores[p]
        score = "n/a" if s["score"] is None else f"{s['score']:5.1f}"
        fc = s["findings"]
        lines.append(f"  {p:<24} {score}  ({s['failed']}/{s['rules']} rules failed; "
                     f"{fc['high']} high, {fc['medium']} medium, {fc['low']} low)")
    return "\n".join(lines) + "\n"


def artifact_uri(file: str) -> str:
    """A URI for the spec file: relative as given when it exists, else the blueprint's file."""
    p = Path(file)
    if p.is_file():
        return p.as_posix() if not p.is_absolute() else p.resolve().as_uri()
    from cloudtwin.blueprints import blueprint_path

    bp = blueprint_path(file)
    return bp.resolve().as_uri() if bp is not None else p.as_posix()


def to_sarif(report: Report) -> dict[str, Any]:
    from cloudtwin import __version__

    rules = []
    index = {}
    for i, r in enumerate(report.rules):
        index[r.id] = i
        rules.append({
            "id": r.id,
            "name": "".join(w.capitalize() for w in r.title.replace("-", " ").split() if w.isalnum()),
            "shortDescription": {"text": r.title},
            "fullDescription": {"text": r.description},
            "helpUri": r.help_uri,
            "help": {"text": "; ".join(f"{bp} {BEST_PRACTICES[bp][0]}" for bp in r.best_practices)},
            "defaultConfiguration": {"level": LEVEL[r.severity]},
            "properties": {
                "pillar": r.pillar, "pillars": list(r.pillars), "best_practices": list(r.best_practices),
                "framework": r.framework, "severity": r.severity, "dynamic": r.dynamic,
                "tags": ["well-architected", r.pillar, *r.best_practices],
            },
        })
    uri = artifact_uri(report.file)
    results = []
    for f in report.findings:
        loc: dict[str, Any] = {
            "physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": max(f.line, 1)}},
            "logicalLocations": [{"name": f.component or f.path, "fullyQualifiedName": f.path,
                                  "kind": "resource" if f.component else "object"}],
        }
        results.append({
            "ruleId": f.rule_id, "ruleIndex": index[f.rule_id], "level": LEVEL[f.severity],
            "message": {"text": f"{f.message} Fix: {f.fix}"},
            "locations": [loc],
            "properties": {"pillar": f.pillar, "best_practices": list(f.best_practices), "component": f.component,
                           "evidence": [e.to_dict() for e in f.evidence]},
        })
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "cloudtwin", "version": __version__, "informationUri": INFO_URI,
                            "rules": rules}},
        "artifacts": [{"location": {"uri": uri}}],
        "results": results,
        "properties": {"framework": FRAMEWORK, "spec": report.spec, "scores": report.scores,
                       "simulated": report.simulated, "clean": [c.to_dict() for c in report.clean]},
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return to_json(report)
    if fmt == "sarif":
        return json.dumps(to_sarif(report), indent=2)
    return to_text(report)
