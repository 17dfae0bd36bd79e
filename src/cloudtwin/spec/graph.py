"""Cycles in a directed graph of component names, found without recursion.

A spec may chain thousands of components, so the depth-first search keeps its
own stack rather than Python's. Nodes and their successors are visited in
sorted order, so the cycles found (and the messages built from them) do not
depend on the order of the spec.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

__all__ = ["back_edges", "first_cycle"]


def back_edges(edges: Mapping[str, Iterable[str]]) -> Iterator[tuple[list[str], str, str]]:
    """Every edge ``n -> m`` that closes a cycle, as ``(path, n, m)``.

    ``path`` is the search path from its root to ``n`` (``m`` is on it), so the
    cycle is ``path[path.index(m):] + [m]``. Each is yielded as the search meets it.
    """
    state: dict[str, int] = {}  # 1: on the search path, 2: done
    for root in sorted(edges):
        if root in state:
            continue
        state[root] = 1
        path = [root]
        stack = [iter(sorted(edges.get(root, ())))]
        while stack:
            m = next(stack[-1], None)
            if m is None:
                stack.pop()
                state[path.pop()] = 2
                continue
            s = state.get(m)
            if s == 1:
                yield path, path[-1], m
            elif s is None:
                state[m] = 1
                path.append(m)
                stack.append(iter(sorted(edges.get(m, ()))))


def first_cycle(edges: Mapping[str, Iterable[str]]) -> list[str]:
    """The first cycle the search meets, as names from its first node back to it, or []."""
    for path, _, m in back_edges(edges):
        return [*path[path.index(m):], m]
    return []
