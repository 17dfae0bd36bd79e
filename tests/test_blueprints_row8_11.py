"""Blueprint rows 8-11, "ECS": event based, schedule based, with SQS, and SNS + EventBridge.

Each test follows the messages of one blueprint run and asserts its claim with numbers.
"""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Results, Simulation, load_spec


def simulate(name: str) -> tuple[Simulation, float]:
    arch = load_spec(name)
    return Simulation(arch), arch.simulate.duration or 0.0


# ---------------------------------------------------------------- row 8: ecs-event
class EventRun:
    def __init__(self) -> None:
        sim, self.end = simulate("ecs-event")
        c = sim.components
        self.uploads: dict[int, float] = {}  # event id -> upload time
        self.accepted: list[int] = []
        self.done: list[int] = []
        emit, handle, settle = c["photos"]._emit, c["thumbnailer"].handle, c["thumbnailer"]._settle
        c["photos"]._emit = lambda m: (self.uploads.__setitem__(m.mid, m.t0), emit(m))[1]

        def run_task(req: Any, op: str, done: Any, arg: Any = None) -> None:
            def reply(r: Any, err: str | None) -> None:
                if err is None:
                    self.accepted.append(arg.mid)
                done(r, err)
            handle(req, op, reply, arg)

        c["thumbnailer"].handle = run_task
        c["thumbnailer"]._settle = lambda t, err, **kw: (self.done.append(t.meta["msg"].mid), settle(t, err, **kw))[1]
        self.peak = 0

        def watch(_: float) -> None:
            self.peak = max(self.peak, len(c["thumbnailer"].tasks))

        sim.engine.every(1.0, watch)
        self.res: Results = sim.run()


@pytest.fixture(scope="module")
def event() -> EventRun:
    return EventRun()


@pytest.mark.python_only
def test_every_image_is_processed_by_exactly_one_task(event: EventRun) -> None:
    photos = event.res.component("photos")
    assert photos["puts"] > 800 and photos["events_unmatched"] == 0
    assert len(event.accepted) == len(set(event.accepted))  # one task per image, never two
    assert len(event.done) == len(set(event.done)) == event.res.component("thumbnailer")["run_task"]["completed"]
    early = {mid for mid, t in event.uploads.items() if t < event.end - 10 * 60}
    assert len(early) > 750 and early <= set(event.done)  # every image uploaded before the last 10 min is done
    m = event.res["messages"]
    assert m["lost"] == 0 and m["dead_lettered"] == 0 and m["duplicates"] == 0
    assert m["published"] == photos["puts"] == m["delivered"] + m["in_flight"]


@pytest.mark.python_only
def test_the_burst_overflows_the_task_limit_and_eventbridge_retries(event: EventRun) -> None:
    assert event.peak == 20  # the account's task limit (max_tasks) is reached
    job = event.res.component("thumbnailer")["run_task"]
    [tgt] = event.res.component("default-bus")["rules"][0]["targets"]
    assert job["refused_capacity"] > 1000 and tgt["retries"] == job["refused_capacity"]
    assert tgt["attempts"]["1"] < tgt["delivered"] / 2  # most images needed more than one RunTask
    assert tgt["delivery_ms"]["p99"] > 10 * 60_000  # backoff stretched the burst over many minutes
    assert tgt["dead_lettered"] == 0 and event.res.component("photo-events-dlq")["visible"] == 0


# ---------------------------------------------------------------- row 9: ecs-schedule
class ScheduleRun:
    def __init__(self) -> None:
        sim, self.end = simulate("ecs-schedule")
        c = sim.components
        self.starts: list[tuple[float, float]] = []  # (scheduled at, task running at)
        self.missed: list[float] = []
        started, take = c["report"]._started, c["missed-runs"].take_dead

        def on_start(task: Any) -> None:
            started(task)
            if task.state == "running":
                self.starts.append((task.meta["msg"].t0, sim.engine.now))

        c["report"]._started = on_start
        c["missed-runs"].take_dead = lambda m, **kw: (self.missed.append(m.t0), take(m, **kw))[1]
        self.res: Results = sim.run()


@pytest.fixture(scope="module")
def schedule() -> ScheduleRun:
    return ScheduleRun()


@pytest.mark.python_only
def test_scheduled_runs_start_on_time(schedule: ScheduleRun) -> None:
    [rule] = schedule.res.component("scheduler")["rules"]
    assert rule["fired"] == 11  # every 5 minutes from 5 to 55
    assert rule["start_delay_ms"]["max"] <= 10_000  # sent within seconds of the minute [aws-facts §8]
    sched = [t for t, _ in schedule.starts]
    # every run but the skipped one (15 min) and the three of the zone outage (30, 35, 40 min)
    assert sched == [300.0 * k for k in (1, 2, 4, 5, 9, 10, 11)]
    for t0, t in schedule.starts:
        assert 20.0 <= t - t0 <= 70.0  # the few seconds, then the task's start-up (20-60 s)


