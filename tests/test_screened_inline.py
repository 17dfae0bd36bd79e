"""A screened instance (network ACL, security groups, the VPC's routing in front of it) serves a
request past its filters as Instance.handle would, written out: the results must be those of
the filters followed by a call of Instance.handle, on a one-cpu-step handler (the fast path,
behind an NLB with an ACL that blocks an attack starting at 5 minutes) and on a handler with a
call (a Run, through a NAT gateway, with an AZ outage at 5 minutes)."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

import cloudtwin
from cloudtwin.guard import back_through
from cloudtwin.services.fleet import ScreenedInstance
from cloudtwin.services.instance import Instance


def _reference(self: ScreenedInstance, req: Any, op: str, done: Any, arg: Any = None) -> None:
    for check, per_instance, back in self.owner.screen_plan:
        err = check(req, self) if per_instance else check(req)
        if err is not None:
            done(req, err)
            return
        if back is not None:
            done = partial(back_through, back, done)
    Instance.handle(self, req, op, done, arg)


def _run(name: str, seconds: float) -> dict[str, Any]:
    data = cloudtwin.Simulation(cloudtwin.load_spec(name), duration=seconds).run().data
    data.pop("wall_s", None)
    return data


@pytest.mark.parametrize(("name", "seconds"), [("ip-block-nacl", 420.0), ("vpc-nat-single", 600.0)])
def test_screened_inline_matches_instance_handle(name: str, seconds: float,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    calls = [0]
    handle = Instance.handle

    def counted(self: Instance, *a: Any, **kw: Any) -> None:
        calls[0] += 1
        handle(self, *a, **kw)

    monkeypatch.setattr(Instance, "handle", counted)
    inline = _run(name, seconds)
    inline_calls = calls[0]
    calls[0] = 0
    monkeypatch.setattr(ScreenedInstance, "handle", _reference)
    ref = _run(name, seconds)
    assert inline == ref
    served = sum(c["requests"] for c in ref["components"].values() if c["type"] in ("ec2", "asg"))
    assert served > 10_000
    assert calls[0] >= served  # the reference: Instance.handle for every request past the filters
    assert inline_calls < calls[0] - 10_000  # inline: only for what it leaves to Instance.handle
