"""An RDS or Aurora DB instance as the database model runs it: its worker slots, its queue of
work, its open connections and its state; and the engines' default ``max_connections``."""

from __future__ import annotations

from collections import deque
from typing import Any, Final

from cloudtwin.units import GIB

__all__ = ["DOWN", "FAILING", "UP", "Node", "default_max_connections"]

UP: Final = "up"
FAILING: Final = "failing_over"
DOWN: Final = "down"


def default_max_connections(engine: str, memory_gib: float) -> int:
    """The engine's default ``max_connections`` (documented AWS formulas; not in aws-facts)."""
    mem = memory_gib * GIB
    if "postgres" in engine:
        return int(min(mem // 9_531_392, 5000))
    return int(mem // 12_582_880)


class Node:
    """One DB instance: worker slots, a FIFO queue and its open connections."""

    __slots__ = ("role", "zone", "slots", "busy", "queue", "conns", "epoch", "state", "zone_ok",
                 "busy_acc", "busy_last", "busy_mark")

    def __init__(self, role: str, zone: str, slots: int, zone_ok: bool) -> None:
        self.role = role
        self.zone = zone
        self.slots = slots
        self.busy = 0
        self.queue: deque[tuple[Any, ...]] = deque()
        self.conns = 0
        self.epoch = 0  # bumped when the instance fails: work of an older epoch is lost
        self.state = UP
        self.zone_ok = zone_ok
        self.busy_acc = 0.0
        self.busy_last = 0.0
        self.busy_mark = 0.0

    @property
    def up(self) -> bool:
        return self.state == UP and self.zone_ok

    def account(self, now: float) -> None:
        self.busy_acc += self.busy * (now - self.busy_last)
        self.busy_last = now
