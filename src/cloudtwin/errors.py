"""cloudtwin's exceptions. Every error the library raises is one of these::

    CloudtwinError
    ├── SpecError            a spec that cannot be loaded; carries every issue with path and file:line
    ├── RunRefused           a run too large to finish (estimated events above the limit)
    ├── FaultNotSupported    a fault aimed at a component that does not model it
    └── InvariantViolation   an accounting identity failed at the end of a run: a bug, never input
"""

from __future__ import annotations

from dataclasses import dataclass


class CloudtwinError(Exception):
    """Base class of every error cloudtwin raises on purpose."""


@dataclass(frozen=True)
class Issue:
    """One problem in a spec: where it is and what is wrong."""

    path: str
    message: str
    file: str = "<spec>"
    line: int = 0

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '<root>'}: {self.message}"


class SpecError(CloudtwinError):
    """A spec that is malformed, refers to something missing, or asks the impossible."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class RunRefused(CloudtwinError):
    """A run whose estimated size is beyond the configured limit.

    ``path`` names the spec value most responsible (a workload's rate, or the
    simulate block), so the CLI can point at its file:line."""

    def __init__(self, message: str, *, path: tuple[str, ...] = ("simulate",)) -> None:
        super().__init__(message)
        self.path = path


class FaultNotSupported(CloudtwinError):
    """A fault aimed at a component that does not model it (the reference checks refuse most
    such specs before a run starts)."""


class InvariantViolation(CloudtwinError):
    """An end-of-run accounting identity does not hold. This is always a bug."""
