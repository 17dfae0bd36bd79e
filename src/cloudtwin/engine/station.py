"""One FIFO multi-server station fed by one arrival stream, without an event heap.

A station with ``slots`` identical servers in front of a FIFO queue of at most
``backlog`` waiting jobs, fed by one stream of arrivals, needs no general event
loop: each job in arrival order takes the earliest-free server (the
Kiefer-Wolfowitz recursion, start = max(arrival, earliest free), end = start +
service). :class:`Station` replays that recursion *in event order* (arrivals and
ends merged by time), so that every float accumulator is updated by the same
operations in the same order as the general engine would update it: busy time
and time in system as "end times minus start times" (``bacc``, ``occ``),
latencies appended to the same buffers in completion order. The results are
therefore bit for bit those of the event loop, not merely equal in law.

:meth:`Station.run` stops and returns a reason whenever the caller must act:
a latency buffer is full (:data:`FLUSH`), the clock reaches ``tick_at``
(:data:`TICK`: the caller's periodic work runs, then the station goes on), the
event budget is spent (:data:`BUDGET`), the stop condition holds (:data:`DONE`),
a draw list ran out (:data:`DRAWS`), or two events fall at exactly the same time
(:data:`TIE`: their order would depend on the general loop's tie-break sequence,
which the station does not keep; the caller runs the general engine instead).

Written in plain typed Python so that mypyc compiles it (``tools/build_fast.py``);
the same file runs unchanged when no compiled module is present.
"""

from __future__ import annotations

from typing import Final

DONE: Final = 0  # the stop condition (completions counted down to 0, or the horizon)
TICK: Final = 1  # the clock reached tick_at: run the periodic work, set the next tick_at
FLUSH: Final = 2  # a latency buffer holds `batch` values: fold it
BUDGET: Final = 3  # `budget` events ran since the last return
DRAWS: Final = 4  # the interarrival or service draws ran out: refill
TIE: Final = 5  # two events at exactly the same time: give up (the caller runs the general engine)

INF: Final = float("inf")


