"""Built-in blueprints: one YAML spec per architecture in the user's notes.

Each file carries a ``blueprint:`` block with the notes section it comes from and
the claim its scenario demonstrates.
"""

from __future__ import annotations

from pathlib import Path

import yaml

HERE = Path(__file__).parent


def names() -> list[str]:
    """Every built-in blueprint name, sorted."""
    return sorted(p.stem for p in HERE.glob("*.yaml"))


def blueprint_path(name: str) -> Path | None:
    """The file of blueprint ``name``, or None."""
    p = HERE / f"{name}.yaml"
    return p if p.is_file() and "/" not in name and "\\" not in name else None


def catalogue() -> list[dict[str, str]]:
    """Name, notes section and claim of every blueprint (read without validating)."""
    out = []
    for n in names():
        data = yaml.safe_load((HERE / f"{n}.yaml").read_text(encoding="utf-8")) or {}
        meta = data.get("blueprint") or {}
        out.append({"name": n, "section": str(meta.get("section", "")), "claim": str(meta.get("claim", ""))})
    return out
