"""mypyc's class markers, for the compiled build of the service layer (see docs/performance.md,
"A compiled service layer"); without mypy_extensions (the plain install) they change nothing.

* ``trait``: a class mixed into native classes after their base (``Retention``).
* ``mypyc_attr(allow_interpreted_subclasses=True)``: a native class that plain Python classes
  may still subclass (``Component``: plug-ins and tests define services of their own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["mypyc_attr", "trait"]

if TYPE_CHECKING:
    from mypy_extensions import mypyc_attr, trait
else:
    try:
        from mypy_extensions import mypyc_attr, trait
    except ImportError:  # the plain install: both leave the class as it is

        def trait(cls):
            return cls

        def mypyc_attr(*_args, **_kwargs):
            return lambda cls: cls