@pytest.mark.python_only
def test_missed_runs_are_counted_skipped_and_dead_lettered(schedule: ScheduleRun) -> None:
    job = schedule.res.component("report")["run_task"]
    assert job["skipped"] == 1 and job["completed"] == 7  # the 15-minute run skipped: the 10-minute one ran on
    skips = [e for e in schedule.res["timeline"] if "skips its run" in e["detail"]]
    assert len(skips) == 1 and 900 < skips[0]["t"] < 980
    assert schedule.missed == [1800.0, 2100.0, 2400.0]  # the runs while zone a was down
    assert job["refused_unavailable"] > 0
    m = schedule.res["messages"]
    assert m["dead_lettered"] == 3 and m["lost"] == 0 and m["delivered"] == 8 and m["published"] == 11


# ---------------------------------------------------------------- row 10: ecs-sqs
@pytest.fixture(scope="module")
def sqs() -> Results:
    return Simulation(load_spec("ecs-sqs")).run()


def test_the_service_scales_out_on_backlog_per_task(sqs: Results) -> None:
    s = sqs["series"]["components"]
    desired, backlog = s["workers"]["desired"], s["workers"]["backlog_per_task"]
    out = next(i for i in range(1, len(desired)) if desired[i] > desired[i - 1])
    assert 12 <= out <= 14  # the burst starts at minute 10; 3 one-minute datapoints above 100 per task
    assert all(b > 100 for b in backlog[out - 2:out + 1])
    assert max(desired) == 20 and sqs.component("workers")["running"]["max"] == 20
    assert any("desired 2 -> 20" in e["detail"] for e in sqs["timeline"])


def test_the_backlog_drains_and_the_service_scales_back_in(sqs: Results) -> None:
    visible = sqs["series"]["components"]["jobs"]["visible"]
    assert max(visible) > 1500
    assert all(v < 100 for v in visible[20:])  # drained before the burst ended at minute 20
    desired = sqs["series"]["components"]["workers"]["desired"]
    assert desired[-1] < 5 and sqs.component("workers")["desired"] >= 2


def test_nothing_is_lost_spot_interruptions_included(sqs: Results) -> None:
    w = sqs.component("workers")
    assert w["spot_interruptions"] == 4
    q, m = sqs.component("jobs"), sqs["messages"]
    assert m["lost"] == 0 and m["dead_lettered"] == 0 and m["expired"] == 0
    assert m["published"] == q["sent"] > 17_000 and m["in_flight"] < 10
    assert q["received"] > q["delivered"]  # the interrupted tasks' messages came back and were received again
    assert sqs.workload("producers")["availability"] == 1.0


# ---------------------------------------------------------------- row 11: ecs-sns-eventbridge
class BothRun:
    def __init__(self) -> None:
        sim, self.end = simulate("ecs-sns-eventbridge")
        q = sim.components["order-jobs"]
        self.receives: dict[int, int] = {}
        receive = q.receive  # ReceiveMessage, as the workers call it: count what each answer hands out

        def spy(n: int, wait: float, cb: Any) -> Any:
            def got(msgs: Any) -> Any:
                for msg in msgs or ():
                    self.receives[msg.mid] = self.receives.get(msg.mid, 0) + 1
                return cb(msgs)

            return receive(n, wait, got)

        q.receive = spy
        self.res: Results = sim.run()


@pytest.fixture(scope="module")
def both() -> BothRun:
    return BothRun()


@pytest.mark.python_only
def test_both_paths_deliver_every_order(both: BothRun) -> None:
    r = both.res
    orders = r.workload("checkout")["succeeded"]
    assert orders > 2300 and r.workload("checkout")["availability"] == 1.0
    sns_path = r.component("order-jobs")
    assert sns_path["sent"] == orders and sns_path["delivered"] + sns_path["visible"] + sns_path["in_flight"] == orders
    eb = r.component("orders-bus")
    job = r.component("invoicing")["run_task"]
    assert eb["put_events"] == orders and job["accepted"] + eb["pending"] == orders
    assert job["completed"] + job["running"] == job["accepted"] and job["failed"] == job["stopped"] == 0
    m = r["messages"]
    assert m["published"] == 2 * orders and m["lost"] == 0 and m["dead_lettered"] == 0 and m["duplicates"] == 0


@pytest.mark.python_only
def test_per_path_latencies_and_retries_are_shown(both: BothRun) -> None:
    r = both.res
    sns_lat = r.component("order-jobs")["end_to_end_ms"]
    eb_lat = r.component("invoicing")["run_task"]["end_to_end_ms"]
    assert sns_lat["p50"] < 1500 and eb_lat["p50"] > 20_000  # a task start-up per order on the EventBridge path
    [tgt] = r.component("orders-bus")["rules"][0]["targets"]
    # RunTask failed for 3 minutes at 1 order/s: ~180 orders needed retries, with backoff
    retried = sum(v for k, v in tgt["attempts"].items() if k != "1")
    assert 150 <= retried <= 210 and tgt["retries"] == tgt["failed_invocations"] > retried
    assert eb_lat["max"] > 180_000
    # the stopped fulfilment task's message was received again after the 30 s visibility timeout
    assert sorted(v for v in both.receives.values() if v > 1) == [2]
    assert sns_lat["max"] > 30_000
