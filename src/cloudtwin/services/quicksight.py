"""QuickSight: a dashboard over an Athena workgroup or a Redshift cluster.

What is modelled
----------------
* ``view`` (a workload entering the dashboard with ``op: view``, or ``call: <dash>.view``): in
  ``spice`` mode the dashboard answers from its SPICE copy after a draw of
  ``view_latency`` (assumption), and the age of that copy (time since the last
  successful refresh) is measured as ``staleness``; in ``direct`` mode every view
  runs a query on the source first, so views add the source's latency and load
  (and Athena's bytes scanned).
* ``refresh`` (``call: <dash>.refresh`` or every ``refresh_every``): one query on the
  source; the SPICE copy is as new as the refresh's start when it succeeds.
* The default operation (no ``op:``) is ``refresh``, the first of the op list; viewers
  are a workload with ``op: view``.
* Usage: author-months and reader-months over the run (730 h months), unpriced: no
  sourced QuickSight price was found.

Left out: SPICE capacity and its quota, row-level security, embedded sessions,
per-session reader pricing, incremental refresh and alerts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler
from cloudtwin.metrics import Histogram
from cloudtwin.request import Done, Request
from cloudtwin.units import SECONDS_PER_MONTH

if TYPE_CHECKING:
    from cloudtwin.context import Context

MONTH: Final = SECONDS_PER_MONTH


class _Refresh:
    __slots__ = ("qs", "t0", "done")

    def __init__(self, qs: QuickSight, t0: float, done: Done | None) -> None:
        self.qs, self.t0, self.done = qs, t0, done

    def __call__(self, req: Request, err: str | None) -> None:
        qs = self.qs
        if err is None:
            qs.refreshed += 1
            qs.data_at = max(qs.data_at, self.t0)
            qs.refresh_time.record(qs.engine.now - self.t0)
        else:
            qs.refresh_failed += 1
        if self.done is not None:
            self.done(req, err)


class _DirectView:
    __slots__ = ("qs", "done")

    def __init__(self, qs: QuickSight, done: Done) -> None:
        self.qs, self.done = qs, done

    def __call__(self, req: Request, err: str | None) -> None:
        qs = self.qs
        if err is not None:
            qs.errors += 1
            qs.view_errors += 1
            self.done(req, err)
            return
        qs.engine.after(qs.vlat(), qs._viewed, (req, self.done))


class QuickSight(Component):
    """One dashboard (with its dataset)."""

    kind = "quicksight"

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.vlat = make_sampler(spec.view_latency, ctx.stream(f"{name}.view_latency"))
        self.src: Any = None
        self.data_at = 0.0  # the SPICE copy holds the data as of this time (the run starts with a fresh one)
        self.views = self.view_errors = self.refreshes = self.refreshed = self.refresh_failed = 0
        self.staleness = Histogram()
        self.refresh_time = Histogram()

    def build(self) -> None:
        self.src = self.ctx.components[self.spec.source]

    def start(self) -> None:
        if self.spec.refresh_every is not None:
            self.engine.every(self.spec.refresh_every, self._scheduled, start=self.spec.refresh_every)

    def _scheduled(self, now: float) -> None:
        self.refresh(Request(now, None, None), None)

    def refresh(self, req: Request, done: Done | None) -> None:
        self.refreshes += 1
        self.src.handle(req, "query", _Refresh(self, self.engine.now, done))

    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        self.requests += 1
        if op != "view":
            self.refresh(req, done)
            return
        self.views += 1
        if self.spec.mode == "direct":
            self.src.handle(req, "query", _DirectView(self, done))
            return
        self.staleness.record(self.engine.now - self.data_at)
        self.engine.after(self.vlat(), self._viewed, (req, done))

    def _viewed(self, job: tuple[Request, Done]) -> None:
        req, done = job
        self.latency.record(self.engine.now - req.t0)
        deliver((req, done, None))

    def usage(self) -> dict[str, float]:
        months = self.engine.now / MONTH
        out = {"QuickSight-Author-Month": self.spec.authors * months,
               "QuickSight-Reader-Month": self.spec.readers * months}
        return {k: v for k, v in out.items() if v}

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update({
            "source": self.spec.source, "mode": self.spec.mode, "views": self.views, "view_errors": self.view_errors,
            "refreshes": self.refreshes, "refreshed": self.refreshed, "refresh_failed": self.refresh_failed,
            "staleness_ms": self.staleness.summary_ms(), "refresh_ms": self.refresh_time.summary_ms(),
        })
        return out
