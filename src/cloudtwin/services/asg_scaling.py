"""The policies of an EC2 Auto Scaling group: scaling, placement, purchase mix, termination.

What is modelled
----------------
* **Target tracking on average CPU.** It reads a 1-minute group metric built only
  from instances whose warm-up has ended: metrics of new instances are not
  aggregated until then [aws-facts §2 default instance warmup]. The warm-up is
  ``scaling.warmup``, else ``default_cooldown`` [aws-facts §2].
  - Scale out when the metric is above target for ``HIGH_PERIODS`` consecutive
    minutes, to ``ceil(n_warm * metric / target)``, rounded up so capacity is
    never short [aws-facts §2 target tracking "rounded conservatively"]. Because
    ``n_warm`` leaves out pending and warming instances while ``desired``
    includes them, it does not scale out again for capacity still warming up.
  - Scale in more gradually than out [aws-facts §2 target tracking]: only after
    ``LOW_PERIODS`` consecutive minutes below ``LOW_FRACTION`` of target, with no
    instance pending or warming, at most once per ``default_cooldown``, and by at
    most ``max(1, 10 %)`` of desired per action, never below
    ``ceil(n * metric / target)``. These numbers are assumptions (no facts row).
* **Simple policies** (``scaling.policies``): when the metric is above/below
  ``cpu`` for ``evaluation_periods`` minutes, adjust desired by ``adjust``. While
  the alarm stays breached the policy is re-evaluated each minute, but the group's
  cooldown (``cooldown`` or ``default_cooldown``, 300 s) blocks it; the cooldown
  starts only after the last instance of the activity finished launching or
  terminating (ELB deregistration included) [aws-facts §2 default cooldown].
* **Scheduled actions** set min, desired and max at a time; desired is clamped
  into the new [min, max].
* **Placement**: a launch goes to the available AZ with the fewest instances
  [aws-facts §2 AZ rebalancing]. **Purchase mix**: spot up to ``purchase.spot``,
  then reserved (on-demand billed at the reserved rate) up to ``reserved``, then
  on-demand, so capacity beyond the mix is on-demand.
* **Termination** follows the default termination policy [aws-facts §2]: the AZ
  with the most instances; there, an instance of a purchase option above its
  share of the mix (standing in for the mixed-instances allocation step); then
  the instance closest to its next billing hour; then random. All instances share
  one launch template, so "oldest launch template" never decides.

Left out: step policies with several step adjustments (several simple policies
at different thresholds stand in for them), predictive scaling, metrics other
than CPU, and alarm periods other than one minute.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.spec.asg import Purchase, Scaling, ScheduledAction, StepPolicy

if TYPE_CHECKING:
    from cloudtwin.services.asg import ASG

# Lifecycle states of a group member. Desired capacity counts Pending and InService ones; a Leaving
# instance still serves but waits, uncounted, for its replacement (launch before terminate).
PENDING: Final = "Pending"
IN_SERVICE: Final = "InService"
LEAVING: Final = "Leaving"
TERMINATING: Final = "Terminating"
GONE: Final = "Gone"
COUNTED = (PENDING, IN_SERVICE)

HIGH_PERIODS: Final = 3  # assumption: minutes above target before scaling out (target tracking's high alarm)
LOW_PERIODS: Final = 15  # assumption: minutes below target before scaling in ("more gradually" [aws-facts §2])
LOW_FRACTION: Final = 0.9  # assumption: the scale-in alarm sits at 90 % of the target
SCALE_IN_STEP: Final = 0.10  # assumption: remove at most max(1, 10 %) of desired per scale-in action
BILLING_HOUR: Final = 3600.0


class Scaler:
    """Turns the group's 1-minute CPU metric and the clock into desired-capacity changes."""

    def __init__(self, group: ASG, spec: Scaling | None) -> None:
        self.group = group
        self.spec = spec or Scaling()
        self.target = self.spec.target_cpu
        self.warmup = self.spec.warmup if self.spec.warmup is not None else self.spec.default_cooldown
        self.high = 0
        self.low = 0
        self.last_scale_in = -math.inf
        self.breach = [0] * len(self.spec.policies)
        self.cooldown_until = 0.0  # simple policies may fire from this time on
        self.cooldown_len = 0.0
        self.activity: set[Any] = set()  # instances launching/terminating for the last simple policy

    def start(self) -> None:
        for act in self.spec.scheduled:
            self.group.engine.at(act.at, self.scheduled, act)

    # ---- per-minute evaluation ---------------------------------------------------
    def minute(self, now: float, warm_metric: float | None, n_warm: int, metric: float) -> None:
        """``warm_metric``: CPU (0-1) of warmed-up instances (None without any); ``metric``: all of them."""
        if self.target is not None and warm_metric is not None:
            self._track(now, warm_metric * 100.0, n_warm)
        for i, p in enumerate(self.spec.policies):
            self._simple(now, i, p, metric * 100.0)

    def _track(self, now: float, m: float, n: int) -> None:
        g = self.group
        target = self.target
        assert target is not None
        self.high = self.high + 1 if m > target else 0
        self.low = self.low + 1 if m < LOW_FRACTION * target else 0
        wanted = math.ceil(round(n * m / target, 6))
        if self.high >= HIGH_PERIODS and wanted > g.desired:
            g.set_desired(wanted, f"target tracking cpu {m:.0f}% > {target:g}%")
            return
        if (self.low >= LOW_PERIODS and not self.spec.disable_scale_in and g.warming(now) == 0
                and now - self.last_scale_in >= self.spec.default_cooldown):
            step = max(1, int(SCALE_IN_STEP * g.desired))
            new = max(wanted, g.desired - step, g.min_size)
            if new < g.desired:
                self.last_scale_in = now
                g.set_desired(new, f"target tracking cpu {m:.0f}% < {target:g}% for {self.low} min")

    def _simple(self, now: float, i: int, p: StepPolicy, m: float) -> None:
        hit = m > p.cpu if p.when == "above" else m < p.cpu
        self.breach[i] = self.breach[i] + 1 if hit else 0
        if self.breach[i] < p.evaluation_periods or now < self.cooldown_until:
            return
        g = self.group
        sign = ">" if p.when == "above" else "<"
        changed = g.set_desired(g.desired + p.adjust,
                                f"simple policy cpu {m:.0f}% {sign} {p.cpu:g}% for {self.breach[i]} min")
        if changed:
            self.activity = set(changed)
            self.cooldown_len = p.cooldown if p.cooldown is not None else self.spec.default_cooldown
            self.cooldown_until = math.inf  # starts when the activity completes

    def done(self, inst: Any) -> None:
        """An instance finished launching (in service or failed) or terminating."""
        if inst in self.activity:
            self.activity.discard(inst)
            if not self.activity:
                self.cooldown_until = self.group.engine.now + self.cooldown_len

    # ---- scheduled actions ---------------------------------------------------------
    def scheduled(self, act: ScheduledAction) -> None:
        g = self.group
        lo = g.min_size if act.min is None else act.min
        hi = g.max_size if act.max is None else act.max
        hi = max(hi, lo)
        desired = g.desired if act.desired is None else act.desired
        g.min_size, g.max_size = lo, hi
        parts = [f"{k}={v}" for k, v in (("min", act.min), ("desired", act.desired), ("max", act.max))
                 if v is not None]
        g.set_desired(min(max(desired, lo), hi), "scheduled action " + " ".join(parts), always=True)


