"""Clock and event heap.

Events are ``(time, seq, fn, arg)`` tuples on a binary heap. The monotonically
increasing ``seq`` breaks ties, so two runs with the same inputs execute the same
callbacks in the same order. There are no event objects, no generators and no
per-event bookkeeping on the hot path: the run loop pops a tuple, sets the clock
and calls ``fn(arg)``.

Stopping is done by raising :class:`StopSimulation` from a callback (for
example the sentinel scheduled at the end of the simulated window), so the loop
itself checks nothing per event. Cancelling a scheduled callback is left to the
caller (a callback checks whether it is still wanted); the heap never searches
(:meth:`Timer.cancel` skips the callback, which still counts as an event at its due time).

Timers (:meth:`Engine.timer`): callbacks scheduled after one constant delay (timeouts,
check intervals) wait in one FIFO per delay, only its head on the heap. Their times
never decrease along the FIFO (``now + delay`` with ``now`` never decreasing), and each
keeps the ``(time, seq)`` it got when scheduled, so they fire exactly when and in the
order the plain heap would fire them, ties included, while the heap stays small: a
timeout per request at thousands of requests per second left tens of thousands of
entries on the heap, every pop paying for their depth.
"""

from __future__ import annotations

import gc
import math
from array import array
from collections import deque
from collections.abc import Callable
from heapq import heapify, heappop, heappush
from itertools import count
from typing import Any, Final

WATCH_EVERY: Final = 8_192  # events between two calls of Engine.watch
# The cyclic garbage collector's young-generation threshold during a run. Python's 700 made
# it collect every ~2,000 events and, every 10th and 100th time, walk the older generations,
# every live request and pending event: 40 % of a serverless-rest run, for ~400 objects
# found in cycles. Reference counting frees everything else as before; results never depend
# on when the collector runs. At 100,000 a serverless-rest run still spent about 0.12 s of
# 5.5 in young collections that walked the objects its timeouts keep alive for seconds; at
# 1,000,000 none comes during that run, and peak RSS is unchanged (the cycles are few).
GC_YOUNG: Final = 1_000_000


class StopSimulation(Exception):
    """Raised by a callback to end :meth:`Engine.run` cleanly."""


_LAST = 2**63  # a seq no run reaches: the stop sentinel sorts after every event at its time


def _stop(_: object) -> None:
    raise StopSimulation


class Timer:
    """Callbacks after one constant ``delay``: a FIFO whose head alone is on the heap.

    Get one from :meth:`Engine.timer` (one per delay, shared). :meth:`start` returns a
    handle for :meth:`cancel`. A cancelled callback is not called, yet it still counts as
    an event at its due time, so event counts, times and orders are those of
    :meth:`Engine.after` whether or not anything is cancelled. Only the head waits on the
    heap: a cancelled head fires as a no-op, but cancelled entries behind it are never
    pushed. When the head fires, the run of cancelled entries behind it is stepped over
    (an index moves) and becomes *ghosts*: pending until the head after them fires, or
    until :meth:`Engine.run` ends and settles those due by then, so every count and the
    final clock are what a plain heap would give.

    The FIFO keeps each entry's time and seq in two flat arrays (no object per entry: a
    29 s timeout at a few thousand starts a second holds some 100,000 of them) and, apart,
    its ``(fn, arg)`` (None once cancelled or fired): cancelling is one list store, and only
    a head gets a heap entry ``(time, seq, fire, None)``, which sorts exactly where
    ``after()``'s own would. A float stored in an ``array('d')`` reads back the same float.

    A hot path with one timer per request (a timeout) may inline :meth:`cancel` (three
    lines) instead of calling it; such a copy is marked "keep in step with Timer.cancel".
    """

    __slots__ = ("delay", "_engine", "_heap", "_seq", "_q", "_s", "_cbs", "_i", "_g", "_base", "_fire")

    def __init__(self, engine: Engine, delay: float) -> None:
        if not delay >= 0.0:
            raise ValueError(f"a timer's delay must be >= 0, not {delay!r}")
        self.delay = delay
        self._engine = engine
        self._heap = engine._heap
        self._seq = engine._seq
        # times (_q) and seqs (_s) in time (and seq) order, and their (fn, arg) (None once
        # cancelled or fired). Below _g: done; _g.._i: ghosts (cancelled, stepped over, not yet
        # counted); _i: the head, on the heap; above it, waiting. _base: the handle of entry 0.
        self._q = array("d")
        self._s = array("q")
        self._cbs: list[tuple[Callable[[Any], None], Any] | None] = []
        self._i = self._g = self._base = 0
        self._fire = self._pop_head

    def start(self, fn: Callable[[Any], None], arg: Any = None) -> int:
        """Run ``fn(arg)`` after ``delay`` seconds, as ``engine.after(delay, fn, arg)`` would.
        Returns a handle for this timer's :meth:`cancel`."""
        t = self._engine.now + self.delay
        s = next(self._seq)
        q = self._q
        q.append(t)
        self._s.append(s)
        self._cbs.append((fn, arg))
        n = len(q) - 1
        if n == self._i:  # nothing else waits: this is the head
            heappush(self._heap, (t, s, self._fire, None))
        return self._base + n

    def cancel(self, handle: int) -> None:
        """Do not call the callback ``handle`` (from this timer's :meth:`start`); nothing if it ran.
        (A handle is always below ``_base + len(_q)``: the list only drops its done front.)"""
        j = handle - self._base
        if j >= self._i:
            self._cbs[j] = None  # lets go of fn and its argument; (time, seq) stay for the count

    def _pop_head(self, _: Any) -> None:
        cbs = self._cbs
        i = self._i
        cb = cbs[i]
        cbs[i] = None  # let go of the callback and its argument
        i += 1
        g = self._g = i  # the ghosts before this head have run, and so has the head
        n = len(cbs)
        while i < n and cbs[i] is None:  # cancelled: stepped over, never on the heap
            i += 1
        if i < n:
            heappush(self._heap, (self._q[i], self._s[i], self._fire, None))
        if g > 1024 and 4 * g > n:  # drop what is done, once it is a quarter of the list
            del self._q[:g], self._s[:g], cbs[:g]
            self._base += g
            i -= g
            self._g = 0
        self._i = i
        if cb is not None:
            cb[0](cb[1])

    def _settle(self, t: float, s: int) -> float:
        """Count the ghosts before the event ``(t, s)`` as executed; the last one's time (or -inf)."""
        q, sq, g, i = self._q, self._s, self._g, self._i
        last = -math.inf
        while g < i and (q[g] < t or (q[g] == t and sq[g] < s)):
            last = q[g]
            g += 1
        self._g = g
        return last

    @property
    def waiting(self) -> int:
        """Callbacks scheduled and not yet run (the cancelled included)."""
        return len(self._q) - self._g


