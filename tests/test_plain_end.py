"""A workload without sessions registers with its entry (Component.plain_end), and the component
that answers it last counts a success itself as WorkloadRun._complete would: the results must be
those of a run where nothing registers (every completion through WorkloadRun._complete)."""

from __future__ import annotations

from typing import Any

import pytest

import cloudtwin
from cloudtwin.component import Component
from cloudtwin.services.beanstalk import Beanstalk
from cloudtwin.services.elb import LoadBalancer
from cloudtwin.services.route53 import Route53
from cloudtwin.workloads import WorkloadRun


def _run(name: str, seconds: float) -> dict[str, Any]:
    data = cloudtwin.Simulation(cloudtwin.load_spec(name), duration=seconds).run().data
    data.pop("wall_s", None)
    return data


# beanstalk-ha: its rolling deployment at 10 minutes (no request fails); simple-web-app: its AZ
# outage at 10 minutes (requests in service fail); simple-web-app-single-az: the same outage
# leaves the LB no target (Route 53 counts those failures)
@pytest.mark.parametrize(("name", "seconds", "fails"), [("beanstalk-ha", 720.0, False),
                                                        ("simple-web-app", 780.0, True),
                                                        ("simple-web-app-single-az", 780.0, True)])
@pytest.mark.python_only
def test_plain_end_matches_complete(name: str, seconds: float, fails: bool,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    completed = [0]
    complete = WorkloadRun._complete

    def counted(self: WorkloadRun, *a: Any, **kw: Any) -> None:
        completed[0] += 1
        complete(self, *a, **kw)

    monkeypatch.setattr(WorkloadRun, "_complete", counted)
    inline = _run(name, seconds)
    inline_completed = completed[0]
    completed[0] = 0
    for cls in (Beanstalk, LoadBalancer, Route53):
        monkeypatch.setattr(cls, "plain_end", Component.plain_end)  # nothing registers
    ref = _run(name, seconds)
    assert inline == ref
    done = sum(w["succeeded"] + w["failed"] for w in ref["workloads"].values())
    assert completed[0] == done
    assert (ref["workloads"]["users"]["failed"] > 0) is fails  # failures go through _complete
    assert inline_completed < done - 10_000  # the successes were counted by the component
    if name == "simple-web-app-single-az":  # and Route 53 counted the failures with no target
        assert ref["components"]["lb"]["no_target_errors"] > 30_000
        assert inline_completed < ref["workloads"]["users"]["failed"] - 30_000
