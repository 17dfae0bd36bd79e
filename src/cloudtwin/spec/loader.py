"""Safe YAML loading that remembers where every value came from.

The document is composed into PyYAML nodes with ``SafeLoader`` (no tags that
build objects, nothing executed), then converted to plain dicts, lists and
scalars while recording the line of every path. Duplicate keys, which YAML
silently overwrites, are reported instead.
"""

from __future__ import annotations

from typing import Any

import yaml

from cloudtwin.errors import Issue, SpecError

Path = tuple[str | int, ...]
MAX_SPEC_BYTES = 5_000_000


def format_path(path: Path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


class Located:
    """Plain data plus a map from path to 1-based line number."""

    def __init__(self, data: Any, lines: dict[Path, int], file: str) -> None:
        self.data = data
        self.lines = lines
        self.file = file

    def line_of(self, path: Path) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), 1)

    def issue(self, path: Path, message: str) -> Issue:
        return Issue(format_path(path), message, self.file, self.line_of(path))


def _convert(node: yaml.Node, path: Path, lines: dict[Path, int], ctor: yaml.SafeLoader,
             file: str, issues: list[Issue], depth: int = 0) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if depth > 50:
        issues.append(Issue(format_path(path), "nesting is too deep", file, node.start_mark.line + 1))
        return None
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                issues.append(Issue(format_path(path), "YAML merge keys (<<) are not supported; "
                                    "write the keys out", file, key_node.start_mark.line + 1))
                continue
            key = ctor.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int | float | bool) or key is None:
                issues.append(Issue(format_path(path), "mapping keys must be plain strings",
                                    file, key_node.start_mark.line + 1))
                continue
            key = str(key)
            if key in out:
                issues.append(Issue(format_path((*path, key)), f"duplicate key {key!r} (first on line "
                                    f"{lines[(*path, key)]})", file, key_node.start_mark.line + 1))
                continue
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, (*path, key), lines, ctor, file, issues, depth + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(item, (*path, i), lines, ctor, file, issues, depth + 1)
            for i, item in enumerate(node.value)
        ]
    return ctor.construct_object(node)


def load_yaml(text: str, file: str = "<spec>") -> Located:
    """Parse ``text`` safely. Raises :class:`SpecError` with file:line on any YAML problem."""
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError([Issue("", f"the spec is {len(text):,} bytes; the limit is "
                               f"{MAX_SPEC_BYTES:,}", file, 1)])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise SpecError([Issue("", f"invalid YAML: {exc.problem or exc}", file, line)]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Issue("", f"invalid YAML: {exc}", file, 1)]) from None
    if node is None:
        raise SpecError([Issue("", "the spec is empty", file, 1)])
    lines: dict[Path, int] = {}
    issues: list[Issue] = []
    ctor = yaml.SafeLoader("")
    try:
        data = _convert(node, (), lines, ctor, file, issues)
    except yaml.YAMLError as exc:  # e.g. an unparseable timestamp scalar
        raise SpecError([Issue("", f"invalid YAML value: {exc}", file, 1)]) from None
    except RecursionError:
        raise SpecError([Issue("", "the spec nests too deeply (aliases?)", file, 1)]) from None
    if issues:
        raise SpecError(issues)
    return Located(data, lines, file)
