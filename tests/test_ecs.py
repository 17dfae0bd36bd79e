"""ECS: a service polling SQS (an M/M/c queue), target tracking on the backlog per task, Fargate Spot
interruptions, one-off tasks (RunTask) with capacity limits and overlap, AZ outages, usage, bad input."""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Simulation, SpecError, parse_spec
from cloudtwin.theory import mmc_mean_response


def run(text: str, **kw: Any) -> Any:
    return Simulation(parse_spec(text), **kw).run()


MMC = """
name: mmc
components:
  q: {type: sqs, latency: 0ms, duplicate_rate: 0, visibility_timeout: 10m}
  svc:
    type: ecs
    desired: {c}
    startup_time: 0s
    consumes: {queue: q, batch_size: 1, wait: 20s}
    handler: [{cpu: exp(1s)}]
workloads:
  w: {entry: q, rate: {lam}/s}
simulate: {duration: 3h, seed: 3}
"""


@pytest.mark.parametrize("c, lam", [(1, 0.7), (4, 3.2)])
def test_a_queue_drained_by_long_polling_tasks_is_an_mmc_queue(c: int, lam: float) -> None:
    """Single-slot tasks long-polling for one message at a time, with SQS latency 0, serve the queue
    in FIFO order as c servers: the mean time from send to delete is Erlang C's response time."""
    res = run(MMC.replace("{c}", str(c)).replace("{lam}", str(lam)))
    q = res.component("q")
    assert q["delivered"] > 7000 and res["messages"]["lost"] == 0
    assert q["end_to_end_ms"]["mean"] / 1000 == pytest.approx(mmc_mean_response(lam, 1.0, c), rel=0.08)


SCALE = """
name: scale
components:
  q: {type: sqs, dlq: dlq}
  dlq: {type: sqs}
  svc:
    type: ecs
    desired: 1
    consumes: {queue: q, batch_size: 10}
    scaling: {target_backlog_per_task: 50, min: 1, max: 8, scale_out_cooldown: 60s, scale_in_cooldown: 60s}
    handler: [{cpu: exp(250ms)}]
workloads:
  w:
    entry: q
    rate: 2/s
    profile: {type: spike, at: 5m, duration: 10m, factor: 8}
simulate: {duration: 50m}
"""


def test_target_tracking_scales_out_on_backlog_per_task_then_back_in() -> None:
    res = run(SCALE)
    svc = res.component("svc")
    series = res["series"]["components"]["svc"]
    backlog, desired = series["backlog_per_task"], series["desired"]
    ups = [i for i in range(1, len(desired)) if desired[i] > desired[i - 1]]
    assert ups, "it never scaled out"
    first = ups[0]
    # three 1-minute datapoints above the target before the first scale-out
    assert all(b > 50 for b in backlog[first - 2:first + 1]) and backlog[first - 3] <= 50
    assert max(desired) == 8 and svc["running"]["max"] == 8  # capped at max
    assert svc["scale_actions"] >= 3 and desired[-1] < 8  # and back in after the burst
    q = res.component("q")
    assert q["visible"] < 20 and res["messages"]["lost"] == 0 and res["messages"]["dead_lettered"] == 0


def test_scale_in_needs_15_quiet_minutes_and_removes_at_most_10_percent() -> None:
    res = run(SCALE)
    desired = res["series"]["components"]["svc"]["desired"]
    backlog = res["series"]["components"]["svc"]["backlog_per_task"]
    downs = [i for i in range(1, len(desired)) if desired[i] < desired[i - 1]]
    assert downs
    first = downs[0]
    assert all(b < 45 for b in backlog[first - 14:first + 1])
    assert all(desired[i - 1] - desired[i] == 1 for i in downs)  # max(1, 10 % of <= 8)


SPOT = """
name: spot
components:
  q: {type: sqs, visibility_timeout: 45s}
  svc:
    type: ecs
    desired: 4
    fargate_spot: 0.5
    stop_timeout: 30s
    consumes: {queue: q, batch_size: 10}
    handler: [{cpu: exp(2s)}]
workloads:
  w: {entry: q, rate: 1.5/s}
faults:
  - {at: 10m, spot_interruption: svc, count: 5}
simulate: {duration: 20m}
"""


