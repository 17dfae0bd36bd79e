"""Engine timers (one FIFO per constant delay) fire exactly as plain heap events would."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudtwin.engine import Engine, StopSimulation, Timer

DELAYS = [0.0, 0.1, 0.25, 1.0, 3.0]  # few values: many timers share a FIFO, many times tie

# one scheduled callback: (kind, delay index or plain delay, children it schedules, cancel?)
_node = st.tuples(
    st.sampled_from(["after", "timer", "at"]),
    st.integers(0, len(DELAYS) - 1),
    st.sampled_from([0.0, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0]),
    st.booleans(),
)


def _play(use_timers: bool, roots: list[Any], children: list[list[Any]], cancels: list[int],
          cuts: list[float], stop: int = -1) -> tuple[list[tuple[float, int]], list[int], list[int], float]:
    """Run one program; with ``use_timers`` False every timer is a plain ``after``."""
    eng = Engine()
    seen: list[tuple[float, int]] = []
    handles: dict[int, tuple[Timer, int]] = {}
    dead: set[int] = set()
    ids = iter(range(10**6))

    def schedule(node: Any) -> None:
        kind, di, plain, _ = node
        n = next(ids)
        if kind == "at":
            eng.at(eng.now + plain, fire, n)
        elif kind == "after":
            eng.after(plain, fire, n)
        elif use_timers:
            tm = eng.timer(DELAYS[di])
            handles[n] = (tm, tm.start(fire, n))
        else:
            eng.after(DELAYS[di], fire, n)

    def fire(n: int) -> None:
        if n in dead:
            return  # the plain engine's callback checks; the timer never calls it
        seen.append((eng.now, n))
        if n == stop:
            raise StopSimulation  # a callback ends the run: what was due before it has run
        for c in children[n % len(children)] if n < 40 else []:
            schedule(c)
        for k in cancels:  # cancel a few scheduled timers, by id, from inside a callback
            if k > n and k not in dead and n % 3 == 0:
                dead.add(k)
                if k in handles:
                    tm, h = handles[k]
                    tm.cancel(h)
                break

    for node in roots:
        schedule(node)
    counts: list[int] = []
    pend: list[int] = []
    for cut in cuts:
        eng.run(until=cut)
        counts.append(eng.events)
        pend.append(eng.pending)
    eng.run()
    counts.append(eng.events)
    pend.append(eng.pending)
    if stop >= 0:
        eng.run()  # on from the stop
        counts.append(eng.events)
    return seen, counts, pend, eng.now


@given(
    roots=st.lists(_node, min_size=1, max_size=30),
    children=st.lists(st.lists(_node, max_size=3), min_size=1, max_size=6),
    cancels=st.lists(st.integers(0, 80), max_size=10),
    cuts=st.lists(st.sampled_from([0.0, 0.1, 0.5, 1.0, 1.25, 2.0, 3.5]), max_size=3).map(sorted),
    stop=st.integers(-1, 60),
)
def test_timers_fire_when_and_in_the_order_a_plain_heap_fires_them(
        roots: list[Any], children: list[list[Any]], cancels: list[int], cuts: list[float], stop: int) -> None:
    """Same callbacks at the same times in the same order (ties by scheduling order, across
    timers, ``after`` and ``at`` alike); the same event counts and pending counts after each
    ``run(until)``; cancelled timers are skipped but still counted, as a callback that
    checks and returns would be (cancelled entries behind a timer's head never reach the heap,
    yet count as at their due time, including the final clock when the heap runs dry and a
    callback's :class:`StopSimulation`)."""
    got = _play(True, roots, children, cancels, cuts, stop)
    assert got == _play(False, roots, children, cancels, cuts, stop)


def test_one_timer_per_delay_and_its_head_alone_on_the_heap() -> None:
    eng = Engine()
    t = eng.timer(5.0)
    assert eng.timer(5.0) is t and eng.timer(1.0) is not t
    for _ in range(1000):
        t.start(lambda _: None)
        eng.after(0.001, lambda _: None)
        eng.run(until=eng.now + 0.001)
    assert len(eng._heap) < 5 and t.waiting == 1000 and eng.pending == 1000 + len(eng._heap) - 1
    eng.run()
    assert eng.events == 2000 and eng.pending == 0 and t.waiting == 0


def test_a_cancelled_timer_is_not_called_and_a_late_cancel_does_nothing() -> None:
    eng = Engine()
    seen: list[int] = []
    t = eng.timer(1.0)
    h = t.start(seen.append, 1)
    t.start(seen.append, 2)
    t.cancel(h)
    eng.run()
    assert seen == [2] and eng.events == 2  # the cancelled slot still counts, as after() would
    t.cancel(h)  # long gone
    t.start(seen.append, 3)
    eng.run()
    assert seen == [2, 3]


def test_a_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError):
        Engine().timer(-1.0)


