"""EFS and EBS: EFS keeps serving the other AZ through an AZ loss; EBS is bound to
one AZ and one instance, and its IOPS cap the operation rate."""

from __future__ import annotations

import pytest

import cloudtwin
from cloudtwin.errors import SpecError

EFS = """
name: efs
zones: [a, b]
components:
  web_a: {{type: ec2, zones: [a], workers: 64, handler: [{{call: files.read}}]}}
  web_b: {{type: ec2, zones: [b], workers: 64, handler: [{{call: files.write}}]}}
  files: {{type: efs{mounts}}}
workloads:
  in_a: {{entry: web_a, rate: 100/s}}
  in_b: {{entry: web_b, rate: 100/s}}
faults:
  - {{at: 2m, az_outage: a, duration: 3m}}
simulate: {{duration: 10m, seed: 1}}
"""


def _run(text: str) -> cloudtwin.Results:
    return cloudtwin.Simulation(cloudtwin.parse_spec(text)).run()


def test_efs_with_a_mount_target_per_az_survives_losing_one_az() -> None:
    r = _run(EFS.format(mounts=""))
    # zone b keeps reading and writing the shared files through its own mount target
    assert r.workload("in_b")["availability"] == 1.0
    # zone a's instance is down with its zone: 3 of 10 minutes
    assert r.workload("in_a")["availability"] == pytest.approx(0.7, abs=0.01)
    efs = r.component("files")
    assert efs["cross_az"] == 0 and efs["errors"] == 0
    assert efs["mount_targets"] == ["a", "b"]


def test_efs_with_its_only_mount_target_in_the_lost_az_fails_the_other_az_too() -> None:
    r = _run(EFS.format(mounts=", zones: [a]"))
    b = r.workload("in_b")
    assert b["availability"] == pytest.approx(0.7, abs=0.01)
    assert {kind for kind, n in b["errors"].items() if n} == {"unavailable"}
    efs = r.component("files")
    # zone b mounts across AZs: every one of its successful operations crossed
    assert efs["cross_az"] == b["succeeded"] + b["in_flight"]
    # the data is regional: zone b works again as soon as zone a is back
    assert r["series"]["workloads"]["in_b"]["errors"][5:] == [0] * 5


EBS = """
name: ebs
zones: [a, b]
components:
  web: {{type: ec2, count: {count}, zones: {zones}, workers: 64, handler: [{{call: vol.{op}}}]}}
  vol: {{type: ebs, zone: a{extra}}}
workloads:
  users: {{entry: web, rate: {rate}/s}}
faults: [{faults}]
simulate: {{duration: {duration}, seed: 2}}
"""


def _ebs(count: int = 1, zones: str = "[a]", op: str = "read", extra: str = "", rate: int = 100,
         faults: str = "", duration: str = "2m") -> cloudtwin.Results:
    return _run(EBS.format(count=count, zones=zones, op=op, extra=extra, rate=rate, faults=faults,
                           duration=duration))


def test_ebs_cannot_be_used_from_another_az() -> None:
    r = _ebs(zones="[b]")
    assert r.workload("users")["availability"] == 0.0
    vol = r.component("vol")
    assert vol["refused_other_az"] == r.workload("users")["requests"]
    assert vol["attached"] == []


def test_ebs_serves_one_instance_unless_multi_attach() -> None:
    # two instances in zone a take turns; the second cannot attach the volume
    r = _ebs(count=2, zones="[a, a]")
    assert r.workload("users")["availability"] == pytest.approx(0.5, abs=0.001)
    vol = r.component("vol")
    assert len(vol["attached"]) == 1  # the first caller claimed it
    assert vol["refused_attached"] == r.workload("users")["failed"]
    # io2 multi-attach shares it between both
    shared = _ebs(count=2, zones="[a, a]", extra=", volume_type: io2, iops: 10000, multi_attach: true")
    assert shared.workload("users")["availability"] == 1.0
    assert sorted(shared.component("vol")["attached"]) == ["web-1", "web-2"]


def test_ebs_is_unavailable_during_its_az_outage_and_back_after() -> None:
    r = _ebs(zones="[a]", duration="6m", faults="{at: 2m, az_outage: a, duration: 2m}")
    errs = r["series"]["workloads"]["users"]["errors"]
    assert errs[:2] == [0, 0] and min(errs[2:4]) > 5000 and errs[4:] == [0, 0]
    assert r.workload("users")["availability"] == pytest.approx(4 / 6, abs=0.01)


@pytest.mark.slow
def test_ebs_iops_cap_the_operation_rate() -> None:
    # offered 1,500 ops/s to a 1,000-IOPS gp3 volume for 2 min: operations queue at the volume
    r = _ebs(op="write", extra=", iops: 1000", rate=1500)
    w, vol = r.workload("users"), r.component("vol")
    # one second's worth of tokens at the start, then 1,000 per second
    assert w["succeeded"] == pytest.approx(1000 + 1000 * 120, rel=0.005)
    assert w["in_flight"] == pytest.approx(1500 * 120 - 121_000, rel=0.02)
    assert w["failed"] == 0  # queued, not refused
    # once the first second's tokens are spent the backlog grows by 500 ops/s: an op arriving
    # at t waits about 0.5 t - 1 s, 29 s on average over the 2 min
    assert vol["mean_iops_wait_ms"] / 1000 == pytest.approx(29, rel=0.03)
    # under the cap nothing waits
    calm = _ebs(op="write", extra=", iops: 1000", rate=500).component("vol")
    assert calm["mean_iops_wait_ms"] == 0.0 and calm["queued"] == 0
    assert calm["iops"] == 1000 and _ebs().component("vol")["iops"] == 3000  # gp3 baseline


@pytest.mark.parametrize(("extra", "message"), [
    (", multi_attach: true", "multi_attach needs volume_type io1 or io2"),
    (", iops: 20000", "gp3 allows at most 16,000 IOPS"),
    (", volume_type: io2", "needs provisioned `iops:`"),
    (", volume_type: gp2, iops: 500", "gp2 IOPS follow the size"),
])
def test_bad_ebs_specs_are_spec_errors(extra: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        cloudtwin.parse_spec(f"name: x\ncomponents:\n  vol: {{type: ebs{extra}}}\n")
