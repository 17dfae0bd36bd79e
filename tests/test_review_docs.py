"""docs/rules.md and the rules in code cannot drift; rules are discovered from their directory."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from cloudtwin.review import load_rules
from cloudtwin.review.rule import BEST_PRACTICES

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "rules.md"
RULES_DIR = ROOT / "src" / "cloudtwin" / "review" / "rules"


def documented() -> dict[str, tuple[str, ...]]:
    """Rule id -> best-practice ids, from the rule table of docs/rules.md."""
    out = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| \[(CT-[A-Z]+-\d{3})\]\([^)]*\) \|[^|]*\|[^|]*\| ([^|]*) \|", line)
        if m:
            out[m.group(1)] = tuple(x.strip() for x in m.group(2).split(","))
    return out


def test_docs_list_every_rule_with_its_best_practices_and_nothing_else() -> None:
    code = {r.id: r.best_practices for r in load_rules()}
    docs = documented()
    assert docs == code
    text = DOC.read_text(encoding="utf-8")
    for rid in code:
        assert f"\n### {rid}\n" in text, f"{rid} has no section"


def test_docs_list_every_cited_best_practice() -> None:
    text = DOC.read_text(encoding="utf-8")
    for bp, (title, risk, _) in BEST_PRACTICES.items():
        assert f"| {bp} | {title} | {risk} |" in text


def test_one_rule_per_module() -> None:
    modules = sorted(p.stem for p in RULES_DIR.glob("*.py") if not p.stem.startswith("_"))
    assert len(modules) == len(load_rules())
    for m in modules:
        tree = ast.parse((RULES_DIR / f"{m}.py").read_text(encoding="utf-8"))
        classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
        assert len(classes) == 1, m


def test_the_review_does_not_import_the_simulator_unless_asked() -> None:
    """Only dynamic.py may reach the simulator, and only inside a function."""
    for p in (ROOT / "src" / "cloudtwin" / "review").rglob("*.py"):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any(n.startswith(("cloudtwin.simulation", "cloudtwin.services")) for n in names), p
