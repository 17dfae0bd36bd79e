"""CPU credits of burstable performance instances (T2, T3, T3a, T4g): earned, spent, surplus.

What is modelled (AWS EC2 user guide, "Burstable performance instances" and its "Key concepts",
"Standard mode concepts" and "Unlimited mode concepts" pages; not in aws-facts, so each figure
is cited in ``data/burstable_types.csv`` or called an assumption in docs/spec.md):

* **A credit** is one vCPU at 100 % for one minute (CloudWatch ``CPUCreditUsage``: "one vCPU
  running at 100% utilization for one minute or an equivalent combination"). Each minute an
  instance spends the vCPU-minutes its worker slots were busy, and earns its type's
  ``credits_per_hour`` / 60 (``vcpus`` x ``baseline`` x 1), pro rata for a part minute in service.
* **The balance** (``CPUCreditBalance``) accrues what is earned and not spent, up to
  ``max_credits``, 24 hours of earnings; more is discarded. It starts at ``initial_cpu_credits``
  (default 0: T3/T3a/T4g get no launch credits). **T2 standard** instances also get 30 launch
  credits per vCPU, spent first and not counted against the maximum ("Launch credits").
* **Standard mode**: once the balance is spent the instance is held to its baseline. Modelled as
  the CPU slowing down: from the end of the minute the balance reached 0, every CPU time drawn
  is stretched by ``1 / speed``, where ``speed`` = ``vcpus`` x ``baseline`` / slots (the
  baseline per vCPU when the slots are the vCPUs), so the instance does at most the work its
  earnings pay for, queues grow and latency shows it. It runs at full speed again from the end
  of a minute that left at least a minute's earnings in the balance. AWS lowers the CPU gradually as the balance
  nears 0 and meters at millisecond resolution; here the change is a step at a minute's end,
  and work drawn before a change keeps the speed it was drawn at (stated simplifications).
* **Unlimited mode** (the T3/T3a/T4g default): with the balance spent the instance keeps
  running at full speed, spending *surplus* credits (``CPUSurplusCreditBalance``) that later
  earnings pay down first. Surplus above what the instance can earn in 24 hours
  (``max_credits``) is charged at once (AWS: at the end of the hour); what is still owed when
  an instance ends, or when the run ends (taken as the instance's end: a simplification, AWS
  would let later idle time pay it down), is charged too. The charge is per vCPU-hour
  (60 credits), usage type ``CPUCredits:<family>`` (Linux: $0.05 for T2/T3, prices.csv).

CloudWatch's CPUUtilization of a held instance is its work, not its wall-clock busy time, so
the fleet's ``utilization`` series reads the baseline while it is held.

Left out: the 7-day persistence of a stopped T3's balance (a stopped and started instance is a
new instance here, with a new ledger), the account's limit of 100 T2 launch-credit launches a
day, the 5-minute resolution of CloudWatch's credit metrics (series here are per minute), and
switching mode while running.
"""

from __future__ import annotations

from typing import Any, Final

from cloudtwin.sizes import CreditType, credit_type

__all__ = ["FleetCredits", "for_fleet", "scaled"]

CREDIT_S: Final = 60.0  # vCPU-seconds in one CPU credit (one vCPU at 100 % for one minute)
EPS: Final = 1e-9


def scaled(sampler: Any, speed: float) -> Any:
    """``sampler`` (a draw of CPU seconds, or None) with its draws stretched for ``speed`` < 1."""
    if sampler is None or speed == 1.0:
        return sampler

    def slowed() -> float:
        s: float = sampler() / speed
        return s

    return slowed


class Ledger:
    """One instance's credits: earned balance, launch credits, surplus, and what was charged."""

    __slots__ = ("balance", "launch", "surplus", "charged")

    def __init__(self, ct: CreditType, initial: float) -> None:
        self.balance = min(initial, ct.max_credits)
        self.launch = ct.launch
        self.surplus = 0.0
        self.charged = 0.0

    def close(self, ct: CreditType, spent: float, earned: float) -> None:
        """Apply one minute: ``spent`` and ``earned`` credits."""
        from_launch = min(self.launch, spent)  # launch credits go first (T2 standard)
        self.launch -= from_launch
        net = earned - (spent - from_launch)
        if net >= 0.0:
            pay = min(self.surplus, net)  # earnings pay down the surplus first
            self.surplus -= pay
            self.balance = min(ct.max_credits, self.balance + net - pay)
            return
        need = -net
        take = min(self.balance, need)
        self.balance -= take
        need -= take
        if need > 0.0 and ct.mode == "unlimited":
            self.surplus += need
            if self.surplus > ct.max_credits:  # beyond 24 h of earnings: charged at once
                self.charged += self.surplus - ct.max_credits
                self.surplus = ct.max_credits
        # standard: the minute's overrun past 0 is the step approximation of AWS's gradual hold

    @property
    def level(self) -> float:
        return self.balance + self.launch


