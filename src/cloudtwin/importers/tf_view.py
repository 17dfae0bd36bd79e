"""What a Terraform translator reads: one resource instance (:class:`Res`) seen through a
:class:`View` (its known values, and the resources its attributes refer to, as CloudFormation
references)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Props", "Res", "View", "json_doc", "redrive"]

Props = dict[str, Any]


@dataclass
class Res:
    """One Terraform resource instance: ``address`` with its index (``aws_instance.web[0]``),
    ``base`` without it, ``module`` the module path prefix (``module.app.`` or ``""``)."""

    address: str
    base: str
    module: str
    type: str
    name: str
    index: Any
    values: dict[str, Any]
    exprs: dict[str, Any]  # attribute -> expression ({"references": [...]}) or list of block expressions
    unknown: dict[str, Any]  # attribute -> True when known only after apply
    line: int
    logical: str = ""


@dataclass
class View:
    """What a translator sees of a resource: ``links(res, path)`` gives the resources (as
    CloudFormation references) the attribute at ``path`` names."""

    res: Res
    links: Callable[[Res, tuple[str | int, ...], str], list[Any]]
    unresolved: list[str] = field(default_factory=list)

    def v(self, *path: str | int) -> Any:
        """The known value at ``path`` (None when absent, null or known only after apply)."""
        cur: Any = self.res.values
        for p in path:
            if isinstance(p, int):
                cur = cur[p] if isinstance(cur, list) and p < len(cur) else None
            else:
                cur = cur.get(p) if isinstance(cur, dict) else None
            if cur is None:
                why = self.res.unknown.get(str(path[0]))
                configured = isinstance(why, str) or str(path[0]) in self.res.exprs  # not a computed default
                if why not in (None, False) and configured and not self.refs(*path):
                    self.note(str(path[0]), why if isinstance(why, str) else "known only after apply")
                return None
        return cur

    def note(self, attr: str, why: str) -> None:
        text = f"{attr}: {why}"
        if text not in self.unresolved:
            self.unresolved.append(text)

    def refs(self, *path: str | int, attr: str = "arn") -> list[Any]:
        return self.links(self.res, path, attr)

    def ref(self, *path: str | int, attr: str = "arn") -> Any:
        """The resource the attribute names (a reference), else its known value."""
        got = self.refs(*path, attr=attr)
        return got[0] if got else self.v(*path)

    def put(self, props: Props, key: str, *path: str | int) -> None:
        value = self.v(*path)
        if value is not None:
            props[key] = value

    def block(self, name: str) -> dict[str, Any]:
        got = self.v(name, 0)
        return got if isinstance(got, dict) else {}


def json_doc(text: Any) -> Any:
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return None
    return text if isinstance(text, dict | list) else None


def redrive(r: View, attr: str) -> Props | None:
    doc = json_doc(r.v(attr))
    target = r.refs(attr)
    out: Props = {}
    if isinstance(doc, dict):
        out.update(doc)
        got = r.links(r.res, (attr, "deadLetterTargetArn"), "arn")
        if got:
            out["deadLetterTargetArn"] = got[0]
    elif target:
        out["deadLetterTargetArn"] = target[0]
        r.note(attr, "known only after apply: its dead-letter queue is the resource it refers to; "
                     "maxReceiveCount is not known")
    return out or None
