"""Several independent simulations at once: in parallel processes, with progress on a terminal.

``compare`` runs two specs and ``review --simulate`` up to three scenarios; each run is
independent (its own spec, seed and duration), so they go to a process pool, one per core
(``CLOUDTWIN_JOBS`` caps it; ``CLOUDTWIN_JOBS=1`` runs them one after the other in this
process). Results are the same as sequential runs: a run depends only on its spec and seed.
On a terminal a progress bar on stderr counts the runs done; elsewhere nothing is printed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cloudtwin.errors import CloudtwinError, RunRefused

__all__ = ["Job", "run_many"]


@dataclass(frozen=True)
class Job:
    """One simulation: the spec, and the ``Simulation`` keyword arguments (seed, duration...)."""

    arch: Any
    options: dict[str, Any] = field(default_factory=dict)
    prices: Any = None
    label: str = ""


def _one(job: Job) -> tuple[str, Any]:
    """Run ``job``; ``("ok", results data)`` or ``(error kind, message)`` (exceptions carrying
    structured data do not always survive a trip between processes; their text does)."""
    from cloudtwin.simulation import Simulation

    try:
        sim = Simulation(job.arch, **job.options)
        if job.prices is not None:
            sim.prices = job.prices
        return "ok", sim.run().data
    except RunRefused as exc:
        return "refused", str(exc)
    except CloudtwinError as exc:
        return "error", str(exc)


def _workers(n: int) -> int:
    cap = os.environ.get("CLOUDTWIN_JOBS", "")
    limit = int(cap) if cap.isdigit() and int(cap) > 0 else (os.cpu_count() or 1)
    return max(1, min(n, limit))


def run_many(jobs: Sequence[Job], *, what: str = "simulating") -> list[tuple[str, Any]]:
    """Each job's outcome, in the order given: ``("ok", data)``, ``("refused", message)`` or
    ``("error", message)``."""
    workers = _workers(len(jobs))
    bar = _progress(what, len(jobs))
    try:
        if workers == 1:
            out = []
            for job in jobs:
                out.append(_one(job))
                bar.advance()
            return out
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures: list[Future[tuple[str, Any]]] = [pool.submit(_one, job) for job in jobs]
            for f in futures:
                f.add_done_callback(lambda _: bar.advance())
            return [f.result() for f in futures]
    finally:
        bar.close()


class Bar:
    """A progress bar of runs done, on stderr when it is a terminal; otherwise nothing. With
    ``eta``, the estimated time left rather than the time spent."""

    def __init__(self, what: str, total: int, *, eta: bool = False) -> None:
        self.progress: Any = None
        if total > 0 and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            clock = [TextColumn("left"), TimeRemainingColumn()] if eta else [TimeElapsedColumn()]
            self.progress = Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), *clock,
                                     console=Console(stderr=True), transient=True)
            self.task = self.progress.add_task(what, total=total)
            self.progress.start()

    def advance(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.task)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _progress(what: str, total: int) -> Bar:
    return Bar(what, total)
