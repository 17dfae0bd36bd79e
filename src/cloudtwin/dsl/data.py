"""The DSL's values as spec data: components become their names, tuples lists; distributions
(including a handler's Python callables) pass through as they are, since the spec models take
them directly."""

from __future__ import annotations

from typing import Any

from cloudtwin.engine.sampling import Distribution

__all__ = ["plain"]

MAX_DEPTH = 64


def plain(value: Any, depth: int = 0) -> Any:
    from cloudtwin.dsl.model import Component

    if depth > MAX_DEPTH:
        raise ValueError("a value nested more than 64 levels deep")
    if isinstance(value, Component):
        return value.name
    if isinstance(value, Distribution | str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, depth + 1) for v in value]
    return value  # anything else: the spec model says what it expects