class FleetCredits:
    """The ledgers of a fleet's instances, the credit series and the surplus bill."""

    def __init__(self, fleet: Any, ct: CreditType) -> None:
        self.fleet = fleet
        self.ct = ct
        self.initial = float(fleet.spec.initial_cpu_credits or 0.0)
        self.held_speed = min(1.0, ct.vcpus * ct.baseline / fleet.slots)
        self.ledgers: dict[str, Ledger] = {}
        self.balance_series: list[float] = []
        self.usage_series: list[float] = []
        self.surplus_series: list[float] = []
        self.exhausted_at: float | None = None
        self.held_minutes = 0
        self._minute: list[tuple[float, float, float]] = []

    def account(self, inst: Any, busy_s: float, up_s: float, now: float) -> float:
        """Close a minute of ``inst``: ``busy_s`` slot-seconds busy in ``up_s`` seconds in service.
        Returns the work done (busy time at the minute's speed), for CPUUtilization."""
        ct = self.ct
        led = self.ledgers.get(inst.iid)
        if led is None:
            led = self.ledgers[inst.iid] = Ledger(ct, self.initial)
        work = busy_s * inst.speed
        spent = work / CREDIT_S
        earned = ct.per_hour * up_s / 3600.0
        led.close(ct, spent, earned)
        short = led.level <= EPS and spent > earned + EPS
        if short and self.exhausted_at is None:
            self.exhausted_at = now
        if inst.speed != 1.0:
            self.held_minutes += 1
        if ct.mode == "standard":
            if led.level <= EPS:
                self._set_speed(inst, self.held_speed)
            elif led.level >= ct.per_hour / 60.0:  # a minute's earnings banked: full speed again
                self._set_speed(inst, 1.0)
        self._minute.append((led.level, spent, led.surplus))
        return float(work)

    def _set_speed(self, inst: Any, speed: float) -> None:
        if inst.speed != speed:
            inst.speed = speed
            inst.fast = scaled(self.fleet.fast, speed)
            self.fleet.ctx.event("cpu_credits", f"{inst.iid} " + (
                f"has spent its CPU credits: held to its baseline ({speed:.0%} speed)" if speed < 1.0
                else "has CPU credits again: full speed"))

    def close_minute(self) -> None:
        """The fleet's credit series for the minute: the mean over the instances accounted."""
        rows = self._minute
        n = len(rows)
        self.balance_series.append(round(sum(r[0] for r in rows) / n, 4) if n else 0.0)
        self.usage_series.append(round(sum(r[1] for r in rows) / n, 4) if n else 0.0)
        self.surplus_series.append(round(sum(r[2] for r in rows) / n, 4) if n else 0.0)
        self._minute = []

    def series(self) -> dict[str, list[float]]:
        return {"CPUCreditBalance": list(self.balance_series), "CPUCreditUsage": list(self.usage_series),
                "CPUSurplusCreditBalance": list(self.surplus_series)}

    def charged_credits(self) -> float:
        """Surplus credits billed: charged above the 24 h maximum, plus what is owed at the end."""
        return sum(led.charged + led.surplus for led in self.ledgers.values())

    def stats(self) -> dict[str, Any]:
        ct = self.ct
        bal = self.balance_series
        return {"credit_specification": ct.mode, "baseline_per_vcpu": ct.baseline,
                "credits_per_hour": ct.per_hour, "max_credits": ct.max_credits,
                "balance_min": min(bal) if bal else None, "balance_end": bal[-1] if bal else None,
                "exhausted_at_s": self.exhausted_at, "held_instance_minutes": self.held_minutes,
                "surplus_credits_charged": round(self.charged_credits(), 6)}

    def usage(self) -> dict[str, float]:
        """``CPUCredits:<family>`` in vCPU-hours (60 credits each), when any surplus is billed."""
        c = self.charged_credits()
        return {f"CPUCredits:{self.ct.family}": c / 60.0} if c > EPS else {}


def for_fleet(fleet: Any) -> FleetCredits | None:
    """The credit model of ``fleet``, or None when its instance type is not burstable."""
    ct = credit_type(fleet.spec.instance_type, fleet.spec.credit_specification)
    return None if ct is None else FleetCredits(fleet, ct)
