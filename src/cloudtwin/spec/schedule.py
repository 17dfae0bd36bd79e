"""EventBridge schedule expressions: ``rate(...)`` and ``cron(...)``, parsed and stepped.

A schedule is data: each form is matched by a regular expression and its fields turned
into sets of integers; nothing is evaluated. EventBridge's grammar [aws-facts §8
Scheduled rules: minimum precision 1 minute, UTC]:

* ``rate(<value> <unit>)``: a positive whole number and ``minute``, ``hour`` or ``day``
  (singular for 1, plural otherwise, as AWS requires). Rates below one minute do not
  exist. The first run is one period after the rule exists (time 0) (assumption).
* ``cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)``: six fields,
  UTC. Each field takes ``*``, a value, a range ``a-b``, a list ``a,b`` and steps
  ``*/n``, ``a/n`` or ``a-b/n``; months may be ``JAN``-``DEC`` and days of the week
  ``SUN``-``SAT`` (1 = Sunday, 7 = Saturday). One of day-of-month and day-of-week must
  be ``?`` and the other not. ``L``, ``W`` and ``#`` are not supported here.

Simulated time 0 is 2024-01-01T00:00Z, a Monday (assumption), so a cron expression can
be stepped in the simulation's seconds by :meth:`Schedule.next_after`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

EPOCH = dt.date(2024, 1, 1)  # simulated time 0 (assumption); a Monday
SEARCH_DAYS = 4 * 366 + 1  # how far ahead next_after looks before saying "never"

_RATE_RE = re.compile(r"^\s*rate\(\s*(\d+)\s+([a-z]+)\s*\)\s*$")
_CRON_RE = re.compile(r"^\s*cron\((.*)\)\s*$")
_UNITS = {"minute": 60.0, "hour": 3600.0, "day": 86400.0}
_MONTHS = {m: i + 1 for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                                           "NOV", "DEC"))}
_DAYS = {d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
# (name, low, high, names)
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minutes", 0, 59, {}), ("hours", 0, 23, {}), ("day-of-month", 1, 31, {}), ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS), ("year", 1970, 2199, {}))
FORMS = "rate(5 minutes), rate(1 hour) or cron(0/15 * * * ? *)"
MAX_PERIOD = 1e9  # seconds: a bound on the input (the longest run is far shorter)


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: a fixed period, or the allowed values of each cron field."""

    text: str
    period: float | None = None
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    dom: frozenset[int] | None = None  # None: `?`
    months: frozenset[int] = frozenset()
    dow: frozenset[int] | None = None  # 1 = Sunday
    years: frozenset[int] = frozenset()

    def next_after(self, t: float) -> float | None:
        """The first run strictly after ``t`` seconds (None if there is none within 4 years)."""
        if self.period is not None:
            return (math.floor(t / self.period + 1e-9) + 1) * self.period
        m0 = math.floor(t / 60.0 + 1e-9) + 1  # runs sit on whole minutes
        day0 = m0 // 1440
        hours = sorted(self.hours)
        minutes = sorted(self.minutes)
        for day in range(day0, day0 + SEARCH_DAYS):
            date = EPOCH + dt.timedelta(days=day)
            if date.year > max(self.years):
                return None
            if not self._day_ok(date):
                continue
            first = m0 - day * 1440 if day == day0 else 0
            for h in hours:
                if h * 60 + 59 < first:
                    continue
                for mi in minutes:
                    if h * 60 + mi >= first:
                        return float((day * 1440 + h * 60 + mi) * 60)
        return None

    def _day_ok(self, date: dt.date) -> bool:
        if date.year not in self.years or date.month not in self.months:
            return False
        if self.dom is not None:
            return date.day in self.dom
        assert self.dow is not None
        return (date.weekday() + 1) % 7 + 1 in self.dow


