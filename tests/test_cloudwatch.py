"""CloudWatch alarms: the documented evaluation rules (M of N, missing-data treatments), states on
the timeline, and the actions (SNS, Lambda, Auto Scaling, ec2:recover / ec2:reboot).

Sources: CloudWatch user guide, "Alarm evaluation" (period, evaluation periods, datapoints to
alarm; M of N need not be consecutive) and "Configuring how CloudWatch alarms treat missing
data" (the four treatments, the evaluation range, and its table of outcomes for 3 of 3, quoted
row by row below); PutMetricAlarm (evaluation periods x period <= 1 day)."""

from __future__ import annotations

import pytest

import cloudtwin
from cloudtwin.errors import SpecError
from cloudtwin.services.cloudwatch import ALARM, INSUFFICIENT, OK, evaluate
from cloudtwin.simulation import Simulation
from cloudtwin.spec import parse_spec


def points(text: str) -> list[bool | None]:
    """``X`` breaching, ``0`` not breaching, ``-`` missing (the guide's notation), oldest first."""
    return [{"X": True, "0": False, "-": None}[c] for c in text.split()]


# The guide's table for an alarm with 3 evaluation periods and 3 datapoints to alarm:
# datapoints (oldest first) -> outcome under MISSING, IGNORE, BREACHING, NOT BREACHING.
GUIDE_TABLE = [
    ("0 - X - X", OK, OK, OK, OK),
    ("- - - - 0", OK, OK, OK, OK),
    ("- - - - -", INSUFFICIENT, "retain", ALARM, OK),
    ("0 X X - X", ALARM, ALARM, ALARM, ALARM),
    ("- - X - -", ALARM, "retain", ALARM, OK),
]


@pytest.mark.parametrize(("row", "missing", "ignore", "breaching", "not_breaching"), GUIDE_TABLE)
def test_the_guides_missing_data_table(row: str, missing: str, ignore: str, breaching: str,
                                       not_breaching: str) -> None:
    pts = points(row)
    assert evaluate(pts, 3, 3, "missing", OK) == missing
    assert evaluate(pts, 3, 3, "breaching", OK) == breaching
    assert evaluate(pts, 3, 3, "notBreaching", ALARM) == not_breaching
    for current in (OK, ALARM):
        assert evaluate(pts, 3, 3, "ignore", current) == (current if ignore == "retain" else ignore)


def test_m_of_n_counts_breaching_points_that_need_not_be_consecutive() -> None:
    assert evaluate(points("X 0 X"), 3, 2, "missing", OK) == ALARM
    assert evaluate(points("X 0 0"), 3, 2, "missing", ALARM) == OK
    assert evaluate(points("0 X X"), 3, 3, "missing", OK) == OK
    # only the most recent N real points count when there are enough of them
    assert evaluate(points("X X 0 0 0"), 3, 1, "missing", ALARM) == OK


def test_enough_real_points_make_the_treatment_irrelevant() -> None:
    pts = points("X - X X")  # 3 real points within the range for N = 3
    for t in ("missing", "breaching", "notBreaching", "ignore"):
        assert evaluate(pts, 3, 3, t, OK) == ALARM


def test_missing_points_are_filled_as_few_times_as_possible() -> None:
    # 2 of 3 with one real breaching point: one fill is needed, and breaching fills make it 2
    assert evaluate(points("- - X"), 3, 2, "breaching", OK) == ALARM
    assert evaluate(points("- - X"), 3, 2, "notBreaching", OK) == OK
    assert evaluate(points("- - X"), 3, 2, "ignore", OK) == OK  # undecided: keeps OK
    assert evaluate(points("- - X"), 3, 2, "ignore", ALARM) == ALARM  # ...or ALARM
    # 3 of 3 with a real good point: no filling can breach 3, whatever the treatment
    assert evaluate(points("0 - -"), 3, 3, "breaching", ALARM) == OK


SPEC = """
name: alarm-test
zones: [a, b]
components:
  app:
    type: ec2
    elastic_ip: true
    handler: [{{cpu: 10ms}}]
  watch:
    type: cloudwatch_alarm
    component: app
    metric: StatusCheckFailed_System
    statistic: Maximum
    comparison: GreaterThanOrEqualToThreshold
    threshold: 1
{extra}
workloads:
  users: {{entry: app, rate: 10/s}}
faults:
  - {{at: 610s, {fault}: app}}
simulate: {{duration: 20m}}
"""