# ---- placement, purchase mix and termination --------------------------------------
def balanced_zone(up: list[str], counted: list[Any]) -> str | None:
    """The AZ of ``up`` (in preference order) with the fewest of ``counted``; None if none is up."""
    if not up:
        return None
    counts = dict.fromkeys(up, 0)
    for m in counted:
        if m.zone in counts:
            counts[m.zone] += 1
    return min(up, key=lambda z: counts[z])


def purchase_targets(p: Purchase, desired: int) -> dict[str, int]:
    return p.split(desired)


def next_purchase(counted: list[Any], targets: dict[str, int]) -> str:
    """The purchase option of the next launch: fill spot, then reserved, then on-demand."""
    have = dict.fromkeys(("spot", "reserved", "on_demand"), 0)
    for m in counted:
        have[m.purchase] = have.get(m.purchase, 0) + 1
    if have["spot"] < targets["spot"]:
        return "spot"
    return "reserved" if have["reserved"] < targets["reserved"] else "on_demand"


def termination_victim(pool: list[Any], zones: list[str], targets: dict[str, int], now: float,
                       draw: Callable[[], float]) -> Any:
    """The instance of ``pool`` the default termination policy picks [aws-facts §2]."""
    by_zone: dict[str, list[Any]] = {}
    for m in pool:
        by_zone.setdefault(m.zone, []).append(m)
    most = max(len(v) for v in by_zone.values())
    tied = [z for z in zones if len(by_zone.get(z, [])) == most] or sorted(by_zone)
    cands = by_zone[tied[int(draw() * len(tied))] if len(tied) > 1 else tied[0]]
    have: dict[str, int] = {}
    for m in pool:
        have[m.purchase] = have.get(m.purchase, 0) + 1
    cands = [m for m in cands if have[m.purchase] > targets.get(m.purchase, 0)] or cands
    near = max((now - m.launched_at) % BILLING_HOUR for m in cands)
    cands = [m for m in cands if (now - m.launched_at) % BILLING_HOUR >= near - 1e-9]
    return cands[int(draw() * len(cands))] if len(cands) > 1 else cands[0]
