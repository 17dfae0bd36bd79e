"""Redshift: a provisioned cluster with WLM query slots, COPY loads from S3, node-hour billing.

What is modelled
----------------
* ``nodes`` of ``node_type``, billed per node-hour for the whole run (a dc2.large price
  from the AWS pricing page's "start small at $0.25 per hour"; other node types unpriced).
* Work runs in ``concurrency`` WLM slots (assumption: manual WLM's default queue of 5);
  more waits in a FIFO queue. The wait and the total time are measured.
* ``query`` (a workload whose entry is the cluster, ``call: <rs>.query``, a QuickSight
  refresh): a draw of ``query_time`` (assumption) in a slot.
* ``load`` (``call: <rs>.load``, or every ``load_every``): a COPY of the bytes that
  arrived under ``load_bucket`` + ``load_prefix`` since the last load; a Firehose with
  ``redshift:`` issues a COPY per delivered object. A COPY takes ``load_overhead`` +
  bytes / (``load_rate`` x ``nodes``) (assumption: COPY scales with the node slices).
  The objects read are recorded as GETs on the bucket.

Left out: automatic WLM, concurrency scaling, short query acceleration, Spectrum,
result caching, snapshots, resize, relocation, and storage (RA3 managed storage).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from cloudtwin.component import Component
from cloudtwin.engine import make_sampler
from cloudtwin.metrics import Histogram
from cloudtwin.request import Done, Request

if TYPE_CHECKING:
    from cloudtwin.context import Context


class Work:
    """A query or a COPY waiting for, or holding, a slot."""

    __slots__ = ("t_in", "duration", "cb", "arg", "copy")

    def __init__(self, t_in: float, duration: float, cb: Any, arg: Any, copy: bool) -> None:
        self.t_in, self.duration, self.cb, self.arg, self.copy = t_in, duration, cb, arg, copy


class Redshift(Component):
    """One provisioned cluster."""

    kind = "redshift"

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.qtime = make_sampler(spec.query_time, ctx.stream(f"{name}.query_time"))
        self.running = 0
        self.queue: deque[Work] = deque()
        self.wait = Histogram()
        self.copy_time = Histogram()
        self.bucket: Any = None
        self.loaded_bytes = 0.0  # of the load prefix, already copied
        self.loaded_objects = 0
        self.queries = self.copies = self.max_queue = 0
        self.bytes_copied = 0.0

    def build(self) -> None:
        if self.spec.load_bucket:
            self.bucket = self.ctx.components[self.spec.load_bucket]

    def start(self) -> None:
        if self.spec.load_every is not None:
            self.engine.every(self.spec.load_every, self._scheduled_load, start=self.spec.load_every)

    # ---- work ---------------------------------------------------------------
    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        self.requests += 1
        if op == "load":
            self.load(done, req)
        else:
            self.queries += 1
            self._submit(Work(self.engine.now, self.qtime(), _Answer(done, req), None, False))

    def copy(self, nbytes: float, cb: Any, arg: Any) -> None:
        """A COPY of ``nbytes`` from S3; ``cb(arg)`` when it is done."""
        self.copies += 1
        self.bytes_copied += nbytes
        t = self.spec.load_overhead + nbytes / (self.spec.load_rate * self.spec.nodes)
        self._submit(Work(self.engine.now, t, cb, arg, True))

    def load(self, done: Done | None = None, req: Any = None) -> None:
        """COPY what arrived under the load prefix since the last load."""
        b, p = self.bucket, self.spec.load_prefix
        total, objects = (b.stored_bytes(p), b.stored_objects(p)) if b is not None else (0.0, 0)
        new, new_objects = max(0.0, total - self.loaded_bytes), max(0, objects - self.loaded_objects)
        self.loaded_bytes, self.loaded_objects = total, objects
        if new_objects and b is not None:
            b.record_gets(new_objects, new)
        self.copy(new, _Answer(done, req) if done is not None else _ignore, None)

    def _scheduled_load(self, now: float) -> None:
        self.load()

    def _submit(self, w: Work) -> None:
        if self.running < self.spec.concurrency:
            self._run(w)
        else:
            self.queue.append(w)
            self.max_queue = max(self.max_queue, len(self.queue))

    def _run(self, w: Work) -> None:
        self.running += 1
        self.wait.record(self.engine.now - w.t_in)
        self.engine.after(w.duration, self._end, w)

    def _end(self, w: Work) -> None:
        self.running -= 1
        total = self.engine.now - w.t_in
        (self.copy_time if w.copy else self.latency).record(total)
        if self.queue:
            self._run(self.queue.popleft())
        w.cb(w.arg)

    # ---- metrics ------------------------------------------------------------
    def usage(self) -> dict[str, float]:
        return {f"Node:{self.spec.node_type}": self.spec.nodes * self.engine.now / 3600.0}

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update({
            "node_type": self.spec.node_type, "nodes": self.spec.nodes, "queries": self.queries,
            "copies": self.copies, "bytes_copied": self.bytes_copied, "running": self.running,
            "queued": len(self.queue), "max_queue": self.max_queue, "wait_ms": self.wait.summary_ms(),
            "copy_ms": self.copy_time.summary_ms(),
        })
        return out


class _Answer:
    """Replies to a caller when its work ends."""

    __slots__ = ("done", "req")

    def __init__(self, done: Done, req: Any) -> None:
        self.done, self.req = done, req

    def __call__(self, _: object = None) -> None:
        self.done(self.req, None)


def _ignore(_: object = None) -> None:
    """A scheduled load has no caller."""

