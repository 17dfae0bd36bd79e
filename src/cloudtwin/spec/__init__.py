"""The spec: YAML in, a validated, frozen :class:`Architecture` out, or one SpecError.

Every problem is reported with its path and ``file:line``; nothing in a spec is
ever executed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path as FsPath
from typing import Any

from pydantic import ValidationError

from cloudtwin.errors import Issue, SpecError
from cloudtwin.fileio import read_text_bounded
from cloudtwin.limits import MAX_COMPONENTS
from cloudtwin.spec import references
from cloudtwin.spec.loader import MAX_DEPTH, MAX_INT, MAX_SPEC_BYTES, Located, Path, load_yaml
from cloudtwin.spec.schema import Architecture

__all__ = ["Architecture", "Located", "from_dict", "load_spec", "load_spec_located", "parse_spec", "parse_spec_located",
           "spec_warnings", "validate_data"]


_MISSING = object()


def _child(cur: Any, part: Any) -> Any:
    if isinstance(cur, dict) and part in cur:
        return cur[part]
    if isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
        return cur[part]
    return _MISSING


def _data_path(data: Any, loc: tuple[Any, ...]) -> Path:
    """Map a pydantic ``loc`` onto the real data path, skipping union tags.

    A ``loc`` mixes data keys with union labels (``ec2``, ``call``, ``bool``...). A
    label can also be a data key (a ``call`` step's tag is its ``call`` key), so the
    match that uses the most parts, and the latest ones, wins.
    """
    memo: dict[tuple[int, int], tuple[int, int, Path]] = {}

    def best(i: int, cur: Any) -> tuple[int, int, Path]:
        if i == len(loc):
            return 0, -1, ()
        k = (i, id(cur))
        if k not in memo:
            res = best(i + 1, cur)
            child = _child(cur, loc[i])
            if child is not _MISSING:
                n, last, rest = best(i + 1, child)
                cand = (n + 1, max(last, i), (loc[i], *rest))
                if cand[:2] >= res[:2]:
                    res = cand
            memo[k] = res
        return memo[k]

    return best(0, data)[2]


def _holds(data: Any, path: Path, key: str) -> bool:
    cur = data
    for part in path:
        cur = _child(cur, part)
    return isinstance(cur, dict) and key in cur


_TYPE_WORDS = {
    "bool_type": "expected true or false", "bool_parsing": "expected true or false",
    "string_type": "expected a string", "list_type": "expected a list",
    "dict_type": "expected a mapping of keys", "model_type": "expected a mapping of keys",
    "model_attributes_type": "expected a mapping of keys",
    "int_type": "expected an integer", "int_parsing": "expected an integer",
    "int_from_float": "expected a whole number", "float_type": "expected a number",
    "float_parsing": "expected a number", "finite_number": "expected a finite number",
}
_SHOW_VALUE = ("literal_error", "string_pattern_mismatch", "string_too_long", "string_too_short")
# errors that only say "wrong type here"; dropped when another union branch got deeper
_SHALLOW = set(_TYPE_WORDS) | {"expected_mapping", "literal_error", "step_kind", "union_tag_invalid"}


def _message(err: Any) -> tuple[str, str]:
    """What is wrong, and ``", got <value>"`` when showing the value helps."""
    kind = err["type"]
    if kind == "missing":
        return "required key is missing", ""
    msg = _TYPE_WORDS.get(kind) or str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if msg.startswith("Input should be "):
        msg = ("expected " if kind == "literal_error" else "must be ") + msg[len("Input should be "):]
    value = err.get("input")
    got = ""
    shows_value = kind in _TYPE_WORDS or kind in _SHOW_VALUE or msg.startswith("must be ")
    if shows_value and isinstance(value, str | int | float | bool) and "got " not in msg:
        shown = repr(value)
        got = f", got {shown if len(shown) <= 60 else shown[:57] + '...'}"
    return msg, got


def _issues(located: Located, errors: list[Any]) -> list[Issue]:
    """One issue per data path: union branches merged, shallow type noise dropped."""
    found: list[tuple[Path, str, tuple[str, str]]] = []
    for err in errors:
        ctx = err.get("ctx") or {}
        if "path" in ctx:
            path = tuple(ctx["path"])
        else:
            path = _data_path(located.data, tuple(err["loc"]))
            if err["type"] == "missing" and err["loc"] and err["loc"][-1] not in path:
                path = (*path, err["loc"][-1])
        if "key" in ctx:  # an unknown key: the path is the mapping that holds it
            while path and not _holds(located.data, path, ctx["key"]):
                path = path[:-1]
            path = (*path, ctx["key"])
        found.append((path, err["type"], _message(err)))
    deep = {p for p, _, _ in found}
    by_path: dict[Path, list[tuple[str, str]]] = {}
    for path, kind, msg in found:
        if kind in _SHALLOW and any(len(q) > len(path) and q[:len(path)] == path for q in deep):
            continue
        msgs = by_path.setdefault(path, [])
        if msg not in msgs:
            msgs.append(msg)
    out = []
    for path, msgs in by_path.items():
        gots = {g for _, g in msgs}
        one_value = len(gots) == 1  # show the value once, after the alternatives
        text = "; or ".join(m if one_value else m + g for m, g in msgs) + (gots.pop() if one_value else "")
        out.append(located.issue(path, text))
    return out


def _components(located: Located) -> tuple[Any, list[Any]]:
    """Validate each component against its type's model (only the models the spec uses are
    built); return the data with the valid ones in place, and the errors of the others with
    their ``loc`` under ``components.<name>``."""
    from cloudtwin.catalogue import ROWS, resolve

    data = located.data
    comps = data.get("components") if isinstance(data, dict) else None
    if not isinstance(comps, dict):
        return data, []
    if len(comps) > MAX_COMPONENTS:  # refused before validating them one by one
        raise SpecError([located.issue(("components",), f"{len(comps):,} components; a spec has at most "
                                       f"{MAX_COMPONENTS:,}")])
    built: dict[Any, Any] = {}
    errors: list[Any] = []
    for name, raw in comps.items():
        t = raw.get("type") if isinstance(raw, dict) else None
        cls = resolve(ROWS[t].spec_model) if isinstance(t, str) and t in ROWS else None
        if cls is None:
            built[name] = raw  # Architecture reports an unknown or missing type
            continue
        try:
            built[name] = cls.model_validate(raw)
        except ValidationError as exc:
            errors.extend({**e, "loc": ("components", name, *e["loc"])} for e in exc.errors(include_url=False))
    return {**data, "components": built}, errors


def validate_data(located: Located, base_dir: str | os.PathLike[str] = ".") -> Architecture:
    """Validate already-parsed data; raise SpecError with every issue found, in one pass: the
    components' own errors, the top level's, and, when the top level holds, the references
    between the components that are valid (a reference to a component that failed its own
    checks is not reported again). Data files the spec names (replay profiles) are read
    relative to ``base_dir``."""
    data, errors = _components(located)
    failed: set[Any] = set()
    if errors:
        failed = {e["loc"][1] for e in errors}
        data = {**data, "components": {n: c for n, c in data["components"].items() if n not in failed}}
    try:
        arch = Architecture.model_validate(data)
    except ValidationError as exc:
        more = exc.errors(include_url=False)
        if errors:  # the failed components were left out: "at least one component" is not news
            more = [e for e in more if tuple(e["loc"]) != ("components",)]
        raise SpecError(_issues(located, errors + more)) from None
    arch._base_dir = str(base_dir)
    problems = references.check(arch) + _replays(arch)
    if failed:  # the spec without them: what refers to them would only repeat their errors
        problems = [(p, m) for p, m in problems
                    if not any(f"{n!r}" in m for n in failed) and not _refers(located.data, p, failed)]
    issues = _issues(located, errors) if errors else []
    issues += [located.issue(p, m) for p, m in problems]
    if issues:
        raise SpecError(sorted(issues, key=lambda i: i.line))  # in the file's order (stable within a line)
    return arch


def _names_in(value: Any) -> Iterator[str]:
    """Every string in ``value`` that could name a component (``name`` or ``name.op``)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            yield v.split(".", 1)[0]
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def _refers(data: Any, path: Path, failed: set[Any]) -> bool:
    """Does the mapping holding a problem's value name one of the ``failed`` components? (Its
    problem may only be that the failed one is missing from the checked spec.)"""
    owner = data
    for part in path[:-1]:
        owner = _child(owner, part)
    return owner is not _MISSING and any(n in failed for n in _names_in(owner))