class Ghosts:
    """No-op events at nondecreasing times, counted as events but never on the heap.

    Get one from :meth:`Engine.ghosts`. ``add(t)`` stands for ``engine.at(t, <nothing>)``:
    it takes the next seq and is pending until the clock passes ``t`` (or :meth:`Engine.run`
    ends and settles it), so event and pending counts are what those heap events would give.
    For a source that knows ahead that some of its events will do nothing (and draws nothing
    else for them), so it need not schedule them.
    """

    __slots__ = ("_q", "_seq", "_engine")

    def __init__(self, engine: Engine) -> None:
        self._q: deque[tuple[float, int]] = deque()
        self._seq = engine._seq
        self._engine = engine

    def add(self, t: float) -> None:
        """A no-op event at ``t`` (never before now, and never before an earlier ``add``)."""
        q = self._q
        now = self._engine.now
        while q and q[0][0] < now:  # passed: a plain heap would have popped it already
            q.popleft()
        q.append((t if t > now else now, next(self._seq)))

    def _settle(self, t: float, s: int) -> float:
        """Count those before the event ``(t, s)`` as executed; the last one's time (or -inf)."""
        q = self._q
        last = -math.inf
        while q and (q[0][0] < t or (q[0][0] == t and q[0][1] < s)):
            last = q.popleft()[0]
        return last


class Every:
    """The event of :meth:`Engine.every`: it calls ``fn(now)`` and schedules itself again
    ``period`` seconds on (a class, so a caller can tell one in the heap by its type and ``fn``)."""

    __slots__ = ("engine", "period", "fn")

    def __init__(self, engine: Engine, period: float, fn: Callable[[float], None]) -> None:
        self.engine, self.period, self.fn = engine, period, fn

    def __call__(self, _: object) -> None:
        self.fn(self.engine.now)
        self.engine.after(self.period, self)