def spec(extra: str, fault: str = "status_check_failure") -> cloudtwin.Architecture:
    return _load(SPEC.format(extra=extra, fault=fault))


def _load(text: str) -> cloudtwin.Architecture:
    return parse_spec(text, file="alarm-test.yaml")


def alarm_changes(r: cloudtwin.Results, name: str = "watch") -> list[tuple[float, str]]:
    return [(e["t"], e["state"]) for e in r["timeline"] if e["kind"] == "alarm" and e["component"] == name]


def test_period_and_m_of_n_set_the_detection_time() -> None:
    # 2-minute periods close at 720, 840...; the failure at 610 s breaches the [600, 720) datapoint
    # (its Maximum), 2 of 3 needs the next one too: ALARM at 840 s
    r = Simulation(spec("    period: 2m\n    evaluation_periods: 3\n    datapoints_to_alarm: 2")).run()
    assert alarm_changes(r) == [(120.0, OK), (840.0, ALARM)]
    # 1 of 1 one-minute datapoints: the minute ending at 660 s
    r = Simulation(spec("    evaluation_periods: 1")).run()
    assert alarm_changes(r) == [(60.0, OK), (660.0, ALARM)]


@pytest.mark.parametrize(("treatment", "expected"), [
    ("breaching", [(60.0, OK), (840.0, ALARM)]),
    ("missing", [(60.0, OK), (840.0, INSUFFICIENT)]),
    ("notBreaching", [(60.0, OK)]),
    ("ignore", [(60.0, OK)]),
])
def test_a_terminated_instance_reports_no_data(treatment: str, expected: list[tuple[float, str]]) -> None:
    """Terminated at 610 s: its datapoints go missing from 660 s. With 2 of 2 and a range of 4,
    the two real points before the failure still decide until 780 s (the range looks back to
    them); at 840 s every point of the range is missing and the treatment decides."""
    extra = f"    evaluation_periods: 2\n    treat_missing_data: {treatment}"
    r = Simulation(spec(extra, fault="terminate")).run()
    assert alarm_changes(r) == expected


