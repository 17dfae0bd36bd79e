"""The spec's faults as one experiment, which its stop conditions can stop, as an FIS stop
condition (a CloudWatch alarm) stops an FIS experiment.

With ``hypothesis: {stop: true}`` the hypothesis's availability and latency tolerances are also
stop conditions, checked like a one-minute CloudWatch alarm: at the end of each simulated minute,
a workload whose requests of that minute break a tolerance stops the experiment. Then every fault
still in progress ends at once (a zone comes back, injected delays and errors end, an ElastiCache
group's power and an ASG's launches come back) and no later fault starts. What a fault already did
stays done: terminated instances stay terminated, stopped EC2 instances start again on their own
schedule, and the random failures (``failures:``), which are not part of the experiment, go on.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudtwin.simulation import Simulation

MINUTE = 60.0
AFTER_THE_MINUTE = 1e-6  # the check runs just after the minute's series are closed


class Experiment:
    """The faults in progress (each with its end), and whether a stop condition has fired."""

    __slots__ = ("sim", "stopped_at", "ends", "_ids")

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.stopped_at: float | None = None
        self.ends: dict[int, Callable[[], None]] = {}
        self._ids = count()

    @property
    def stopped(self) -> bool:
        return self.stopped_at is not None

    def ending(self, fn: Callable[[], None]) -> Callable[[Any], None]:
        """``fn``, which ends a fault in progress, run once: at its scheduled end (the returned
        callback, for the engine) or when the experiment stops, whichever comes first."""
        key = next(self._ids)

        def end(_: object = None) -> None:
            if self.ends.pop(key, None) is not None:
                fn()

        self.ends[key] = end
        return end

    def stop(self, why: str) -> None:
        if self.stopped:
            return
        self.stopped_at = round(self.sim.engine.now, 3)  # as the timeline shows it
        self.sim.event("stop", f"stop condition: {why}; the experiment stops")
        for end in list(self.ends.values()):
            end()

    def watch(self) -> None:
        """Check the hypothesis's tolerances every minute (``hypothesis: {stop: true}``)."""
        self.sim.engine.every(MINUTE, self._check, start=MINUTE + AFTER_THE_MINUTE)

    def _check(self, now: float) -> None:
        h = self.sim.arch.hypothesis
        if h is None or self.stopped:
            return
        for name in h.workloads or list(self.sim.workloads):
            w = self.sim.workloads[name]
            if not w.series_req:
                continue
            req, err = w.series_req[-1], w.series_err[-1]
            minute = len(w.series_req) - 1
            if h.availability is not None and req and 1 - err / req < h.availability:
                self.stop(f"{name} availability {(1 - err / req) * 100:.4g}% in minute {minute} "
                          f"< {h.availability * 100:g}%")
                return
            p99 = w.series_p99[-1]
            if h.p99 is not None and p99 is not None and p99 > h.p99 * 1000:
                self.stop(f"{name} p99 {p99:,.1f} ms in minute {minute} > {h.p99 * 1000:g} ms")
                return
