"""The compiled service layer: whether it is in use, and where its modules are.

``make fast`` (``tools/build_fast.py --layer``) compiles the engine, the request path and the
service modules (``benchmarks/compiled/modules.txt``) with mypyc into ``cloudtwin/_compiled/``,
beside the source and git-ignored, and writes there a stamp of every source it compiled. The
three packages those modules live in (``cloudtwin``, ``cloudtwin.engine``,
``cloudtwin.services``) call :func:`extend` first thing, which puts the compiled folder ahead of
the source on the package's ``__path__``, so Python finds each compiled module before its
``.py``. The results are identical either way (the golden tests check it); only the speed
differs.

The layer is used only when it is *current*: every stamped source is the file that was built
(same size and modification time, or failing that the same SHA-256). One edited module, and
the whole layer stands aside (a service compiled against an older component would not be the
code you are reading). ``CLOUDTWIN_COMPILED=0`` in the environment turns it off.

Without ``make fast`` there is no folder and nothing changes: one ``stat`` at import.
"""

from __future__ import annotations

import hashlib
import os
import sys

__all__ = ["DIR", "STAMP", "active", "extend", "stamp_text", "state"]

DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_compiled")
STAMP = "stamp.txt"  # one line per compiled source: path under src/cloudtwin, size, mtime_ns, sha256
_state: str | None = None


def _source(rel: str) -> str:
    return os.path.join(os.path.dirname(DIR), rel)


def _header() -> str:
    return f"python {sys.implementation.cache_tag}"


def stamp_text(rels: list[str]) -> str:
    """The stamp of a build of ``rels`` (``/``-separated paths under the package folder): the
    text ``make fast`` writes and :func:`state` checks."""
    lines = [_header()]
    for rel in rels:
        path = _source(rel)
        st = os.stat(path)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        lines.append(f"{rel} {st.st_size} {st.st_mtime_ns} {digest}")
    return "\n".join(lines) + "\n"


def _check() -> str:
    """Why the layer is not in use, or "active"."""
    if os.environ.get("CLOUDTWIN_COMPILED", "1") == "0":
        return "off (CLOUDTWIN_COMPILED=0)"
    try:
        with open(os.path.join(DIR, STAMP), encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return "not built (make fast builds it)"
    if not lines or lines[0] != _header():
        return "built for another Python (make fast rebuilds it)"
    for line in lines[1:]:
        try:
            rel, size, mtime, digest = line.rsplit(" ", 3)
            known = (int(size), int(mtime))
        except ValueError:
            return "unreadable stamp (make fast rebuilds it)"
        try:
            st = os.stat(_source(rel))
        except OSError:
            return f"stale: {rel} is gone (make fast rebuilds it)"
        if (st.st_size, st.st_mtime_ns) == known:
            continue
        with open(_source(rel), "rb") as f:
            if hashlib.sha256(f.read()).hexdigest() != digest:
                return f"stale: {rel} changed since the build (make fast rebuilds it)"
    return "active"


def state() -> str:
    """"active", or why the compiled layer is not in use (decided once per process)."""
    global _state
    if _state is None:
        _state = _check()
    return _state


def active() -> bool:
    """Whether the compiled layer's modules are the ones imported."""
    return state() == "active"


def extend(path: list[str], package: str) -> None:
    """Put the compiled folder of ``package`` (a dotted name, under ``cloudtwin``) first on its
    ``__path__`` when the layer is in use."""
    if not os.path.isdir(DIR) or not active():
        return
    sub = os.path.join(DIR, *package.split(".")[1:])
    if os.path.isdir(sub) and sub not in path:
        path.insert(0, sub)