@pytest.mark.python_only
def test_a_fargate_spot_interruption_drains_and_replaces_tasks_and_loses_nothing() -> None:
    sim = Simulation(parse_spec(SPOT))
    stopped: dict[str, float] = {}
    svc = sim.components["svc"]
    end = svc._end
    svc._end = lambda t, state="stopped": (stopped.setdefault(t.iid, sim.engine.now), end(t, state))[1]
    res = sim.run()
    s = res.component("svc")
    assert s["spot_interruptions"] == 2  # half of the 4 tasks are on Fargate Spot
    interrupted = [e for e in res["timeline"] if e["kind"] == "fault"][0]["detail"]
    assert interrupted.count("Fargate Spot interruption warning") == 2
    # SIGTERM at the warning: each stops within stop_timeout (30 s), well inside the 2 minutes
    late = [t for iid, t in stopped.items() if iid in interrupted]
    assert len(late) == 2 and all(600.0 <= t <= 630.0 + 1e-9 for t in late)
    assert s["launched"] == 6 and s["active_tasks"] == 4  # replaced at the warning
    m = res["messages"]
    assert m["lost"] == 0 and m["dead_lettered"] == 0 and m["in_flight"] < 30
    q = res.component("q")
    assert q["received"] > q["delivered"]  # the stopped tasks' batches came back and were received again


RUNTASK = """
name: runtask
components:
  bus:
    type: eventbridge
    rules: [{name: r, pattern: {source: [app]}, targets: [{target: job, dlq: dlq}]}]
  job:
    type: ecs
    max_tasks: 5
    startup_time: 10s
    handler: [{cpu: 20s}]
  dlq: {type: sqs}
workloads:
  app: {entry: bus, rate: 0.2/s, arrivals: constant, message: {attributes: {source: app}}}
simulate: {duration: 10m}
"""


def test_one_off_tasks_run_once_per_event_within_the_capacity() -> None:
    sim = Simulation(parse_spec(RUNTASK))
    peak = [0]
    job = sim.components["job"]

    def watch(now: float) -> None:
        peak[0] = max(peak[0], len(job.tasks))

    sim.engine.every(1.0, watch)
    res = sim.run()
    r = res.component("job")["run_task"]
    # 0.2 events/s x 30 s per task = 6 tasks wanted, 5 allowed: the overflow waits for a slot
    assert peak[0] == 5 and r["refused_capacity"] > 0
    assert r["accepted"] == res.component("job")["launched"] == r["completed"] + r["running"]
    assert r["failed"] == r["skipped"] == r["stopped"] == 0
    assert res["messages"]["lost"] == 0 and res["messages"]["duplicates"] == 0
    assert r["start_delay_ms"]["min"] >= 10_000  # start-up time, then the run
    assert r["end_to_end_ms"]["min"] >= 30_000


def test_a_task_killed_under_its_event_or_failing_loses_it_under_a_named_cause() -> None:
    text = RUNTASK.replace("max_tasks: 5", "error_rate: 0.5") + "faults:\n  - {at: 5m, terminate: job, count: 3}\n"
    res = run(text)
    r = res.component("job")["run_task"]
    causes = res["messages"]["lost_by_cause"]
    assert causes == {"ecs_task_failed": r["failed"], "ecs_task_stopped": 3}
    assert r["failed"] == pytest.approx(r["completed"], rel=0.5)  # error_rate 0.5


def test_no_zone_up_refuses_run_task_as_unavailable_and_eventbridge_retries() -> None:
    text = RUNTASK.replace("max_tasks: 5", "zones: [a]") + "faults:\n  - {at: 2m, az_outage: a, duration: 3m}\n"
    res = run(text)
    r = res.component("job")["run_task"]
    tgt = res.component("bus")["rules"][0]["targets"][0]
    assert r["refused_unavailable"] > 0 and tgt["retries"] >= r["refused_unavailable"]
    # tasks running at the outage are stopped and their events lost; the others start after it
    assert res["messages"]["lost_by_cause"] == {"ecs_task_stopped": r["stopped"]} and r["stopped"] >= 5
    assert r["accepted"] - r["stopped"] - r["running"] == r["completed"] > 20


def test_overlap_skip_skips_a_run_while_another_runs() -> None:
    text = RUNTASK.replace("max_tasks: 5", "overlap: skip")
    res = run(text)
    r = res.component("job")["run_task"]
    # a new event every 5 s, each run 20 s: about one run in five actually works
    assert r["skipped"] > 3 * r["completed"] > 0
    assert res["messages"]["lost"] == 0