@pytest.mark.parametrize("cut", [None, 4.0, 7.25, 30.0])
def test_cancelled_entries_behind_the_head_never_reach_the_heap_yet_count(cut: float | None) -> None:
    """A timeout per request, nearly all answered: only live entries (and a cancelled head)
    are popped from the heap, while events, pending counts and the clock stay a plain heap's."""

    def play(use_timer: bool) -> tuple[int, int, float, list[float], int]:
        eng = Engine()
        tm = eng.timer(5.0)
        fired: list[float] = []
        pops = 0

        def fire(_: object) -> None:
            fired.append(eng.now)

        def arrive(i: int) -> None:
            if use_timer:
                h = tm.start(fire)
                if i % 100:
                    eng.after(0.05, lambda _: tm.cancel(h))  # answered: the timeout is cancelled
            elif i % 100:
                eng.after(5.0, lambda _: None)  # the cancelled timeout's no-op slot
                eng.after(0.05, lambda _: None)
            else:
                eng.after(5.0, fire)
            if i < 999:
                eng.after(0.01, arrive, i + 1)

        eng.at(0.0, arrive, 0)
        real = tm._pop_head

        def counted(arg: object) -> None:
            nonlocal pops
            pops += 1
            real(arg)

        tm._fire = counted
        if cut is not None:
            eng.run(until=cut)
            assert eng.pending == len(eng._heap) + eng._queued()
        eng.run()
        return eng.events, eng.pending, eng.now, fired, pops

    ev, pend, now, fired, pops = play(True)
    assert (ev, pend, now, fired) == play(False)[:4]
    assert ev == 1000 + 1000 + 990  # arrivals, timeouts (the cancelled included), answers
    assert len(fired) == 10 and pops == 10  # the live ones only: not the 1,000 a FIFO head would pop


def test_handles_stay_valid_across_the_fifo_compacting_itself() -> None:
    """Thousands of timers, a seeded third of them cancelled well after later ones started
    (so the FIFO has dropped its done part many times): the same callbacks, events and
    clock as plain heap events whose callbacks check."""
    import random

    def play(use_timer: bool) -> tuple[list[tuple[float, int]], int, float]:
        eng = Engine()
        tm = eng.timer(2.0)
        rnd = random.Random(7)
        seen: list[tuple[float, int]] = []
        dead: set[int] = set()
        handles: dict[int, int] = {}

        def fire(n: int) -> None:
            if n not in dead:
                seen.append((eng.now, n))

        def arrive(n: int) -> None:
            if use_timer:
                handles[n] = tm.start(fire, n)
            else:
                eng.after(2.0, fire, n)
            k = n - rnd.randrange(0, 150)  # cancel an earlier one, perhaps already fired
            if k >= 0 and rnd.random() < 0.4 and k not in dead:
                dead.add(k)
                if use_timer:
                    tm.cancel(handles[k])
            if n < 6000:
                eng.after(0.001 * rnd.randrange(1, 4), arrive, n + 1)

        eng.at(0.0, arrive, 0)
        eng.run(until=3.0)
        eng.run()
        assert tm._base > 2000 or not use_timer  # it did compact, several times
        return seen, eng.events, eng.now

    got = play(True)
    assert got == play(False) and len(got[0]) > 3000
