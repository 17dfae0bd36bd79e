"""Safe YAML loading that remembers where every value came from.

The document is composed into PyYAML nodes with ``SafeLoader`` (no tags that
build objects, nothing executed), then converted to plain dicts, lists and
scalars while recording the line of every path. What YAML would do silently
is reported instead: duplicate keys, merge keys and non-standard tags
(``!!python/object``, ``!!binary``, ``!custom``...). Aliases are expanded under
a node budget, so a "billion laughs" document is refused instead of eating the
memory; an alias that contains itself is refused too. Timestamps stay the text
the user wrote (a spec has no dates), and mapping keys are taken as written
(``on:`` is the key ``'on'``, not ``True``).
"""

from __future__ import annotations

from typing import Any

import yaml

from cloudtwin import limits
from cloudtwin.errors import Issue, SpecError

Path = tuple[str | int, ...]
MAX_SPEC_BYTES, MAX_NODES, MAX_DEPTH = limits.MAX_SPEC_BYTES, limits.MAX_NODES, limits.MAX_DEPTH
MAX_INT = limits.MAX_INT
MAX_INT_DIGITS = 40  # digits (with separators) read at all: int() of a long string is quadratic

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when built in: same nodes, faster
_T = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_T}{t}" for t in ("str", "int", "float", "bool", "null")}
_TIMESTAMP = f"{_T}timestamp"
_INT = f"{_T}int"
_MAP, _SEQ, _MERGE = f"{_T}map", f"{_T}seq", f"{_T}merge"


def format_path(path: Path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def one_line(text: str) -> str:
    """A message on a single line (PyYAML's own messages span several)."""
    return " ".join(str(text).split())


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


class _TooBig(Exception):
    def __init__(self, issue: Issue) -> None:
        self.issue = issue


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_T):] if tag.startswith(_T) else tag


class _Converter:
    """Nodes to plain data, with lines, a node budget and a nesting limit."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[Path, int] = {}
        self.issues: list[Issue] = []
        self.ctor = yaml.SafeLoader("")
        self.nodes = 0
        self.open: set[int] = set()  # ids of the nodes being converted (an alias cycle revisits one)
        self.seen: set[int] = set()  # ids of the collection nodes converted: one seen again is an alias
        self.aliased = False

    def add(self, path: Path, line: int, message: str) -> None:
        self.issues.append(Issue(format_path(path), message, self.file, line))

    def convert(self, node: yaml.Node, path: Path, depth: int = 0) -> Any:
        line = node.start_mark.line + 1
        self.lines.setdefault(path, line)
        self.nodes += 1
        if self.nodes > MAX_NODES:
            why = " once its YAML aliases are expanded" if self.aliased else ""
            raise _TooBig(Issue(format_path(path), f"the spec holds more than {MAX_NODES:,} values{why}; "
                                "refusing to load it", self.file, line))
        if depth > MAX_DEPTH:
            self.add(path[:MAX_DEPTH // 5], line, f"nesting is deeper than {MAX_DEPTH} levels")
            raise _TooBig(self.issues.pop())
        if id(node) in self.open:
            self.add(path, line, "a YAML alias refers to a value that contains it (endless nesting)")
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path, line)
        if node.tag not in (_MAP, _SEQ):
            return self.bad_tag(node, path, line)
        if id(node) in self.seen:
            self.aliased = True
        self.seen.add(id(node))
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path, depth)
            return [self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        finally:
            self.open.discard(id(node))

    def bad_tag(self, node: yaml.Node, path: Path, line: int) -> None:
        tag = _tag_name(node.tag)
        why = " (nothing in a spec builds objects or runs code)" if "python" in tag else ""
        self.add(path, line, f"the YAML tag {tag} is not allowed{why}; a spec holds only mappings, "
                 "lists, strings, numbers and booleans")
        return None

    def scalar(self, node: yaml.ScalarNode, path: Path, line: int) -> Any:
        if node.tag == _TIMESTAMP:
            return node.value  # e.g. 2020-01-01: keep the text; no spec field is a date
        if node.tag not in _SCALAR_TAGS:
            return self.bad_tag(node, path, line)
        if node.tag == _INT and len(node.value) > MAX_INT_DIGITS:
            self.add(path, line, f"the number {node.value[:12]}… ({len(node.value)} digits) is too large")
            return None
        try:
            value = self.ctor.construct_object(node)
        except (yaml.YAMLError, ValueError, KeyError, TypeError, OverflowError):
            self.add(path, line, f"cannot read {node.value[:60]!r} as {_tag_name(node.tag)}")
            return None
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            self.add(path, line, f"the number {node.value[:24]} is too large (at most 2**63 - 1)")
            return None
        return value

    def mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            kline = key_node.start_mark.line + 1
            if key_node.tag == _MERGE:
                self.add(path, kline, "YAML merge keys (<<) are not supported; write the keys out")
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == f"{_T}null" or \
                    key_node.tag not in _SCALAR_TAGS | {_TIMESTAMP}:
                self.add(path, kline, "mapping keys must be plain strings")
                continue
            key = str(key_node.value)  # as written: `on:` stays 'on', `1:` stays '1'
            if key in out:
                self.add((*path, key), kline, f"duplicate key {key!r} (first on line {self.lines[(*path, key)]})")
                continue
            self.lines[(*path, key)] = kline
            out[key] = self.convert(value_node, (*path, key), depth + 1)
        return out


def load_yaml(text: str, file: str = "<spec>", *, converter: type[_Converter] | None = None, what: str = "spec",
              syntax: str = "YAML") -> Located:
    """Parse ``text`` safely. Raises :class:`SpecError` with file:line on any YAML problem.
    ``converter`` (a :class:`_Converter` subclass, e.g. the CloudFormation importer's, which reads
    its short-form tags) turns the nodes into data; ``what`` and ``syntax`` word the errors."""
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError([Issue("", f"the {what} is {len(text):,} characters; the limit is "
                               f"{MAX_SPEC_BYTES:,}", file, 1)])
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        msg = " ".join(x for x in (exc.context, exc.problem) if x) or str(exc)
        raise SpecError([Issue("", f"invalid {syntax}: {one_line(msg)}", file, line)]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        raise SpecError([Issue("", f"invalid {syntax}: character {exc.character!r} is not allowed in a YAML "
                               "file (is this a binary file?)", file, line)]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Issue("", f"invalid {syntax}: {one_line(str(exc))}", file, 1)]) from None
    except RecursionError:
        raise SpecError([Issue("", f"the {what} nests deeper than the YAML parser can follow "
                               f"(the limit for a {what} is {MAX_DEPTH} levels)", file, 1)]) from None
    if node is None:
        raise SpecError([Issue("", f"the {what} is empty", file, 1)])
    conv = (converter or _Converter)(file)
    try:
        data = conv.convert(node, ())
    except _TooBig as exc:
        raise SpecError([exc.issue]) from None
    if conv.issues:
        raise SpecError(conv.issues)
    return Located(data, conv.lines, file)
