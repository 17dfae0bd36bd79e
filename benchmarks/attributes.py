"""What an instance's attribute count costs on CPython 3.11 (issue 17).

An instance keeps its attribute values in a compact array, found through its class's shared
key table, while that table has room; on 3.11 that is 29 names. The 30th attribute gives the
instance a dict of its own, and every ``self.x`` on it, read or write, then goes through a
hashed lookup instead of an indexed one. This times five reads and one write of one attribute
on instances of 29 and 30 attributes, and on a class with ``__slots__``, as the components of
``cloudtwin`` are built (``tests/test_attribute_layout.py`` keeps them under the limit).
It also times three other reads a hot path makes, each beside its cheaper form: a class-level
value read through an instance, an instance attribute holding a callable (a sampler) called
as ``o.draw()``, and a bound method made by ``o.method`` (3.11 specializes none of the three).

    python benchmarks/attributes.py
"""

# ruff: noqa: B018  (the expressions are the attribute reads being timed)
from __future__ import annotations

import itertools
import sys
import time
import types
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


def _fresh(fn: Any) -> Any:
    """A copy of ``fn`` with its own bytecode, so that no row's reads see another class's
    specialization (3.11 keeps it in the code object, and one site seeing two classes loses it)."""
    return types.FunctionType(fn.__code__.replace(), fn.__globals__, fn.__name__)


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


class _Shapes:
    """Three other reads a hot path makes, for the comparison the docs draw."""

    __slots__ = ("value", "draw", "bound")
    CONST = 5  # a class-level value read through an instance: not specialized on 3.11

    def __init__(self) -> None:
        self.value = 5
        self.draw = itertools.repeat(1.0).__next__  # a sampler held by the instance
        self.bound = self.method

    def method(self) -> float:
        return 1.0


def _per_op(fn: Any, o: Any, loop: float) -> float:
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        fn(o)
        best = min(best, time.perf_counter() - t)
    return (best - loop) / (ROUNDS * 4) * 1e9  # fn is called on one class only: no copy needed


def _class_value(o: Any) -> None:
    for _ in range(ROUNDS):
        o.CONST
        o.CONST
        o.CONST
        o.CONST


def _instance_value(o: Any) -> None:
    for _ in range(ROUNDS):
        o.value
        o.value
        o.value
        o.value


def _call_attr(o: Any) -> None:
    for _ in range(ROUNDS):
        o.draw()
        o.draw()
        o.draw()
        o.draw()


def _call_local(o: Any) -> None:
    for _ in range(ROUNDS):
        d = o.draw
        d()
        d = o.draw
        d()
        d = o.draw
        d()
        d = o.draw
        d()


def _bind(o: Any) -> None:
    for _ in range(ROUNDS):
        o.method
        o.method
        o.method
        o.method


def _prebound(o: Any) -> None:
    for _ in range(ROUNDS):
        o.bound
        o.bound
        o.bound
        o.bound


def main() -> int:
    loop = _empty()
    rows = [("29 attributes, no slots", _plain(29)), ("30 attributes, no slots", _plain(30)),
            ("60 attributes, no slots", _plain(60)), ("60 attributes, __slots__", _slotted(60))]
    print(f"Python {sys.version.split()[0]}: ns per attribute access (5 reads and 1 write, best of 5)")
    base = None
    for label, o in rows:
        ns = (_fresh(_time)(o) - loop) / (ROUNDS * 6) * 1e9
        base = base or ns
        print(f"  {label:26s} {ns:6.2f} ns  x{ns / base:.2f}")
    o = _Shapes()
    print("ns per operation (best of 5), each beside its cheaper form:")
    for label, fn in [("o.CONST (class-level value)", _class_value), ("o.value (slot)", _instance_value),
                      ("o.draw() (callable attribute)", _call_attr), ("d = o.draw; d()", _call_local),
                      ("o.method (bound method made)", _bind), ("o.bound (bound once)", _prebound)]:
        print(f"  {label:32s} {_per_op(fn, o, loop):6.2f} ns")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
