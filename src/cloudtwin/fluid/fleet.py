"""A fleet (``asg`` or ``ec2``) in the fluid engine: instances as cohorts, one queue per instance.

Instances launched together in one zone form a :class:`Cohort`, with the times they
go in service, start taking traffic, finish warming up, die and stop being routed to.
A round-robin balancer gives each routed instance ``lam / n`` with squared
coefficient of variation of the inter-arrival times ``1 / n`` (every ``n``-th of a
Poisson stream); a random pick (NLB) keeps them Poisson. Each instance is then a
G/G/c station with ``c`` the slots the exact engine gives it (``workers:`` or the
type's vCPUs, :mod:`cloudtwin.services.fleet`).

Timings are the exact engine's, at their means (the exact engine draws phases):
* boot: the mean of ``boot_time``;
* a load balancer's first health check (one success makes an ``initial`` target
  healthy): half an ``interval`` after the instance is in service;
* a dead target leaves the pool when the group's health check terminates it (every
  ``HEALTH_PERIOD``: half of it on average) or after ``unhealthy_threshold`` failed
  checks (``interval * (threshold - 1/2)`` on average), whichever is first
  [aws-facts §1 health-check defaults; §2 health checks];
* target tracking reads the 1-minute CPU of warmed-up instances and uses the exact
  engine's own rules (:mod:`cloudtwin.services.asg_scaling`).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from cloudtwin.engine import make_sampler
from cloudtwin.engine.sampling import _lognormal_sigma
from cloudtwin.services.asg import HEALTH_PERIOD
from cloudtwin.services.asg_scaling import HIGH_PERIODS, LOW_FRACTION, LOW_PERIODS, SCALE_IN_STEP
from cloudtwin.services.elb_health import DEFAULTS
from cloudtwin.sizes import instance_vcpus
from cloudtwin.spec.steps import CpuStep, SleepStep

INF = math.inf
STAGGER = 8  # at most this many groups of a launch take traffic at different times
POINTS = 20_000  # equiprobable draws of a request's own delays (its quantiles come from them)


@dataclass
class Cohort:
    zone: str
    n: int
    purchase: str
    launched: float
    ready: float  # in service (running)
    routed: float  # takes traffic from here on
    warm: float
    dead: float = INF  # stops answering
    unrouted: float = INF  # the balancer stops sending it requests
    gone: float = INF  # terminated (billing ends)


def dist_mean(dist: Any, seed: str) -> float:
    rng = np.random.default_rng(_seed(seed))
    draw = make_sampler(dist, rng)
    return float(np.mean([draw() for _ in range(2000)]))


def dist_var(d: Any, draws: np.ndarray) -> float:
    """The variance of a duration distribution: closed form where there is one, else of ``draws``."""
    p = d.params
    if d.kind == "const":
        return 0.0
    if d.kind == "exp":
        return float(p[0]) ** 2
    if d.kind == "lognormal":
        sigma = _lognormal_sigma(p[0], p[1])
        return float((math.exp(sigma * sigma) - 1.0) * d.mean**2)
    if d.kind == "uniform":
        return float((p[1] - p[0]) ** 2 / 12.0)
    return float(draws.var())


def _seed(text: str) -> int:
    return zlib.crc32(text.encode())


class FluidFleet:
    """One ``asg``/``ec2`` and the balancer in front of it (if any)."""

    def __init__(self, name: str, spec: Any, lb: Any, zones: list[str], seed: int) -> None:
        self.name = name
        self.spec = spec
        self.lb = lb
        self.asg = spec.type == "asg"
        self.c: int = spec.workers or instance_vcpus(spec.instance_type) or 2
        self.backlog = spec.backlog
        rng = np.random.default_rng(_seed(f"{seed}:{name}:service"))
        cpu = np.zeros(POINTS)
        other = np.zeros(POINTS)
        for st in spec.handler:
            if not isinstance(st, (CpuStep, SleepStep)):
                continue  # calls: fluid/calls.py
            draw = make_sampler(st.cpu if isinstance(st, CpuStep) else st.sleep, rng)
            vals = np.array([draw() for _ in range(POINTS)])
            if isinstance(st, CpuStep):
                cpu += vals
            else:
                other += vals
        cpu_d = [st.cpu for st in spec.handler if isinstance(st, CpuStep)]
        self.s = sum(d.mean for d in cpu_d)  # mean service time: what holds a slot (exact, not sampled)
        var = sum(dist_var(d, cpu) for d in cpu_d) if len(cpu_d) == 1 else float(cpu.var())
        self.cs2 = var / self.s**2 if self.s > 0 else 0.0
        self.cpu_steps = sum(1 for st in spec.handler if isinstance(st, CpuStep))
        self.own = cpu + other  # the request's own delays at the fleet
        self.boot = dist_mean(spec.boot_time, f"{seed}:{name}:boot")
        if lb is not None:
            d = DEFAULTS[lb.type]
            hc = lb.health_check
            self.interval = hc.interval if hc.interval is not None else d.interval
            thr = hc.unhealthy_threshold if hc.unhealthy_threshold is not None else d.unhealthy_threshold
            self.lb_detect = self.interval * (thr - 0.5)
            self.first_check = self.interval / 2.0
        else:
            self.interval, self.lb_detect, self.first_check = 0.0, INF, 0.0
        self.zones = list(spec.zones or (zones if self.asg else zones[:1]))
        self.cohorts: list[Cohort] = []
        self.zone_down: set[str] = set()
        self.actions: list[tuple[float, str, Any]] = []  # (time, what, arg), done in time order
        if self.asg:
            cap = spec.capacity
            self.min_size, self.max_size = cap.min, cap.top
            self.desired = cap.start
            sc = spec.scaling
            self.target = sc.target_cpu if sc is not None else None
            self.cooldown = sc.default_cooldown if sc is not None else 300.0
            self.warmup = (sc.warmup if sc is not None and sc.warmup is not None else self.cooldown)
            self.no_scale_in = sc.disable_scale_in if sc is not None else False
            mix = spec.purchase.split(self.desired)
            order = ["spot"] * mix["spot"] + ["reserved"] * mix["reserved"]
            for i in range(self.desired):
                z = self._balanced()
                p = order[i] if i < len(order) else "on_demand"
                self.cohorts.append(Cohort(z or self.zones[0], 1, p, 0.0, 0.0, 0.0, -INF))
        else:
            self.desired = spec.count
            for i in range(spec.count):
                self.cohorts.append(Cohort(self.zones[i % len(self.zones)], 1, spec.purchase, 0.0, 0.0, 0.0, -INF))
        self.high = self.low = 0
        self.last_scale_in = -INF
        self.busy_acc = self.avail_acc = self.warm_busy = self.warm_avail = 0.0
        self.events: list[dict[str, Any]] = []
        self.util_series: list[float] = []
        self.in_service_series: list[float] = []
        self.desired_series: list[float] = []
        self.healthy_min_series: list[float] = []
        self.minute_healthy_min: float = INF
        self.in_service_range = [INF, 0.0]
        self._counts = (0, 0, 0, 0, 0)
        self._from, self._until = INF, -INF

    # ---- counts at time t -----------------------------------------------------------------
    def counts(self, t: float) -> tuple[int, int, int, int, int]:
        """(routed and answering, routed but dead, running, running and warm, routed and warm),
        recomputed only when a cohort changes or one of its times passes."""
        if not self._from <= t < self._until:
            live = dead = running = warm = warm_routed = 0
            for k in self.cohorts:
                if k.routed <= t < k.unrouted:
                    if t < k.dead:
                        live += k.n
                        warm_routed += k.n if k.warm <= t else 0
                    else:
                        dead += k.n
                if k.ready <= t < k.dead:
                    running += k.n
                    warm += k.n if k.warm <= t else 0
            if live == 0 and self.lb is not None:  # no healthy target: fail open to the registered ones
                for k in self.cohorts:  # [aws-facts §1]
                    if k.ready <= t < k.routed and t < k.dead:
                        live += k.n
                        warm_routed += k.n if k.warm <= t else 0
            self._counts = (live, dead, running, warm, warm_routed)
            self._from, self._until = t, self.next_change(t)
        return self._counts

    def routed(self, t: float) -> tuple[int, int]:
        """(routed and answering, routed but dead) instances."""
        c = self.counts(t)
        return c[0], c[1]

    def running(self, t: float) -> int:
        return self.counts(t)[2]

    def _changed(self) -> None:
        self._from, self._until = INF, -INF

    def counted(self) -> list[Cohort]:
        return [k for k in self.cohorts if k.gone == INF]

    def next_change(self, t: float) -> float:
        times = [x for k in self.cohorts for x in (k.ready, k.routed, k.warm, k.dead, k.unrouted, k.gone) if x > t]
        times += [a[0] for a in self.actions if a[0] > t]
        return min(times, default=INF)

    # ---- membership -----------------------------------------------------------------------
    def _balanced(self) -> str | None:
        up = [z for z in self.zones if z not in self.zone_down]
        if not up:
            return None
        counts = dict.fromkeys(up, 0)
        for k in self.counted():
            if k.zone in counts:
                counts[k.zone] += k.n
        best: str = min(up, key=lambda z: counts[z])
        return best

    def launch(self, t: float, n: int, why: str) -> None:
        self._changed()
        placed: dict[str, int] = {}
        up = [z for z in self.zones if z not in self.zone_down]
        counts = dict.fromkeys(up, 0)
        for k in self.counted():
            if k.zone in counts:
                counts[k.zone] += k.n
        for _ in range(n if up else 0):
            z = min(up, key=lambda x: counts[x])  # the AZ with the fewest [aws-facts §2 AZ rebalancing]
            counts[z] += 1
            placed[z] = placed.get(z, 0) + 1
        ready = t + self.boot
        for z, m in placed.items():
            self._add_staggered(z, m, t, ready)
        if placed:
            where = ", ".join(f"{v} in {z}" for z, v in sorted(placed.items()))
            self.events.append({"t": t, "kind": "lifecycle", "detail": f"{self.name}: launching {where} ({why}); "
                                f"in service after {self.boot:.0f} s (mean boot_time)"})

    def _add_staggered(self, zone: str, m: int, t: float, ready: float) -> None:
        """``m`` instances in service at ``ready``: the balancer's first check of each falls at a
        uniform phase of its interval, so they start taking traffic spread over it (the expected
        order statistics, at most ``STAGGER`` groups)."""
        groups = min(m, STAGGER) if self.lb is not None else 1
        base, extra = divmod(m, groups)
        for g in range(groups):
            n = base + (1 if g < extra else 0)
            routed = ready + (self.interval * (g + 0.5) / groups if self.lb is not None else 0.0)
            self.cohorts.append(Cohort(zone, n, "on_demand", t, ready, routed, ready + self.warmup))

    def retire(self, t: float, n: int) -> None:
        """Scale in by ``n``: from the zone with the most instances, newest first."""
        for _ in range(n):
            live = [k for k in self.counted() if k.dead == INF]
            if not live:
                return
            counts: dict[str, int] = {}
            for k in live:
                counts[k.zone] = counts.get(k.zone, 0) + k.n
            z = max(sorted(counts), key=lambda x: counts[x])
            k = [k for k in live if k.zone == z][-1]
            self._split(k, 1, t)

    def _split(self, k: Cohort, n: int, t: float) -> None:
        self._changed()
        if k.n > n:
            k.n -= n
            self.cohorts.append(Cohort(k.zone, n, k.purchase, k.launched, k.ready, k.routed, k.warm, t, t, t))
        else:
            k.dead = min(k.dead, t)
            k.unrouted = min(k.unrouted, t)
            k.gone = min(k.gone, t)

    def zone_outage(self, t: float, zone: str, down: bool) -> None:
        self._changed()
        if down:
            self.zone_down.add(zone)
            detect = t + HEALTH_PERIOD / 2.0 if self.asg else INF
            lost = 0
            for k in self.cohorts:
                if k.zone == zone and k.dead > t:
                    k.dead = t
                    k.unrouted = min(k.unrouted, detect, t + self.lb_detect)
                    k.gone = detect if self.asg else k.gone
                    lost += k.n
            if self.asg and lost:
                self.actions.append((detect, "replace", lost))
        else:
            self.zone_down.discard(zone)
            if self.asg:  # the next health check: launches up to desired, then rebalances
                self.actions.append((t + HEALTH_PERIOD / 2.0, "reconcile", None))
                self.actions.append((t + HEALTH_PERIOD / 2.0, "rebalance", None))
            else:  # the same instances answer again; the balancer needs healthy_threshold checks
                for k in list(self.cohorts):
                    if k.zone == zone and k.dead <= t and k.gone == INF:
                        k.gone = t
                        thr = self.lb.health_check.healthy_threshold if self.lb is not None else None
                        thr = thr if thr is not None else (DEFAULTS[self.lb.type].healthy_threshold
                                                           if self.lb is not None else 1)
                        routed = t + (self.interval * (thr - 0.5) if self.lb is not None else 0.0)
                        self.cohorts.append(Cohort(zone, k.n, k.purchase, t, t, routed, -INF))

    def act(self, t: float) -> None:
        """Run the group's actions that are due."""
        due = [a for a in self.actions if a[0] <= t]
        self.actions = [a for a in self.actions if a[0] > t]
        for _, what, arg in sorted(due, key=lambda a: a[0]):
            if what == "replace":
                n, why = arg if isinstance(arg, tuple) else (arg, "zone impaired")  # tuple: fluid/faults.py
                self.events.append({"t": t, "kind": "lifecycle",
                                    "detail": f"{self.name}: {n} instance(s) unhealthy ({why}): "
                                              "terminating and replacing"})
                self.launch(t, self.desired - sum(k.n for k in self.counted()), "replacing")
            elif what == "reconcile":
                short = self.desired - sum(k.n for k in self.counted())
                if short > 0:
                    self.launch(t, short, "launching up to desired capacity")
            elif what == "rebalance":
                self._rebalance(t)
            elif what == "drop":
                self.retire_zone(t, *arg)

    def _rebalance(self, t: float) -> None:
        up = [z for z in self.zones if z not in self.zone_down]
        if len(up) < 2:
            return
        counts = dict.fromkeys(up, 0)
        for k in self.counted():
            if k.zone in counts:
                counts[k.zone] += k.n
        hi = max(up, key=lambda z: counts[z])
        lo = min(up, key=lambda z: counts[z])
        moves = (counts[hi] - counts[lo]) // 2
        if moves <= 0:
            return
        ready = t + self.boot
        self._changed()
        self.cohorts.append(Cohort(lo, moves, "on_demand", t, ready, ready + self.first_check, ready + self.warmup))
        self.actions.append((ready + self.first_check, "drop", (hi, moves)))
        self.events.append({"t": t, "kind": "lifecycle", "detail": f"{self.name}: AZ rebalance: launching {moves} "
                            f"in {lo} before terminating {moves} in {hi}"})

    def retire_zone(self, t: float, zone: str, n: int) -> None:
        for k in [k for k in self.counted() if k.zone == zone and k.dead == INF][::-1]:
            if n <= 0:
                return
            m = min(n, k.n)
            self._split(k, m, t)
            n -= m

    # ---- the 1-minute metric and target tracking --------------------------------------------
    def accumulate(self, t: float, dt: float, busy_per_inst: float, n_live: int) -> None:
        """``busy_per_inst``: busy slots of each routed instance over ``[t, t+dt)``."""
        _, _, running, warm, warm_routed = self.counts(t)
        self.busy_acc += busy_per_inst * n_live * dt
        self.avail_acc += running * self.c * dt
        self.warm_busy += busy_per_inst * warm_routed * dt
        self.warm_avail += warm * self.c * dt
        self.minute_healthy_min = min(self.minute_healthy_min, n_live)
        self.in_service_range = [min(self.in_service_range[0], running), max(self.in_service_range[1], running)]

    def minute(self, t: float) -> None:
        util = self.busy_acc / self.avail_acc if self.avail_acc > 0 else 0.0
        self.util_series.append(round(util, 4))
        self.in_service_series.append(self.running(t))
        self.healthy_min_series.append(self.minute_healthy_min if self.minute_healthy_min < INF else 0)
        warm = self.warm_busy / self.warm_avail if self.warm_avail > 0 else None
        n_warm = self.counts(t)[3]
        self.busy_acc = self.avail_acc = self.warm_busy = self.warm_avail = 0.0
        self.minute_healthy_min = INF
        if self.asg and self.target is not None and warm is not None:
            self._track(t, warm * 100.0, n_warm)
        self.desired_series.append(self.desired)

    def _track(self, t: float, m: float, n: int) -> None:
        """Target tracking as :class:`cloudtwin.services.asg_scaling.Scaler` does it."""
        target = self.target
        assert target is not None
        self.high = self.high + 1 if m > target else 0
        self.low = self.low + 1 if m < LOW_FRACTION * target else 0
        wanted = math.ceil(round(n * m / target, 6))
        if self.high >= HIGH_PERIODS and wanted > self.desired:
            self._set(t, wanted, f"target tracking cpu {m:.0f}% > {target:g}%")
            return
        warming = sum(k.n for k in self.counted() if k.ready > t or k.warm > t)
        if (self.low >= LOW_PERIODS and not self.no_scale_in and warming == 0
                and t - self.last_scale_in >= self.cooldown):
            new = max(wanted, self.desired - max(1, int(SCALE_IN_STEP * self.desired)), self.min_size)
            if new < self.desired:
                self.last_scale_in = t
                self._set(t, new, f"target tracking cpu {m:.0f}% < {target:g}% for {self.low} min")

    def _set(self, t: float, new: int, why: str) -> None:
        new = min(max(new, self.min_size), self.max_size)
        if new == self.desired:
            return
        self.events.append({"t": t, "kind": "scaling", "detail": f"{self.name} {self.desired} -> {new} ({why})"})
        old, self.desired = self.desired, new
        if new > old:
            self.launch(t, new - sum(k.n for k in self.counted()), "scaling out")
        else:
            self.retire(t, sum(k.n for k in self.counted()) - new)

    # ---- billing -----------------------------------------------------------------------------
    def instance_hours(self, end: float) -> dict[str, float]:
        out: dict[str, float] = {}
        for k in self.cohorts:
            h = k.n * max(min(k.gone, end) - k.launched, 60.0) / 3600.0  # 60 s minimum [aws-facts §3/§19]
            out[k.purchase] = out.get(k.purchase, 0.0) + h
        return out
