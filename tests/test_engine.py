"""The event loop: time order, FIFO ties, run(until) and resuming, stopping, counting, ``every``."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudtwin.engine import Engine, StopSimulation


def test_events_run_in_time_order_whatever_the_insertion_order() -> None:
    eng = Engine()
    seen: list[tuple[float, str]] = []
    for t, tag in [(5.0, "e"), (1.0, "a"), (3.0, "c"), (2.0, "b"), (4.0, "d")]:
        eng.at(t, lambda tag, t=t: seen.append((eng.now, tag)), tag)
    eng.run()
    assert seen == [(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d"), (5.0, "e")]
    assert eng.now == 5.0


@given(st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0]), min_size=1, max_size=60))
def test_ties_run_in_insertion_order(times: list[float]) -> None:
    """Same-time events run first-scheduled first (the seq tie-break), never by callback or arg."""
    eng = Engine()
    seen: list[int] = []
    for i, t in enumerate(times):
        eng.at(t, seen.append, i)
    eng.run()
    assert seen == sorted(range(len(times)), key=lambda i: (times[i], i))


def test_an_event_scheduled_for_now_runs_after_those_already_due() -> None:
    eng = Engine()
    seen: list[str] = []

    def first(_: object) -> None:
        seen.append("first")
        eng.after(0.0, seen.append, "child")  # same instant, scheduled later

    eng.at(1.0, first)
    eng.at(1.0, seen.append, "second")
    eng.run()
    assert seen == ["first", "second", "child"]


def test_at_in_the_past_runs_now_not_back_in_time() -> None:
    eng = Engine()
    stamps: list[float] = []
    eng.at(10.0, lambda _: eng.at(3.0, lambda _: stamps.append(eng.now)))
    eng.run()
    assert stamps == [10.0]


def test_run_until_stops_at_until_and_resumes_where_it_left_off() -> None:
    eng = Engine()
    seen: list[float] = []
    for t in (1.0, 2.0, 3.0, 7.0, 9.0):
        eng.at(t, lambda t: seen.append(t), t)
    assert eng.run(until=5.0) == 5.0
    assert eng.now == 5.0
    assert seen == [1.0, 2.0, 3.0]
    assert eng.events == 3  # the stop sentinel is not counted
    assert eng.pending == 2
    assert eng.run(until=8.0) == 8.0
    assert seen == [1.0, 2.0, 3.0, 7.0]
    assert eng.events == 4
    eng.run()
    assert seen == [1.0, 2.0, 3.0, 7.0, 9.0]
    assert eng.events == 5
    assert eng.now == 9.0 and eng.pending == 0


def test_an_event_exactly_at_until_runs_before_the_stop() -> None:
    eng = Engine()
    seen: list[float] = []
    eng.at(5.0, seen.append, 5.0)  # scheduled before run() adds its sentinel
    eng.run(until=5.0)
    assert seen == [5.0]
    assert eng.events == 1


def test_run_until_with_an_empty_heap_still_advances_the_clock() -> None:
    eng = Engine()
    assert eng.run(until=42.0) == 42.0
    assert eng.events == 0


def test_stop_simulation_ends_the_run_and_leaves_later_events_pending() -> None:
    eng = Engine()
    seen: list[int] = []

    def stop(_: object) -> None:
        raise StopSimulation

    for i in range(10):
        eng.at(float(i), seen.append, i)
    eng.at(4.5, stop)
    assert eng.run() == 4.5
    assert seen == [0, 1, 2, 3, 4]
    assert eng.pending == 5
    assert eng.events == 6  # five appends and the callback that stopped
    eng.run()  # resuming carries on with what is left
    assert seen == list(range(10))
    assert eng.events == 11


def test_stop_simulation_before_until_leaves_the_sentinel_harmless() -> None:
    eng = Engine()

    def stop(_: object) -> None:
        raise StopSimulation

    eng.at(2.0, stop)
    eng.at(6.0, lambda _: None)
    assert eng.run(until=10.0) == 2.0
    assert eng.events == 1
    assert eng.run(until=20.0) == 20.0
    # the 6.0 event ran; the old sentinel at 10.0 stops nothing it should not count
    assert eng.events in (2, 3)


def test_events_counts_every_callback_executed() -> None:
    eng = Engine()
    n = 0

    def chain(k: int) -> None:
        nonlocal n
        n += 1
        if k > 0:
            eng.after(0.25, chain, k - 1)

    eng.at(0.0, chain, 999)
    eng.run()
    assert n == 1000
    assert eng.events == 1000
    assert eng.now == pytest.approx(999 * 0.25)


def test_an_exception_from_a_callback_propagates() -> None:
    eng = Engine()

    def boom(_: object) -> None:
        raise IndexError("from the model, not the heap")

    eng.at(1.0, boom)
    with pytest.raises(IndexError, match="from the model"):
        eng.run()


def test_every_fires_at_start_and_then_each_period() -> None:
    eng = Engine()
    ticks: list[float] = []
    eng.every(60.0, ticks.append, start=60.0)
    eng.run(until=300.0)
    assert ticks == [60.0, 120.0, 180.0, 240.0, 300.0]
    eng.run(until=400.0)
    assert ticks[-1] == 360.0 and len(ticks) == 6


def test_every_defaults_to_starting_now() -> None:
    eng = Engine()
    ticks: list[float] = []
    eng.every(0.5, ticks.append)
    eng.run(until=2.0)
    assert ticks == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_run_without_until_on_an_empty_heap_returns_immediately() -> None:
    eng = Engine()
    assert eng.run() == 0.0
    assert eng.events == 0
    assert not math.isinf(eng.now)


def test_a_run_of_whole_minutes_closes_its_last_minute() -> None:
    """The minute tick at exactly the horizon runs (it is scheduled during the run, at
    ``until``): a 10-minute run has 10 one-minute points, and they add up to the total."""
    import cloudtwin

    arch = cloudtwin.parse_spec(
        "name: m\ncomponents:\n  app: {type: ec2, workers: 4, handler: [{cpu: exp(10ms)}]}\n"
        "workloads:\n  users: {entry: app, rate: 50/s}\nsimulate: {duration: 10m}\n"
    )
    r = cloudtwin.Simulation(arch, seed=3).run()
    series = r["series"]
    assert series["t"] == [60.0 * i for i in range(10)]
    assert sum(series["workloads"]["users"]["requests"]) == r.workload("users")["requests"]
    assert len(series["components"]["app"]["utilization"]) == 10
