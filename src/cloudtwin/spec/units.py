"""Parsing of the spec's small languages: durations, rates, sizes and distributions.

``250ms``, ``5s``, ``10m``, ``1h``, ``1d`` (a bare number means seconds);
``400/s``, ``1200/m``, ``50/h``; ``4KB``, ``1.5MB``, ``2GiB``; ``500Mbps``, ``10Gbps``;
``8ms``, ``exp(8ms)``, ``lognormal(median=20ms, p99=200ms)``, ``uniform(1ms, 5ms)``,
``zipf(s=1.1, n=100000)``. Nothing here is ever evaluated as code: each form is
matched by a regular expression and its numbers converted with ``float``.
"""

from __future__ import annotations

import math
import re

from cloudtwin.engine.sampling import MAX_ZIPF_N, Distribution
from cloudtwin.limits import MAX_BYTES, MAX_NUMBER, MAX_RATE, MAX_SECONDS

_DURATION_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_RATE_UNITS = {"s": 1.0, "sec": 1.0, "m": 1 / 60, "min": 1 / 60, "h": 1 / 3600, "d": 1 / 86400}
_SIZE_UNITS = {
    "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}
_NUM = r"[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"  # a sign is read so "-5s" gets a clear error
_DURATION_RE = re.compile(rf"^\s*({_NUM})\s*(us|ms|s|min|m|h|d)?\s*$")
_RATE_RE = re.compile(rf"^\s*({_NUM})\s*/\s*(s|sec|min|m|h|d)\s*$")
_SIZE_RE = re.compile(rf"^\s*({_NUM})\s*([kmgt]i?b|b)?\s*$", re.IGNORECASE)
_BANDWIDTH_UNITS = {"bps": 1.0, "kbps": 1e3, "mbps": 1e6, "gbps": 1e9, "tbps": 1e12}
_BANDWIDTH_RE = re.compile(rf"^\s*({_NUM})\s*([kmgt]?bps)\s*$", re.IGNORECASE)
MAX_BANDWIDTH = 1e15  # bits per second: far above any link
_CALL_RE = re.compile(r"^\s*([a-z]+)\s*\((.*)\)\s*$")




def _number(value: int | float, what: str) -> float:
    """``float(value)``, with a clear error for an integer past the range of floats."""
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{what} {_short(value)} is too large a number") from None


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 24 else f"{text[:12]}…({len(text)} digits)"


def _bounded(x: float, value: object, what: str, top: float, unit: str) -> float:
    if not math.isfinite(x) or x < 0:
        raise ValueError(f"a {what} must be finite and >= 0, got {_short(value)}")
    if x > top:
        raise ValueError(f"a {what} must be at most {top:g}{unit}, got {_short(value)}")
    return x


def parse_duration(value: object) -> float:
    """Seconds from ``250ms``/``5s``/``10m``/``1h``/``1d`` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 250ms, 5s, 10m, 1h or 1d, got {value!r}")
    if isinstance(value, int | float):
        seconds = _number(value, "duration")
    elif isinstance(value, str) and (m := _DURATION_RE.match(value)):
        seconds = float(m.group(1)) * _DURATION_UNITS[m.group(2) or "s"]
    else:
        raise ValueError(f"expected a duration like 250ms, 5s, 10m, 1h or 1d, got {value!r}")
    return _bounded(seconds, value, "duration", MAX_SECONDS, " s")


def parse_rate(value: object) -> float:
    """Events per second from ``400/s``, ``1200/m``, ``50/h`` or a number per second."""
    if isinstance(value, bool):
        raise ValueError(f"expected a rate like 400/s or 1200/m, got {value!r}")
    if isinstance(value, int | float):
        rate = _number(value, "rate")
    elif isinstance(value, str) and (m := _RATE_RE.match(value)):
        rate = float(m.group(1)) * _RATE_UNITS[m.group(2)]
    else:
        raise ValueError(f"expected a rate like 400/s or 1200/m, got {value!r}")
    return _bounded(rate, value, "rate", MAX_RATE, "/s")


def parse_size(value: object) -> float:
    """Bytes from ``4KB``, ``1.5MB``, ``2GiB`` or a number of bytes (KB = 1000 B, KiB = 1024 B)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a size like 4KB or 2GiB, got {value!r}")
    if isinstance(value, int | float):
        size = _number(value, "size")
    elif isinstance(value, str) and (m := _SIZE_RE.match(value)):
        size = float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()]
    else:
        raise ValueError(f"expected a size like 4KB, 1.5MB or 2GiB, got {value!r}")
    return _bounded(size, value, "size", MAX_BYTES, " bytes")


