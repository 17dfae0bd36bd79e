"""Replay profiles: a workload's rate multiplier read from a CSV file of ``t_s,factor`` rows.

The file is named relative to the spec's folder (the current folder for a spec
given as text or as a dict) and must lie inside it: a spec cannot make cloudtwin
read an arbitrary file of the machine. It is read within the data-file budget
(a regular file of at most :data:`~cloudtwin.limits.MAX_DATA_BYTES`), and every
problem is reported with the CSV's own ``file:line`` and never with the line's
content, so an error cannot echo another file's text.

Rules: comment lines start with ``#``; a first line that is not numeric is a
header; each row is two numbers, a time in seconds (finite, ``>= 0``) and a
factor (finite, ``0 <= factor <=`` :data:`MAX_FACTOR`). Rows may come in any
order; the profile is a step function of the rows sorted by time, holding the
first factor before the first time.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from cloudtwin.fileio import read_text_bounded
from cloudtwin.limits import MAX_CSV_FIELD, MAX_CSV_ROWS, MAX_DATA_BYTES, MAX_SECONDS

__all__ = ["MAX_FACTOR", "ReplayError", "read_profile", "resolve"]

MAX_FACTOR = 1e4  # as a spike's factor


class ReplayError(ValueError):
    """A replay file that cannot be used; the message names the file (and line) and the problem."""


def resolve(path: str, base: Path) -> Path:
    """The file ``path`` names, relative to ``base``; it must be inside ``base``."""
    root = base.resolve()
    p = (root / path).resolve()
    if p != root and root not in p.parents:
        raise ReplayError(f"replay file {path!r} is outside the spec's folder {str(root)!r}; "
                          "put the CSV beside the spec (a spec may read only files under its folder)")
    return p


def read_profile(file: Path, shown: str) -> tuple[list[float], list[float]]:
    """``(times, factors)`` sorted by time. ``shown`` is the name used in messages."""
    from cloudtwin.errors import SpecError

    try:
        text = read_text_bounded(file, MAX_DATA_BYTES, "replay file")
    except SpecError as exc:  # the file-level reason (not a file, too large, not UTF-8)
        raise ReplayError(f"replay file {shown!r}: {exc.issues[0].message}") from None
    pts: list[tuple[float, float]] = []
    lines = text.splitlines()
    if len(lines) > MAX_CSV_ROWS:
        raise ReplayError(f"replay file {shown!r} has {len(lines):,} lines; the limit is {MAX_CSV_ROWS:,}")
    for n, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"replay file {shown}:{n}"
        if len(line) > 2 * MAX_CSV_FIELD:
            raise ReplayError(f"{where}: the line is {len(line):,} characters long; a row is t_s,factor")
        try:
            row = next(csv.reader([line]))
        except csv.Error:
            raise ReplayError(f"{where}: not a CSV row t_s,factor") from None
        if len(row) < 2:
            raise ReplayError(f"{where}: a row needs two values, t_s,factor")
        try:
            t, f = float(row[0]), float(row[1])
        except ValueError:
            if not pts and n == _first_data_line(lines):
                continue  # a header
            raise ReplayError(f"{where}: t_s and factor must be numbers") from None
        if not (math.isfinite(t) and 0.0 <= t <= MAX_SECONDS):
            raise ReplayError(f"{where}: t_s must be a finite number of seconds, 0 to {MAX_SECONDS:g}")
        if not (math.isfinite(f) and 0.0 <= f <= MAX_FACTOR):
            raise ReplayError(f"{where}: factor must be a finite number from 0 to {MAX_FACTOR:g}")
        pts.append((t, f))
    if not pts:
        raise ReplayError(f"replay file {shown!r} has no rows t_s,factor")
    pts.sort()
    return [t for t, _ in pts], [f for _, f in pts]


def _first_data_line(lines: list[str]) -> int:
    for n, line in enumerate(lines, start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            return n
    return 0
