"""The names a raw CloudFormation value refers to (Ref, GetAtt, Sub variables, Conditions), found
before anything is evaluated, so that a dangling name or a cycle is reported at its line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

__all__ = ["SUB_VAR", "intrinsic", "scan_refs"]

Path = tuple[str | int, ...]

SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


def intrinsic(value: Any) -> tuple[str, Any] | None:
    if isinstance(value, dict) and len(value) == 1:
        (k, v), = value.items()
        if k in ("Ref", "Condition") or k.startswith("Fn::"):
            return k, v
    return None


def scan_refs(value: Any, path: Path) -> Iterator[tuple[str, str, Path]]:
    """Every name the raw value refers to: ``(kind, name, path)`` with kind ``Ref``, ``GetAtt``,
    ``Sub`` or ``Condition`` (the last inside conditions only)."""
    fn = intrinsic(value)
    if fn is not None:
        k, v = fn
        p = (*path, k)
        if k == "Ref" and isinstance(v, str):
            yield "Ref", v, p
            return
        if k == "Fn::GetAtt":
            if isinstance(v, str):
                v = v.split(".", 1)
            if isinstance(v, list) and v and isinstance(v[0], str):
                yield "GetAtt", v[0], p
                yield from scan_refs(v[1:], p)
                return
        if k == "Fn::Sub":
            text, local = (v, {}) if isinstance(v, str) else (v[0], v[1]) if (
                isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and isinstance(v[1], dict)) else (
                None, {})
            if text is not None:
                for m in SUB_VAR.finditer(text):
                    name = m.group(1).strip().split(".", 1)[0]
                    if name not in local:
                        yield "Sub", name, p
                yield from scan_refs(local, (*p, 1))
                return
        if k == "Condition" and isinstance(v, str):
            yield "Condition", v, p
            return
        yield from scan_refs(v, p)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from scan_refs(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from scan_refs(v, (*path, i))