def test_ec2_recover_keeps_the_instance_and_its_elastic_ip() -> None:
    r = Simulation(spec("    alarm_actions: [ec2:recover]")).run()
    [rec] = [e for e in r["timeline"] if "recovered" in e["detail"]]
    assert alarm_changes(r) == [(60.0, OK), (660.0, ALARM), (60.0 * (rec["t"] // 60 + 1), OK)]
    assert rec["detail"].startswith("app-1 recovered, public IP 198.51.")  # same ID, same Elastic IP
    assert 660.0 + 40.0 <= rec["t"] <= 660.0 + 80.0  # a boot time (assumption) after the action
    w = r.workload("users")
    assert w["errors"]["unavailable"] == pytest.approx(10.0 * (rec["t"] - 610.0), rel=0.15)
    assert r.component("watch")["actions"] == 1


def test_ec2_reboot_does_not_fix_a_system_status_check_failure() -> None:
    r = Simulation(spec("    alarm_actions: [ec2:reboot]")).run()
    [back] = [e for e in r["timeline"] if "rebooted" in e["detail"]]
    assert "still fails" in back["detail"]
    w = r.workload("users")
    assert w["errors"]["unavailable"] == pytest.approx(10.0 * (1200.0 - 610.0), rel=0.1)  # down to the end


def test_auto_scaling_action_repeats_every_minute_in_alarm() -> None:
    text = """
name: scale-test
components:
  web: {type: asg, capacity: {min: 1, max: 3}, handler: [{cpu: 10ms}]}
  low:
    type: cloudwatch_alarm
    component: web
    metric: in_service
    statistic: Minimum
    comparison: LessThanThreshold
    threshold: 5
    alarm_actions: ["web:+1"]
simulate: {duration: 5m}
"""
    r = Simulation(_load(text)).run()
    scaling = [(e["t"], e["detail"]) for e in r["timeline"] if e["kind"] == "scaling"]
    assert [t for t, _ in scaling] == [60.0, 120.0]  # +1 each minute until max (3) clamps it
    assert r.component("web")["desired"] == 3


def test_sns_and_lambda_actions_are_messages_in_the_ledger() -> None:
    text = """
name: notify-test
components:
  app: {type: ec2, handler: [{cpu: 10ms}]}
  watch:
    type: cloudwatch_alarm
    component: app
    metric: StatusCheckFailed
    statistic: Maximum
    comparison: GreaterThanOrEqualToThreshold
    threshold: 1
    alarm_actions: [topic]
    ok_actions: [fn]
  topic: {type: sns, subscriptions: [{target: q}]}
  q: {type: sqs}
  fn: {type: lambda, handler: [{cpu: 5ms}]}
faults:
  - {at: 300s, status_check_failure: app, duration: 2m}
simulate: {duration: 15m}
"""
    r = Simulation(_load(text)).run()
    assert [s for _, s in alarm_changes(r)] == [OK, ALARM, OK]
    m = r["messages"]
    # fn's invocation on OK at 60 s, the topic's copy in q on ALARM, fn again on OK after the host is back
    assert m["published"] == 3 and m["lost"] == 0
    assert m["delivered"] + m["in_flight"] == 3


@pytest.mark.parametrize(("extra", "path", "needle"), [
    ("    evaluation_periods: 2\n    datapoints_to_alarm: 3", "components.watch", "cannot exceed"),
    ("    period: 90s", "components.watch", "whole number of minutes"),
    ("    period: 1h\n    evaluation_periods: 25", "components.watch", "one day"),
    ("    alarm_actions: [nowhere]", "components.watch.alarm_actions[0]", "not an sns topic"),
    ("    treat_missing_data: sometimes", "components.watch.treat_missing_data", "missing"),
    ("    alarm_actions: [\"app:+1\"]", "components.watch.alarm_actions[0]", "Auto Scaling group"),
])
def test_bad_alarms_are_located_spec_errors(extra: str, path: str, needle: str) -> None:
    with pytest.raises(SpecError) as e:
        _load(SPEC.format(extra=extra, fault="terminate"))
    [issue] = [i for i in e.value.issues if path in str(i)]
    assert needle in str(issue) and "alarm-test.yaml:" in str(issue)  # located: file:line


@pytest.mark.parametrize(("old", "new", "path", "needle"), [
    ("metric: StatusCheckFailed_System", "metric: cpu_credits", "components.watch.metric", "unknown metric"),
    ("metric: StatusCheckFailed_System", "metric: p99_ms", "components.watch.metric", "unknown metric"),
    ("component: app\n", "component: nothing\n", "components.watch.component", "not a component"),
    ("    elastic_ip: true\n", "    elastic_ip: true\n  other:\n    type: ec2\n    takes_elastic_ip: watch\n",
     "components.other.takes_elastic_ip", "with `elastic_ip: true`"),
])
def test_bad_references_are_located(old: str, new: str, path: str, needle: str) -> None:
    text = SPEC.format(extra="", fault="terminate")
    assert old in text
    with pytest.raises(SpecError) as e:
        _load(text.replace(old, new, 1))
    [issue] = [i for i in e.value.issues if path in str(i)]
    assert needle in str(issue) and "alarm-test.yaml:" in str(issue)


def test_any_components_series_can_be_watched() -> None:
    """SQS ApproximateNumberOfMessagesVisible (the `visible` series, a level at the minute's end):
    600 messages a minute and no consumer cross 1,500 during the third minute."""
    text = """
name: backlog
components:
  q: {type: sqs}
  deep:
    type: cloudwatch_alarm
    component: q
    metric: visible
    statistic: Maximum
    comparison: GreaterThanThreshold
    threshold: 1500
workloads:
  producer: {entry: q, rate: 10/s, arrivals: constant}
simulate: {duration: 5m}
"""
    r = Simulation(_load(text)).run()
    assert alarm_changes(r, "deep") == [(60.0, OK), (180.0, ALARM)]
    assert r.component("deep")["datapoints"] == 5 and r.component("deep")["breaching_datapoints"] == 3
