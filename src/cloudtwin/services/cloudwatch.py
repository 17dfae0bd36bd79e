"""CloudWatch metric alarms: the documented evaluation rules and the actions they take.

What is modelled
----------------
* **The metric**: one per-minute series of ``component`` (``utilization``, ``in_service``,
  ``concurrency``...: docs/spec.md "Series"), read at the end of each minute, or an EC2
  status check (``StatusCheckFailed_System``, ``StatusCheckFailed``: 1 while an instance
  of the component is impaired, no data while none runs; ``StatusCheckFailed_Instance``
  reads 0 as only host failures are modelled; :mod:`cloudtwin.services.ec2_status`).
* **Datapoints**: every ``period`` (whole minutes from the start of the run) the minute
  values of the period are reduced by ``statistic``; a period with no value is *missing*.
* **Evaluation** (:func:`evaluate`; CloudWatch user guide, "Alarm evaluation" and
  "Configuring how CloudWatch alarms treat missing data"; not in aws-facts): at each
  period's close the alarm looks back over an evaluation range of ``N + 2`` datapoints
  (N = ``evaluation_periods``; AWS retrieves "more" than N without saying how many, so
  N + 2 is an assumption matching the guide's 5-point examples for N = 3). With at least
  N real datapoints it judges the most recent N: ALARM when at least M
  (``datapoints_to_alarm``, default N) breach, else OK, and ``treat_missing_data`` plays
  no part. With fewer, the missing ones are filled as few times as possible:
  ``breaching`` counts them as breaching, ``notBreaching`` as not; ``ignore`` keeps the
  current state unless the real points decide the outcome either way; ``missing`` (the
  default) goes to INSUFFICIENT_DATA when no point is real, else to ALARM when every real
  point breaches, at least M of them when there are M or more (our reading of the guide's
  table; its rows are the unit tests).
* **States**: INSUFFICIENT_DATA at the start, then OK / ALARM; each change is a timeline
  entry (kind ``alarm``) and is counted in the results.
* **Actions** on a change to ALARM (``alarm_actions``) or to OK (``ok_actions``): publish to
  an SNS topic or invoke a Lambda function asynchronously (one message each, in the message
  ledger), change an Auto Scaling group's desired capacity by ``+N``/``-N`` (repeated once a
  minute while the alarm stays in the state, as CloudWatch does for Auto Scaling actions),
  or the EC2 actions ``ec2:recover`` / ``ec2:reboot`` on the watched instance.

Left out: high-resolution (10 s, 30 s) periods, percentile and sample-count statistics,
metric math and anomaly detection, composite alarms, ``insufficient_data_actions``, the
delay with which metrics reach CloudWatch, and CloudWatch's bill (alarms are not priced).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component
from cloudtwin.messaging import ledger_of
from cloudtwin.services import ec2_status
from cloudtwin.spec.cloudwatch import STATUS_METRICS, parse_action

if TYPE_CHECKING:
    from cloudtwin.context import Context
    from cloudtwin.spec.cloudwatch import Alarm as AlarmSpec

OK: Final = "OK"
ALARM: Final = "ALARM"
INSUFFICIENT: Final = "INSUFFICIENT_DATA"
EXTRA_RANGE: Final = 2  # assumption: datapoints retrieved beyond evaluation_periods (the guide's tables show N + 2)
EVENT_SIZE: Final = 1024.0  # bytes of an alarm notification (assumption)

COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}
REDUCE: dict[str, Callable[[list[float]], float]] = {
    "Average": lambda xs: sum(xs) / len(xs), "Sum": sum, "Minimum": min, "Maximum": max,
}


def evaluate(points: Sequence[bool | None], n: int, m: int, missing: str, current: str) -> str:
    """The alarm's state from the evaluation range ``points`` (oldest first; True breaching,
    False not, None missing) for M = ``m`` of N = ``n`` and the missing-data treatment."""
    real = [p for p in points if p is not None]
    if len(real) >= n:
        return ALARM if sum(real[-n:]) >= m else OK
    bad, gap = sum(real), n - len(real)
    if missing == "breaching":
        return ALARM if bad + gap >= m else OK
    if missing == "notBreaching":
        return ALARM if bad >= m else OK
    if missing == "ignore":
        could, must = bad + gap >= m, bad >= m
        if could == must:  # the real points decide it whatever the missing ones were
            return ALARM if must else OK
        return current
    if not real:
        return INSUFFICIENT
    return ALARM if bad >= min(m, len(real)) else OK


class Alarm(Component):
    """One metric alarm."""

    kind = "cloudwatch_alarm"

    def __init__(self, name: str, spec: AlarmSpec, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.state = INSUFFICIENT
        self.minutes: list[float | None] = []  # the minute values of the period in progress
        self.range: deque[bool | None] = deque(maxlen=spec.evaluation_periods + EXTRA_RANGE)
        self.per_period = int(spec.period // 60)
        self.compare = COMPARE[spec.comparison]
        self.reduce = REDUCE[spec.statistic]
        self.source: Any = None
        self.changes: dict[str, int] = {OK: 0, ALARM: 0, INSUFFICIENT: 0}
        self.actions_run = 0
        self.last_alarm_at: float | None = None
        self.datapoints: list[float | None] = []  # one per period, for the series

    def build(self) -> None:
        self.source = self.ctx.components[self.spec.component]

    def periodic_events_per_second(self) -> float:
        return 1.0 / 60.0  # one evaluation event a minute

    def on_minute(self, now: float) -> None:
        # after every component closed this minute (they run in one engine event)
        self.engine.after(0.0, self._sample, now)

    def _read(self) -> float | None:
        if self.spec.metric in STATUS_METRICS:
            v = ec2_status.status_check_failed(self.source)
            return 0.0 if v is not None and self.spec.metric == "StatusCheckFailed_Instance" else v
        value: float | None = self.source.latest(self.spec.metric)
        return value

    def _sample(self, now: float) -> None:
        self.minutes.append(self._read())
        if len(self.minutes) < self.per_period:
            self._repeat(now)
            return
        vals = [v for v in self.minutes if v is not None]
        self.minutes = []
        point = self.reduce(vals) if vals else None
        self.datapoints.append(None if point is None else round(point, 6))
        self.range.append(None if point is None else self.compare(point, self.spec.threshold))
        spec = self.spec
        new = evaluate(self.range, spec.evaluation_periods, spec.m, spec.treat_missing_data, self.state)
        if new != self.state:
            self._change(new, point)
        else:
            self._repeat(now)

    def _change(self, new: str, point: float | None) -> None:
        old, self.state = self.state, new
        self.changes[new] += 1
        if new == ALARM:
            self.last_alarm_at = self.engine.now
        shown = "missing" if point is None else f"{point:g}"
        self.ctx.event("alarm", f"{self.name}: {old} -> {new} ({self.spec.metric} {shown}, "
                       f"{self.spec.m} of {self.spec.evaluation_periods} x {self.spec.period:g} s)",
                       component=self.name, state=new)
        acts = self.spec.alarm_actions if new == ALARM else self.spec.ok_actions if new == OK else []
        for a in acts:
            self._act(a)

    def _repeat(self, now: float) -> None:
        """Auto Scaling actions repeat once a minute while the alarm stays in its state."""
        acts = self.spec.alarm_actions if self.state == ALARM else self.spec.ok_actions if self.state == OK else []
        for a in acts:
            if parse_action(a)[0] == "scale":
                self._act(a)

    def _act(self, action: str) -> None:
        kind, target, adjust = parse_action(action)
        self.actions_run += 1
        if kind == "ec2":
            notes = ec2_status.recover(self.source) if target == "recover" else ec2_status.reboot(self.source)
            self.ctx.event("action", f"{self.name}: ec2:{target}: {'; '.join(notes)}", component=self.name)
            return
        comp = self.ctx.components[target]
        if kind == "scale":
            comp.set_desired(comp.desired + adjust, f"alarm {self.name} {adjust:+d}")  # type: ignore[attr-defined]
            return
        led = ledger_of(self.ctx)
        msg = led.new(self.engine.now, EVENT_SIZE, {"alarm": self.name, "state": self.state})
        if comp.push(msg) is not None:  # a throttled async invoke or a refused publish
            led.lose(msg, "cloudwatch_action_refused")

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update(state=self.state, changes=dict(self.changes), actions=self.actions_run,
                   datapoints=len(self.datapoints),
                   breaching_datapoints=sum(1 for p in self.datapoints
                                            if p is not None and self.compare(p, self.spec.threshold)),
                   missing_datapoints=sum(1 for p in self.datapoints if p is None))
        return out
