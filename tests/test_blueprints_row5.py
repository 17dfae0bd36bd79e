"""Blueprint row 5, "EFS / EBS": EFS (a mount target per AZ) keeps shared files through an
AZ loss; EBS is AZ-bound, so instances in other AZs cannot attach it.

``web-app-efs`` and ``web-app-ebs`` differ only in the ``files`` component. Every call to
it is logged with the calling instance, its zone and the outcome. The detection window
is the time from the outage to the group's deregistration of the dead instances: the
group checks instance health every 10 s, faster than the ALB's 2 failed checks 30 s apart.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import yaml

import cloudtwin
from cloudtwin import Results, Simulation, load_spec
from cloudtwin.errors import SpecError

EFS, EBS = "web-app-efs", "web-app-ebs"


class Logged:
    """A run with every call to ``files`` logged as (time, instance, zone, ok)."""

    def __init__(self, name: str) -> None:
        self.arch = load_spec(name)
        [f] = self.arch.faults
        assert f.action == "az_outage" and f.target == "a" and f.duration is not None
        self.t0, self.t1 = f.at, f.at + f.duration
        sim = Simulation(self.arch)
        files = sim.components["files"]
        orig = files.handle
        self.calls: list[tuple[float, str, str, bool]] = []
        log = self.calls

        def handle(req: Any, op: str, done: Any, arg: Any = None) -> None:
            host = arg[1]

            def reply(r: Any, err: str | None) -> None:
                log.append((sim.engine.now, host.iid, host.zone, err is None))
                done(r, err)

            orig(req, op, reply, arg)

        files.handle = handle  # type: ignore[method-assign]
        self.res: Results = sim.run()

    def minutes(self, lo: int, hi: int | None = None) -> tuple[int, int]:
        s = self.res["series"]["workloads"]["users"]
        return sum(s["requests"][lo:hi]), sum(s["errors"][lo:hi])

    def detected_at(self) -> float:
        """When the last instance of zone a stopped receiving traffic from the ALB."""
        return float(max(e["t"] for e in self.res["timeline"] if e["kind"] == "health"
                         and e.get("state") == "draining" and self.t0 <= e["t"] < self.t1))


@pytest.fixture(scope="module")
def efs() -> Logged:
    return Logged(EFS)


@pytest.fixture(scope="module")
def ebs() -> Logged:
    return Logged(EBS)


def test_two_row_5_blueprints_that_differ_only_in_the_storage() -> None:
    a, b = load_spec(EFS), load_spec(EBS)
    assert a.blueprint is not None and b.blueprint is not None
    assert a.blueprint.section == b.blueprint.section == "EFS / EBS"
    assert b.blueprint.variant_of == EFS
    assert a.components["web"] == b.components["web"] and a.faults == b.faults and a.workloads == b.workloads
    fa: Any = a.components["files"]
    fb: Any = b.components["files"]
    assert fa.type == "efs" and fa.zones == ["a", "b"]
    assert fb.type == "ebs" and fb.zone == "a" and fb.volume_type == "gp3" and not fb.multi_attach
    assert a.components["web"].mounts == ["files"]  # type: ignore[union-attr]


@pytest.mark.python_only
def test_efs_keeps_serving_through_the_az_outage(efs: Logged) -> None:
    lo, hi = int(efs.t0 // 60), int(efs.t1 // 60)
    req, err = efs.minutes(lo, hi)
    assert 1 - err / req >= 0.99  # the whole outage, detection window included (measured 99.4%)
    window = efs.detected_at() - efs.t0
    assert 0 < window <= 10.0
    # zone a's instances had half the traffic until the group deregistered them (100/s)
    assert err == pytest.approx(100 / 2 * window, rel=0.15)
    req_after, err_after = efs.minutes(lo + 1, hi)
    assert req_after > 50_000 and err_after == 0  # after the detection window: 100%
    assert efs.res.workload("users")["availability"] >= 0.995


@pytest.mark.python_only
def test_efs_files_stay_reachable_from_zone_b_through_its_own_mount_target(efs: Logged) -> None:
    during = [c for c in efs.calls if efs.t0 <= c[0] < efs.t1]
    assert len(during) > 100_000 and all(ok for *_, ok in during)
    assert {zone for _, _, zone, _ in during} == {"b"}
    files = efs.res.component("files")
    assert files["errors"] == 0 and files["cross_az"] == 0 and files["mount_targets"] == ["a", "b"]
    w = efs.res.workload("users")
    assert files["writes"] == w["succeeded"] and 0 <= files["reads"] - files["writes"] <= w["in_flight"]
    before = Counter(zone for t, _, zone, ok in efs.calls if t < efs.t0 and ok)
    assert before["a"] == pytest.approx(before["b"], rel=0.05)  # both zones share the same files


@pytest.mark.python_only
def test_ebs_refuses_every_call_from_the_other_az(ebs: Logged) -> None:
    from_b = [ok for _, _, zone, ok in ebs.calls if zone == "b"]
    assert len(from_b) > 50_000 and not any(from_b)  # zone-b instance error rate: 100%
    files = ebs.res.component("files")
    assert files["refused_other_az"] > 50_000
    assert files["refused_other_az"] + files["refused_zone_down"] >= len(from_b)


@pytest.mark.python_only
def test_ebs_attaches_to_one_instance_and_dies_with_its_zone(ebs: Logged) -> None:
    before = [c for c in ebs.calls if c[0] < ebs.t0]
    served = {(iid, zone) for _, iid, zone, ok in before if ok}
    assert len(served) == 1 and next(iter(served))[1] == "a"  # one instance, in the volume's zone
    refused_a = [ok for _, iid, zone, ok in before if zone == "a" and (iid, zone) not in served]
    assert refused_a and not any(refused_a)  # the other zone-a instance: gp3 has no multi-attach
    lo, hi = int(ebs.t0 // 60), int(ebs.t1 // 60)
    req, err = ebs.minutes(0, lo)
    assert 1 - err / req == pytest.approx(0.25, abs=0.02)  # 1 instance of 4 can serve
    req, err = ebs.minutes(lo + 1, hi)
    assert err == req  # zone a down: no instance anywhere can reach the volume
    # Zone a back: the group rebalances into it and a new zone-a instance attaches the volume.
    after = {iid for t, iid, zone, ok in ebs.calls if t > ebs.t1 and ok}
    assert len(after) == 1 and after.isdisjoint(iid for iid, _ in served)
    assert ebs.res.workload("users")["availability"] < 0.2


def ec2_mounting(zone: str) -> str:
    return str(yaml.safe_dump({
        "name": "ebs-other-az",
        "zones": ["a", "b"],
        "components": {
            "app": {"type": "ec2", "zones": [zone], "mounts": ["vol"], "handler": [{"call": "vol.read"}]},
            "vol": {"type": "ebs", "zone": "a"},
        },
        "workloads": {"users": {"entry": "app", "rate": "10/s"}},
    }))


def test_an_instance_cannot_mount_an_ebs_volume_of_another_az() -> None:
    cloudtwin.parse_spec(ec2_mounting("a"))  # same AZ: fine
    with pytest.raises(SpecError) as e:
        cloudtwin.parse_spec(ec2_mounting("b"))
    msg = str(e.value)
    assert "AZ-bound" in msg and "components.app.mounts" in msg
