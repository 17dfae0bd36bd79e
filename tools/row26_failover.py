"""Print the failover times and instance bills of the row-26 blueprints over 8 seeds.

    .venv/bin/python tools/row26_failover.py

The failure of each run lands 7.5 s later in the minute than the last (600 + 7.5 x (seed - 1) s),
as in tests/test_blueprints_row26.py; the failover is the failure to the clients' first success.
"""

from __future__ import annotations

import statistics
from typing import Any

import cloudtwin
from cloudtwin.simulation import Simulation
from cloudtwin.workloads import WorkloadRun

state: dict[str, Any] = {}
_orig = WorkloadRun._complete


def _seen(self: WorkloadRun, req: Any, err: str | None) -> None:
    now = self.engine.now
    if err is not None and not req.finished:
        state["fails"] += 1
    elif err is None and state["first"] is None and state["fails"] and now > state["at"]:
        state["first"] = now
    _orig(self, req, err)


def main() -> None:
    WorkloadRun._complete = _seen  # type: ignore[method-assign]
    for name in ("ec2-ha-cloudwatch", "ec2-ha-asg-eip", "ec2-ha-lifecycle"):
        out, bills = [], []
        for seed in range(1, 9):
            arch = cloudtwin.load_spec(name)
            at = 600.0 + 7.5 * (seed - 1)
            arch = arch.model_copy(update={"faults": [arch.faults[0].model_copy(update={"at": at})]})
            state.update(fails=0, first=None, at=at)
            r = Simulation(arch, seed=seed).run()
            out.append(state["first"] - at)
            bills.append(sum(i["usd"] for i in r["cost"]["items"] if i["usage_type"].startswith("BoxUsage")))
        print(f"{name}: failover s {[round(x, 1) for x in out]}; mean {statistics.mean(out):.1f}, "
              f"min {min(out):.1f}, max {max(out):.1f}; instance bill per 30 min ${statistics.mean(bills):.4f}")


if __name__ == "__main__":
    main()