class Station:
    """State of the station between calls of :meth:`run` (all public: the caller syncs it)."""

    def __init__(self, slots: int, backlog: int, batch: int) -> None:
        self.slots = slots
        self.backlog = backlog
        self.batch = batch
        self.now = 0.0
        self.next_arrival = INF  # time of the pending arrival (INF: none)
        self.tick_at = INF  # time of the pending periodic tick
        self.until = INF  # horizon: events at or before it run
        self.remaining = -1  # completions (successes and refusals) left before stopping; -1: no count
        # servers: a binary heap of end times, with the arrival time of each job in service
        self.ends: list[float] = []
        self.t_ins: list[float] = []
        # the FIFO queue: arrival times and drawn service times, from index `head`
        self.q_in: list[float] = []
        self.q_s: list[float] = []
        self.head = 0
        self.busy = 0
        self.bacc = 0.0  # worker end times minus start times
        self.occ = 0.0  # exit times minus entry times (queued or in service)
        self.active = 0
        self.arrivals = 0
        self.served = 0
        self.refused = 0
        self.events = 0  # events executed (arrivals, ends, ticks)
        self.budget = 0  # events left before run() returns BUDGET
        self.gaps: list[float] = []
        self.gap_i = 0
        self.services: list[float] = []
        self.svc_i = 0
        self.lat_a: list[object] = []  # two buffers receive every latency (a float), in completion order
        self.lat_b: list[object] = []

    def waiting(self) -> int:
        return len(self.q_in) - self.head

    def queued(self) -> list[tuple[float, float]]:
        """``(arrival time, service time)`` of the waiting jobs, in order."""
        return list(zip(self.q_in[self.head:], self.q_s[self.head:], strict=True))

    def in_service(self) -> list[tuple[float, float]]:
        """``(end time, arrival time)`` of the jobs in service, in end-time order."""
        return sorted(zip(self.ends, self.t_ins, strict=True))

    def run(self) -> int:
        """Execute events in time order until a reason to return (see the module doc)."""
        ends = self.ends
        t_ins = self.t_ins
        q_in = self.q_in
        q_s = self.q_s
        lat_a = self.lat_a
        lat_b = self.lat_b
        gaps = self.gaps
        services = self.services
        slots: int = self.slots
        backlog: int = self.backlog
        batch: int = self.batch
        until: float = self.until
        tick_at: float = self.tick_at
        ta: float = self.next_arrival
        head: int = self.head
        busy: int = self.busy
        bacc: float = self.bacc
        occ: float = self.occ
        active: int = self.active
        arrivals: int = self.arrivals
        served: int = self.served
        refused: int = self.refused
        remaining: int = self.remaining
        budget: int = self.budget
        events: int = self.events
        gap_i: int = self.gap_i
        svc_i: int = self.svc_i
        n_gaps: int = len(gaps)
        n_svc: int = len(services)
        now: float = self.now
        reason: int = DONE
        while True:
            if budget <= 0:
                reason = BUDGET
                break
            te: float = ends[0] if busy > 0 else INF
            # the earliest of: an end, the arrival, the tick; exact ties are refused
            if te < ta:
                if te == tick_at:
                    reason = TIE
                    break
                if tick_at < te:
                    if tick_at > until:
                        reason = DONE
                        now = until
                        break
                    reason = TICK
                    now = tick_at
                    events += 1
                    budget -= 1
                    break
                if te > until:
                    reason = DONE
                    now = until
                    break
                # ---- an end: the job leaves, its server takes the next waiting job or idles
                t_in: float = t_ins[0]
                now = te
                if head < len(q_in):
                    end: float = now + q_s[head]
                    nxt_in: float = q_in[head]
                    head += 1
                    if head >= 4096 and head * 2 >= len(q_in):
                        del q_in[:head]
                        del q_s[:head]
                        head = 0
                    _sift_replace(ends, t_ins, end, nxt_in)
                else:
                    bacc += now
                    busy -= 1
                    _pop(ends, t_ins)
                if busy > 0 and ends[0] == te:
                    reason = TIE  # another end at the same instant (state stays consistent)
                active -= 1
                occ += now
                lat: object = now - t_in  # boxed once, appended twice
                lat_a.append(lat)
                lat_b.append(lat)
                served += 1
                events += 1
                budget -= 1
                if reason == TIE:
                    break
                if remaining > 0:
                    remaining -= 1
                    if remaining == 0:
                        reason = DONE
                        break
                if len(lat_a) >= batch or len(lat_b) >= batch:
                    reason = FLUSH
                    break
                continue
            if ta == INF and te == INF:
                if tick_at > until:
                    reason = DONE
                    now = until
                    break
                reason = TICK
                now = tick_at
                events += 1
                budget -= 1
                break
            if ta == te or ta == tick_at:  # noqa: SIM109 (two unboxed float compares when compiled)
                reason = TIE
                break
            if tick_at < ta:
                if tick_at > until:
                    reason = DONE
                    now = until
                    break
                reason = TICK
                now = tick_at
                events += 1
                budget -= 1
                break
            if ta > until:
                reason = DONE
                now = until
                break
            if gap_i >= n_gaps or svc_i >= n_svc:
                reason = DRAWS
                break
            # ---- an arrival: the next one is drawn first, then this job's service time
            now = ta
            ta = now + gaps[gap_i]
            gap_i += 1
            arrivals += 1
            active += 1
            s: float = services[svc_i]
            svc_i += 1
            occ -= now
            events += 1
            budget -= 1
            if busy < slots:
                bacc -= now
                busy += 1
                _push(ends, t_ins, now + s, now)
            elif len(q_in) - head < backlog:
                q_in.append(now)
                q_s.append(s)
            else:
                active -= 1
                occ += now
                refused += 1
                if remaining > 0:
                    remaining -= 1
                    if remaining == 0:
                        reason = DONE
                        break
        self.now = now
        self.next_arrival = ta
        self.head = head
        self.busy = busy
        self.bacc = bacc
        self.occ = occ
        self.active = active
        self.arrivals = arrivals
        self.served = served
        self.refused = refused
        self.remaining = remaining
        self.budget = budget
        self.events = events
        self.gap_i = gap_i
        self.svc_i = svc_i
        return reason


def _push(ends: list[float], t_ins: list[float], end: float, t_in: float) -> None:
    ends.append(end)
    t_ins.append(t_in)
    i = len(ends) - 1
    while i > 0:
        parent = (i - 1) >> 1
        if ends[parent] <= end:
            break
        ends[i] = ends[parent]
        t_ins[i] = t_ins[parent]
        i = parent
    ends[i] = end
    t_ins[i] = t_in


def _pop(ends: list[float], t_ins: list[float]) -> None:
    """Remove the root."""
    last = ends.pop()
    last_in = t_ins.pop()
    if ends:
        _sift_down(ends, t_ins, 0, last, last_in)


def _sift_replace(ends: list[float], t_ins: list[float], end: float, t_in: float) -> None:
    """Replace the root by ``(end, t_in)`` and restore the heap."""
    _sift_down(ends, t_ins, 0, end, t_in)


def _sift_down(ends: list[float], t_ins: list[float], i: int, end: float, t_in: float) -> None:
    n = len(ends)
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        right = child + 1
        if right < n and ends[right] < ends[child]:
            child = right
        if ends[child] >= end:
            break
        ends[i] = ends[child]
        t_ins[i] = t_ins[child]
        i = child
    ends[i] = end
    t_ins[i] = t_in
