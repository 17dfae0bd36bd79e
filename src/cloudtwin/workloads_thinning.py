"""Thinned Poisson arrivals decided ahead (a workload with a rate profile).

A workload whose rate follows a profile draws Poisson candidates at the profile's peak rate
and keeps each with probability ``f(t) / fmax`` (Lewis and Shedler's thinning). Under a
2x spike, half the candidates are dropped the rest of the time: half the arrival events did
nothing but draw. :class:`Thinning` draws ahead instead, the same variates in the same order
on each stream, and hands the dropped candidates to the engine as counted no-op events
(:class:`cloudtwin.engine.Ghosts`), so results, event counts and the clock are unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from cloudtwin.engine import Ghosts
    from cloudtwin.simulation import Simulation

LOOK_AHEAD: Final = 256  # dropped candidates decided ahead in one call, at most


class Thinning:
    """Arrival methods for :class:`cloudtwin.workloads.WorkloadRun` (its attributes)."""

    f: Any  # the profile: rate factor at a time (None: constant)
    fmax: float
    accept: Any
    gap: Any  # None without Poisson arrivals
    thinned: Ghosts
    hot: tuple[list[Any], Any]
    sim: Simulation
    engine: Any
    go: Callable[[], None]  # the arrival's request goes out

    def _look_ahead(self, t: float) -> None:
        """Schedule the first arrival from candidate time ``t`` on that thinning keeps.

        :meth:`_arrive` pops every candidate (Poisson at the peak rate), draws its thinning
        variate and drops it while the profile is below its peak. Here the same draws, in the
        same order on each of the two streams, are made ahead, and a dropped candidate is a
        no-op event the engine counts at its time (:class:`~cloudtwin.engine.Ghosts`) instead
        of one it pushes and pops: the same arrivals, event counts and clock. Past the run's
        end, or after ``LOOK_AHEAD`` dropped in a row (a long lull), the candidate goes on the
        heap undecided (:meth:`_candidate`), so one call never runs away."""
        f, fmax, accept, gap, ghost = self.f, self.fmax, self.accept, self.gap, self.thinned.add
        heap, seq = self.hot
        end = self.sim.horizon if self.sim.horizon is not None else math.inf
        for _ in range(LOOK_AHEAD):
            if t > end:
                break
            if accept() * fmax < f(t):  # kept
                heappush(heap, (t, next(seq), self._arrive_thinned, None))
                return
            ghost(t)
            t += gap()
        heappush(heap, (t, next(seq), self._candidate, None))

    def _candidate(self, _: object = None) -> None:
        """A candidate arrival not yet decided: its thinning draw now, as :meth:`_arrive`'s."""
        now = self.engine.now
        keep = self.accept() * self.fmax < self.f(now)
        self._look_ahead(now + self.gap())
        if keep:
            self.go()

    def _arrive_thinned(self, _: object = None) -> None:
        """An arrival thinning kept (:meth:`_look_ahead`): the next one is scheduled, then
        the request goes out as :meth:`_arrive` sends it."""
        self._look_ahead(self.engine.now + self.gap())
        self.go()