def parse_schedule(text: str) -> Schedule:
    """Parse ``rate(...)`` or ``cron(...)``; a ValueError says what is wrong and what is allowed."""
    if not isinstance(text, str):
        raise ValueError(f"a schedule is a string like {FORMS}, got {text!r}")
    if m := _RATE_RE.match(text):
        return _rate(text, int(m.group(1)), m.group(2))
    if m := _CRON_RE.match(text):
        return _cron(text, m.group(1))
    raise ValueError(f"schedule {text!r} does not parse; expected {FORMS}")


def _rate(text: str, n: int, unit: str) -> Schedule:
    base = unit[:-1] if unit.endswith("s") else unit
    if base not in _UNITS:
        raise ValueError(f"schedule {text!r}: unknown unit {unit!r}; use minute(s), hour(s) or day(s) "
                         "(the minimum precision is 1 minute [aws-facts §8])")
    if n < 1:
        raise ValueError(f"schedule {text!r}: the value must be a positive whole number")
    want = base if n == 1 else base + "s"
    if unit != want:
        raise ValueError(f"schedule {text!r}: write rate({n} {want}) (singular for 1, plural otherwise)")
    if n > MAX_PERIOD / _UNITS[base]:  # a number past float range, or a period no run could reach
        raise ValueError(f"schedule {text[:40]!r}...: the period is above {MAX_PERIOD:.0e} s (about 31 years)")
    return Schedule(text=text.strip(), period=n * _UNITS[base])


def _cron(text: str, body: str) -> Schedule:
    parts = body.split()
    if len(parts) != 6:
        raise ValueError(f"schedule {text!r}: cron needs 6 fields (minutes hours day-of-month month "
                         f"day-of-week year), got {len(parts)}")
    dom_q, dow_q = parts[2] == "?", parts[4] == "?"
    if dom_q == dow_q:
        raise ValueError(f"schedule {text!r}: exactly one of day-of-month and day-of-week must be '?'")
    sets: list[frozenset[int] | None] = []
    for raw, (name, lo, hi, names) in zip(parts, _FIELDS, strict=True):
        if raw == "?":
            if name not in ("day-of-month", "day-of-week"):
                raise ValueError(f"schedule {text!r}: '?' is only allowed in day-of-month and day-of-week")
            sets.append(None)
            continue
        sets.append(_field(text, raw, name, lo, hi, names))
    minutes, hours, dom, months, dow, years = sets
    assert minutes is not None and hours is not None and months is not None and years is not None
    s = Schedule(text=text.strip(), minutes=minutes, hours=hours, dom=dom, months=months, dow=dow, years=years)
    if s.next_after(-1.0) is None:
        raise ValueError(f"schedule {text!r} never runs within 4 years of {EPOCH.isoformat()} (simulated time 0)")
    return s


def _value(text: str, tok: str, name: str, lo: int, hi: int, names: dict[str, int]) -> int:
    up = tok.upper()
    if up in names:
        return names[up]
    if not tok.isdigit():
        extra = " (L, W and # are not supported)" if any(c in up for c in "LW#") else ""
        raise ValueError(f"schedule {text!r}: {name} value {tok!r} is not a number{extra}")
    v = int(tok)
    if not lo <= v <= hi:
        raise ValueError(f"schedule {text!r}: {name} value {v} is outside {lo}-{hi}")
    return v


def _field(text: str, raw: str, name: str, lo: int, hi: int, names: dict[str, int]) -> frozenset[int]:
    out: set[int] = set()
    for item in raw.split(","):
        rng, _, step_txt = item.partition("/")
        step = 1
        if step_txt:
            if not step_txt.isdigit() or int(step_txt) < 1:
                raise ValueError(f"schedule {text!r}: {name} step {step_txt!r} must be a positive whole number")
            step = int(step_txt)
        if rng == "*":
            a, b = lo, hi
        elif "-" in rng:
            x, _, y = rng.partition("-")
            a, b = _value(text, x, name, lo, hi, names), _value(text, y, name, lo, hi, names)
            if a > b:
                raise ValueError(f"schedule {text!r}: {name} range {rng!r} runs backwards")
        else:
            a = _value(text, rng, name, lo, hi, names)
            b = hi if step_txt else a
        out.update(range(a, b + 1, step))
    return frozenset(out)
