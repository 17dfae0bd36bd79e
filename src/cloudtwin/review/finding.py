"""What a review reports: findings with their evidence, and notes of rules proven clean.

A :class:`Finding` is one problem at one place: the rule that found it, the
component, the spec path and ``file:line``, a message, a fix, and the evidence.
Evidence is *static* (read from the architecture: its graph and configuration)
or *dynamic* (measured in a simulated scenario). A :class:`Clean` note records a
rule that simulation showed to hold, with the measurement that shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["static", "dynamic"]


@dataclass(frozen=True)
class Evidence:
    """One fact behind a finding: read from the spec, or measured in a scenario."""

    kind: Kind
    text: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "text": self.text}
        if self.data:
            out["data"] = dict(self.data)
        return out


@dataclass
class Finding:
    """One problem the review found."""

    rule_id: str
    title: str
    pillar: str
    severity: str
    best_practices: tuple[str, ...]
    message: str
    fix: str
    path: str  # dotted spec path, e.g. components.web.capacity
    file: str
    line: int
    component: str | None = None
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    @property
    def dynamic(self) -> bool:
        return any(e.kind == "dynamic" for e in self.evidence)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id, "title": self.title, "pillar": self.pillar, "severity": self.severity,
            "best_practices": list(self.best_practices), "message": self.message, "fix": self.fix,
            "location": {"path": self.path, "file": self.file, "line": self.line},
            "component": self.component, "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class Clean:
    """A rule that simulation proved clean, with the measurement that shows it."""

    rule_id: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule_id, "evidence": self.text}