class Engine:
    """A deterministic event loop over simulated seconds."""

    __slots__ = ("now", "_heap", "_seq", "_executed", "_reads", "watch", "_timers", "_ghosts")

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, Callable[[Any], None], Any]] = []
        self._seq = count()
        self._executed = 0
        self._reads = 0
        # called every WATCH_EVERY events with the events executed by this run so far; it may
        # raise to stop a run that has grown beyond its budget (events, memory)
        self.watch: Callable[[int], None] | None = None
        self._timers: dict[float, Timer] = {}
        self._ghosts: list[Ghosts] = []

    def at(self, t: float, fn: Callable[[Any], None], arg: Any = None) -> None:
        """Run ``fn(arg)`` at absolute time ``t`` (never earlier than now)."""
        heappush(self._heap, (t if t > self.now else self.now, next(self._seq), fn, arg))

    def after(self, delay: float, fn: Callable[[Any], None], arg: Any = None) -> None:
        """Run ``fn(arg)`` after ``delay`` seconds."""
        heappush(self._heap, (self.now + delay, next(self._seq), fn, arg))

    def timer(self, delay: float) -> Timer:
        """The :class:`Timer` for ``delay`` (one per distinct delay, shared by every caller):
        ``timer(d).start(fn, arg)`` runs ``fn(arg)`` exactly as ``after(d, fn, arg)`` would,
        cheaper when many callbacks wait on the same delay."""
        t = self._timers.get(delay)
        if t is None:
            t = self._timers[delay] = Timer(self, delay)
        return t

    def ghosts(self) -> Ghosts:
        """A new :class:`Ghosts`: no-op events a caller counts without scheduling them."""
        g = Ghosts(self)
        self._ghosts.append(g)
        return g

    def every(self, period: float, fn: Callable[[float], None], *, start: float = 0.0) -> None:
        """Call ``fn(now)`` at ``start`` and then every ``period`` seconds."""
        self.at(start, Every(self, period, fn))

    def hot(self) -> tuple[list[tuple[float, int, Callable[[Any], None], Any]], Any]:
        """``(heap, seq)`` for hot paths that push ``(t, next(seq), fn, arg)`` themselves,
        saving a method call per event. Pushing anything else breaks determinism."""
        return self._heap, self._seq

    @property
    def pending(self) -> int:
        """Events scheduled and not yet executed."""
        return len(self._heap) + self._queued()

    def _queued(self) -> int:
        """Timer callbacks behind their FIFO's head, so not on the heap."""
        n = 0
        for t in self._timers.values():
            n += len(t._q) - t._g - (t._i < len(t._q))  # less the head, which is on the heap
        for g in self._ghosts:
            n += len(g._q)
        return n

    @property
    def events(self) -> int:
        """Events executed so far (the stop sentinel excluded)."""
        return self._executed

    def run(self, until: float = math.inf) -> float:
        """Execute events in time order until ``until``, a stop, or an empty heap.

        Every event at or before ``until`` runs, including those scheduled at
        exactly ``until`` during the run: the stop sentinel's ``seq`` is above any
        real one, so it sorts after all of them. A sentinel left by a run that a callback
        stopped is removed, so it cannot cut a later ``run`` short.

        Returns the simulated time reached. The executed-event count is derived
        from the sequence counter afterwards instead of being counted per event.
        """
        heap = self._heap
        before = self._pushed() - len(heap) - self._queued()
        sentinel = None
        if until != math.inf:
            sentinel = (until if until > self.now else self.now, _LAST, _stop, None)
            heappush(heap, sentinel)
        fn: Callable[[Any], None] | None = None
        t, s = -math.inf, -1  # the last event popped
        watch = self.watch
        pop = heappop  # a local: compiled, a module global is a dictionary lookup per event
        thresholds = gc.get_threshold()
        if thresholds[0] < GC_YOUNG:
            gc.set_threshold(GC_YOUNG, *thresholds[1:])
        try:
            while True:
                for _ in range(WATCH_EVERY):  # a C-level loop: the watch costs nothing per event
                    t, s, fn, arg = pop(heap)
                    self.now = t
                    fn(arg)
                if watch is not None:
                    watch(self._pushed() - len(heap) - self._queued() - before)
        except StopSimulation:
            self._settle(t, s)  # ghosts due before the stopping event have run
        except IndexError as exc:
            tb = exc.__traceback__
            if heap or (tb is not None and tb.tb_next is not None):
                raise  # raised by a callback, not by popping the empty heap
            last = self._settle(math.inf, _LAST)  # an empty heap: every ghost has run
            if last > self.now:
                self.now = last  # a plain heap's last event would have been that ghost
        finally:
            gc.set_threshold(*thresholds)
        if sentinel is not None and fn is not _stop:
            heap.remove(sentinel)
            heapify(heap)
        self._executed += self._pushed() - len(heap) - self._queued() - before
        return self.now

    def _settle(self, t: float, s: int) -> float:
        """Count every timer's ghosts (and every :class:`Ghosts`) before the event ``(t, s)`` as executed (a plain heap
        would have popped them first); returns the latest such ghost's time (or -inf)."""
        last = -math.inf
        for tm in self._timers.values():
            if tm._i > tm._g:
                last = max(last, tm._settle(t, s))
        for g in self._ghosts:
            if g._q:
                last = max(last, g._settle(t, s))
        return last

    def _pushed(self) -> int:
        """How many events were ever pushed (reading the counter consumes one)."""
        n = next(self._seq) - self._reads
        self._reads += 1
        return n
