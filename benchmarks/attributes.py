"""What an instance's attribute count costs on CPython 3.11 (issue 17).

An instance keeps its attribute values in a compact array, found through its class's shared
key table, while that table has room; on 3.11 that is 29 names. The 30th attribute gives the
instance a dict of its own, and every ``self.x`` on it, read or write, then goes through a
hashed lookup instead of an indexed one. This times five reads and one write of one attribute
on instances of 29 and 30 attributes, and on a class with ``__slots__``, as the components of
``cloudtwin`` are built (``tests/test_attribute_layout.py`` keeps them under the limit).

    python benchmarks/attributes.py
"""

from __future__ import annotations

import sys
import time
from typing import Any

ROUNDS = 2_000_000


def _plain(n: int) -> Any:
    """An instance with ``n`` attributes, ``x`` the first, set in ``__init__`` as a component sets them."""

    class Plain:
        def __init__(self) -> None:
            self.x = 1
            for i in range(n - 1):
                setattr(self, f"a{i}", i)

    return Plain()


def _slotted(n: int) -> Any:
    class Slotted:
        __slots__ = ("x", *(f"a{i}" for i in range(n - 1)))

        def __init__(self) -> None:
            self.x = 1
            for i in range(n - 1):
                setattr(self, f"a{i}", i)

    return Slotted()


def _time(o: Any) -> float:
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(ROUNDS):
            o.x
            o.x
            o.x
            o.x
            o.x
            o.x = 1
        best = min(best, time.perf_counter() - t)
    return best


def _empty() -> float:
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(ROUNDS):
            pass
        best = min(best, time.perf_counter() - t)
    return best


def main() -> int:
    loop = _empty()
    rows = [("29 attributes, no slots", _plain(29)), ("30 attributes, no slots", _plain(30)),
            ("60 attributes, no slots", _plain(60)), ("60 attributes, __slots__", _slotted(60))]
    print(f"Python {sys.version.split()[0]}: ns per attribute access (5 reads and 1 write, best of 5)")
    base = None
    for label, o in rows:
        ns = (_time(o) - loop) / (ROUNDS * 6) * 1e9
        base = base or ns
        print(f"  {label:26s} {ns:6.2f} ns  x{ns / base:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