def test_an_az_outage_moves_service_tasks_to_the_zone_that_is_up() -> None:
    text = SPOT.replace("    fargate_spot: 0.5\n", "").replace("{at: 10m, spot_interruption: svc, count: 5}",
                                                                  "{at: 5m, az_outage: a, duration: 5m}")
    sim = Simulation(parse_spec(text))
    zones: list[list[str]] = []
    sim.engine.at(7 * 60.0, lambda _: zones.append(sorted(t.zone for t in sim.components["svc"].tasks)))
    res = sim.run()
    assert zones == [["b", "b", "b", "b"]]
    assert res.component("svc")["killed"] == 2 and res["messages"]["lost"] == 0


def test_fargate_usage_is_measured_and_spot_is_unpriced() -> None:
    res = run(SPOT.replace("faults:\n  - {at: 10m, spot_interruption: svc, count: 5}\n", ""))
    cost = res["cost"]
    priced = {u["usage_type"]: u["quantity"] for u in cost["items"] if u["component"] == "svc"}
    unpriced = {u["usage_type"]: u["quantity"] for u in cost["unpriced"] if u["component"] == "svc"}
    # 2 on-demand and 2 Spot tasks of 0.25 vCPU / 0.5 GiB for 20 minutes
    assert priced["Fargate-vCPU-Hours:perCPU"] == pytest.approx(2 * 0.25 / 3, rel=1e-5)
    assert priced["Fargate-GB-Hours"] == pytest.approx(2 * 0.5 / 3, rel=1e-5)
    assert unpriced["SpotUsage-Fargate-GB-Hours"] == pytest.approx(2 * 0.5 / 3, rel=1e-5)
    # us-east-1 Fargate $0.04048 per vCPU-hour and $0.004445 per GB-hour (infracost ecs_service_test
    # golden); no source gives Fargate Spot, so only the on-demand tasks are billed: never an invented price
    assert cost["by_component"]["svc"] == pytest.approx(2 * 0.25 / 3 * 0.04048 + 2 * 0.5 / 3 * 0.004445, abs=1e-6)


@pytest.mark.parametrize("edit, path, needle", [
    (("    consumes: {queue: q, batch_size: 10}\n", ""), "components.svc", "add `consumes:`"),
    (("consumes: {queue: q,", "consumes: {queue: svc,"), "components.svc.consumes.queue", "is an ecs"),
    (("    fargate_spot: 0.5\n", "    fargate_spot: 0.5\n    launch_type: ec2\n"), "components.svc",
     "fargate_spot needs launch_type: fargate"),
    (("stop_timeout: 30s", "stop_timeout: 5m"), "components.svc.stop_timeout", "120"),
    (("desired: 4", "desired: 4\n    max_tasks: 2"), "components.svc", "exceeds max_tasks"),
    (("{at: 10m, spot_interruption: svc, count: 5}", "{at: 10m, replace: svc}"), "faults[0].replace",
     "expected ec2 or asg"),
    (("    fargate_spot: 0.5\n", ""), "faults[0].spot_interruption", "has no Fargate Spot tasks"),
])
def test_bad_ecs_specs_are_spec_errors(edit: tuple[str, str], path: str, needle: str) -> None:
    text = SPOT.replace("consumes: {queue: q, batch_size: 10}",
                        "consumes: {queue: q, batch_size: 10}\n    scaling: {target_backlog_per_task: 5, max: 9}")
    with pytest.raises(SpecError) as e:
        parse_spec(text.replace(*edit, 1), file="ecs.yaml")
    assert any(i.path == path and needle in i.message and i.file == "ecs.yaml" and i.line > 0
               for i in e.value.issues), e.value.issues


def test_a_handler_can_run_a_task_per_request() -> None:
    text = """
name: handler-runtask
components:
  api:
    type: ec2
    handler:
      - cpu: 5ms
      - call: export.run_task
        message: {poison: 0.1}
  export: {type: ecs, startup_time: 5s, handler: [{cpu: 2s}]}
workloads:
  users: {entry: api, rate: 1/s, arrivals: constant}
simulate: {duration: 5m}
"""
    res = run(text)
    r = res.component("export")["run_task"]
    assert r["accepted"] == res.workload("users")["succeeded"] >= 299  # RunTask answers at once
    m = res["messages"]
    # poison events fail the run (the default poison rule): lost, under their cause
    assert m["lost_by_cause"] == {"ecs_task_failed": r["failed"]} and r["failed"] / r["accepted"] == pytest.approx(
        0.1, abs=0.05)
    assert m["published"] == r["accepted"] == r["completed"] + r["failed"] + r["running"]
