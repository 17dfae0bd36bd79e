"""cloudtwin.native: mypyc's class markers leave classes as they are, with or without
mypy_extensions (the plain install has none)."""

from __future__ import annotations

import importlib
import sys

import pytest


@pytest.mark.parametrize("present", [True, False])
def test_the_markers_return_the_class_itself(present: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not present:
        monkeypatch.setitem(sys.modules, "mypy_extensions", None)  # import fails, as in the plain install
    import cloudtwin.native as native

    native = importlib.reload(native)
    try:
        class A:
            pass

        assert native.trait(A) is A
        assert native.mypyc_attr(allow_interpreted_subclasses=True)(A) is A
    finally:
        monkeypatch.undo()
        importlib.reload(native)