def _replays(arch: Architecture) -> list[tuple[Path, str]]:
    """Each replay profile's file, read and checked now (so `validate` vouches for it)."""
    from cloudtwin.replay import ReplayError, read_profile, resolve

    out: list[tuple[Path, str]] = []
    for name, w in arch.workloads.items():
        if w.profile.type == "replay" and w.profile.path:
            try:
                read_profile(resolve(w.profile.path, FsPath(arch.base_dir)), w.profile.path)
            except ReplayError as exc:
                out.append((("workloads", name, "profile"), str(exc)))
    return out


def spec_warnings(arch: Architecture, located: Located | None = None) -> list[Issue]:
    """Settings that are legal but that AWS advises against (e.g. an SQS visibility timeout
    below 6 x the consuming function's timeout), with path and ``file:line``. Never fatal:
    ``cloudtwin validate`` and ``run`` print them as ``warning: ...`` and carry on."""
    found = references.warnings(arch)
    if located is None:
        from cloudtwin.spec.loader import format_path

        return [Issue(format_path(p), m) for p, m in found]
    return [located.issue(p, m) for p, m in found]


def parse_spec(text: str, *, file: str = "<spec>") -> Architecture:
    """Parse and validate spec text."""
    return validate_data(load_yaml(text, file))


def from_dict(data: Mapping[str, Any], *, file: str = "<dict>") -> Architecture:
    """Validate a spec given as Python data (the same keys as the YAML). Errors name the key
    path, as for a file. ``from_dict(arch.to_dict())`` gives back an equal Architecture, so a
    notebook can load a blueprint, change a dict and simulate the variant."""
    if not isinstance(data, Mapping):
        raise SpecError([Issue("", f"a spec is a mapping of keys, not {type(data).__name__}", file, 0)])
    return validate_data(Located(_plain(data, file), {}, file))


