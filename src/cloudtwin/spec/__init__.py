"""The spec: YAML in, a validated, frozen :class:`Architecture` out, or one SpecError.

Every problem is reported with its path and ``file:line``; nothing in a spec is
ever executed.
"""

from __future__ import annotations

import os
from pathlib import Path as FsPath
from typing import Any

from pydantic import ValidationError

from cloudtwin.errors import Issue, SpecError
from cloudtwin.spec import references
from cloudtwin.spec.loader import Located, Path, format_path, load_yaml
from cloudtwin.spec.schema import Architecture

__all__ = ["Architecture", "load_spec", "parse_spec", "validate_data"]


def _data_path(data: Any, loc: tuple[Any, ...]) -> Path:
    """Map a pydantic ``loc`` onto the real data path, skipping union tags."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        if isinstance(cur, dict) and part in cur or isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
    return tuple(out)


def _message(err: Any) -> str:
    msg = str(err["msg"])
    if err["type"] in ("missing",):
        return "required key is missing"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return msg


def validate_data(located: Located) -> Architecture:
    """Validate already-parsed data; raise SpecError with every issue found."""
    try:
        arch = Architecture.model_validate(located.data)
    except ValidationError as exc:
        issues: list[Issue] = []
        seen: set[tuple[str, str]] = set()
        for err in exc.errors(include_url=False):
            ctx = err.get("ctx") or {}
            if "path" in ctx:
                path = tuple(ctx["path"])
            else:
                path = _data_path(located.data, tuple(err["loc"]))
                if err["type"] == "missing" and err["loc"]:
                    path = (*path, err["loc"][-1]) if err["loc"][-1] not in path else path
            if "key" in ctx:
                path = (*path, ctx["key"])
            msg = _message(err)
            k = (format_path(path), msg)
            if k in seen:
                continue
            seen.add(k)
            issues.append(located.issue(path, msg))
        raise SpecError(issues) from None
    problems = references.check(arch)
    if problems:
        raise SpecError([located.issue(p, m) for p, m in problems])
    return arch


def parse_spec(text: str, *, file: str = "<spec>") -> Architecture:
    """Parse and validate spec text."""
    return validate_data(load_yaml(text, file))


def load_spec(path: str | os.PathLike[str]) -> Architecture:
    """Load a spec file. A bare blueprint name resolves to the built-in blueprint."""
    p = FsPath(path)
    if not p.exists():
        from cloudtwin.blueprints import blueprint_path

        bp = blueprint_path(str(path))
        if bp is None:
            raise SpecError([Issue("", "no such file, and no blueprint of that name "
                                   "(see `cloudtwin blueprints`)", str(path), 0)])
        p = bp
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Issue("", f"cannot read the spec: {exc}", str(path), 0)]) from None
    return parse_spec(text, file=str(path))