def parse_bandwidth(value: object) -> float:
    """Bits per second from ``10Gbps``, ``500Mbps``, ``1.25Gbps`` or a number of bits per second
    (decimal multiples, as link speeds are quoted)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a bandwidth like 500Mbps or 10Gbps, got {value!r}")
    if isinstance(value, int | float):
        bps = _number(value, "bandwidth")
    elif isinstance(value, str) and (m := _BANDWIDTH_RE.match(value)):
        bps = float(m.group(1)) * _BANDWIDTH_UNITS[m.group(2).lower()]
    else:
        raise ValueError(f"expected a bandwidth like 500Mbps or 10Gbps, got {value!r}")
    return _bounded(bps, value, "bandwidth", MAX_BANDWIDTH, " bps")


def _split_args(body: str) -> tuple[list[str], dict[str, str]]:
    pos: list[str] = []
    kw: dict[str, str] = {}
    if not body.strip():
        return pos, kw
    for part in body.split(","):
        part = part.strip()
        if "=" in part:
            k, _, v = part.partition("=")
            kw[k.strip()] = v.strip()
        else:
            if kw:
                raise ValueError("positional arguments must come before named ones")
            pos.append(part)
    return pos, kw


_FORMS = "8ms | exp(mean) | lognormal(median=, p99=) | uniform(a, b)"


def parse_distribution(value: object, *, of: str = "duration") -> Distribution:
    """A :class:`Distribution` of seconds (``of='duration'``), bytes (``'size'``) or plain numbers."""
    conv = {"duration": parse_duration, "size": parse_size, "number": _parse_number}[of]
    text = str(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Distribution("const", (conv(value),), text)
    if not isinstance(value, str):
        raise ValueError(f"expected a distribution ({_FORMS}), got {value!r}")
    m = _CALL_RE.match(value)
    if not m:
        try:
            return Distribution("const", (conv(value),), text)
        except ValueError:
            raise ValueError(f"expected a distribution ({_FORMS}), got {value!r}") from None
    kind, body = m.group(1), m.group(2)
    pos, kw = _split_args(body)
    if kind in ("exp", "exponential"):
        (mean,) = _take(kind, pos, kw, ["mean"])
        return Distribution("exp", (conv(mean),), text)
    if kind == "lognormal":
        median, p99 = (conv(x) for x in _take(kind, pos, kw, ["median", "p99"]))
        if not 0 < median < p99:
            raise ValueError(f"lognormal needs 0 < median < p99, got {value!r}")
        return Distribution("lognormal", (median, p99), text)
    if kind == "uniform":
        lo, hi = (conv(x) for x in _take(kind, pos, kw, ["a", "b"]))
        if lo > hi:
            raise ValueError(f"uniform needs a <= b, got {value!r}")
        return Distribution("uniform", (lo, hi), text)
    if kind == "zipf":
        raise ValueError("zipf(...) describes keys, not durations; use it under `key:`")
    raise ValueError(f"unknown distribution {kind!r}; expected {_FORMS}")


def parse_key_distribution(value: object) -> Distribution:
    """Key ranks: ``zipf(s=1.1, n=100000)``, ``uniform(1, n)`` or a constant key."""
    if isinstance(value, str) and (m := _CALL_RE.match(value)) and m.group(1) == "zipf":
        pos, kw = _split_args(m.group(2))
        s_txt, n_txt = _take("zipf", pos, kw, ["s", "n"])
        s, n = _parse_number(s_txt), _parse_number(n_txt)
        if s <= 0:
            raise ValueError(f"zipf needs s > 0, got {value!r}")
        if not 1 <= n <= MAX_ZIPF_N or n != int(n):
            raise ValueError(f"zipf needs an integer n between 1 and {MAX_ZIPF_N:,}, got {value!r}")
        return Distribution("zipf", (s, float(int(n))), str(value))
    return parse_distribution(value, of="number")


def _parse_number(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {_short(value)}") from None
    except OverflowError:
        raise ValueError(f"{_short(value)} is too large a number") from None
    return _bounded(x, value, "number", MAX_NUMBER, "")


def _take(kind: str, pos: list[str], kw: dict[str, str], names: list[str]) -> list[str]:
    unknown = set(kw) - set(names)
    if unknown:
        raise ValueError(f"{kind}() takes {', '.join(names)}; unknown argument(s) {sorted(unknown)}")
    if len(pos) > len(names):
        raise ValueError(f"{kind}() takes {len(names)} argument(s): {', '.join(names)}")
    values = dict(zip(names, pos, strict=False))
    for k, v in kw.items():
        if k in values:
            raise ValueError(f"{kind}() got {k} twice")
        values[k] = v
    missing = [n for n in names if n not in values]
    if missing:
        raise ValueError(f"{kind}() is missing {', '.join(missing)}")
    return [values[n] for n in names]