def _plain(x: Any, file: str, depth: int = 0) -> Any:
    """Mappings and sequences copied into dicts and lists (so the caller's data is never
    changed and tuples read as YAML lists would), within the YAML loader's depth limit."""
    if depth > MAX_DEPTH:
        raise SpecError([Issue("", f"the data nests deeper than {MAX_DEPTH} levels", file, 0)])
    if isinstance(x, Mapping):
        return {k: _plain(v, file, depth + 1) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v, file, depth + 1) for v in x]
    if isinstance(x, int) and not isinstance(x, bool) and abs(x) > MAX_INT:
        raise SpecError([Issue("", f"the number {str(x)[:24]} is too large (at most 2**63 - 1)", file, 0)])
    return x


def load_spec(path: str | os.PathLike[str]) -> Architecture:
    """Load a spec file. A bare blueprint name resolves to the built-in blueprint."""
    return load_spec_located(path)[0]


def parse_spec_located(text: str, *, file: str = "<spec>",
                       base_dir: str | os.PathLike[str] = ".") -> tuple[Architecture, Located]:
    """Like :func:`parse_spec`, also returning the data with its line map (for file:line reports)."""
    located = load_yaml(text, file)
    return validate_data(located, base_dir), located


def load_spec_located(path: str | os.PathLike[str]) -> tuple[Architecture, Located]:
    """Like :func:`load_spec`, also returning the data with its line map (for file:line reports)."""
    if isinstance(path, str) and "\n" in path:
        raise SpecError([Issue("", "this looks like YAML text, not a file name or a blueprint name; "
                               "use cloudtwin.parse_spec(text)", "<spec>", 0)])
    p = FsPath(path)
    try:
        exists = p.exists()
    except OSError as exc:  # e.g. a name too long for the file system
        raise SpecError([Issue("", f"cannot read the spec: {exc.strerror or exc}", str(path)[:200], 0)]) from None
    if not exists:
        from cloudtwin.blueprints import blueprint_path

        bp = blueprint_path(str(path))
        if bp is None:
            raise SpecError([Issue("", "no such file, and no blueprint of that name "
                                   "(see `cloudtwin blueprints`)", str(path), 0)])
        p = bp
    text = read_text_bounded(p, MAX_SPEC_BYTES, "spec")
    return parse_spec_located(text, file=str(path), base_dir=p.parent)
