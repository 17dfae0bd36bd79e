"""The ``batch`` component: documented figures, the stated run-time model, retryStrategy
semantics, spot interruptions, conservation and located spec errors."""

from __future__ import annotations

import math
from typing import Any

import pytest

import cloudtwin
from cloudtwin.services import batch_time
from cloudtwin.services.batch import retry_action
from cloudtwin.spec import batch as spec
from cloudtwin.units import MIB

BASE = """\
name: b
components:
  hpc:
    type: batch
    compute_environment: {{instance_type: c5n.18xlarge, purchase: {purchase}, max_vcpus: {max_vcpus},
                          startup: 0s, spot_interruptions_per_hour: {rate}}}
    storage: {{kind: gp3}}
    jobs:
{jobs}
simulate: {{duration: {duration}, seed: {seed}}}
"""


def run(jobs: str, *, purchase: str = "on_demand", rate: float = 0.0, max_vcpus: int = 1152,
        duration: str = "24h", seed: int = 1) -> dict[str, Any]:
    text = BASE.format(jobs=jobs, purchase=purchase, rate=rate, max_vcpus=max_vcpus, duration=duration, seed=seed)
    return cloudtwin.Simulation(cloudtwin.parse_spec(text)).run().component("hpc")  # type: ignore[no-any-return]


# ---- documented figures, each against its source --------------------------------------------
def test_ebs_limits_match_aws_facts() -> None:
    assert spec.IO2_BE_IOPS == 256_000 and spec.IO2_BE_MIBPS == 4_000  # aws-facts §3 io2 Block Express
    assert spec.IO2_IOPS == 64_000 and spec.IO2_MIBPS == 1_000  # aws-facts §3 io2 non-Block-Express
    assert spec.GP3_IOPS == (3_000, 16_000)  # EC2 API EbsBlockDevice.iops (gp3 3,000-16,000; default 3,000)
    assert spec.GP3_MIBPS == (125, 1_000)  # EC2 API EbsBlockDevice.throughput (125-1000 MiB/s); aws-facts §3


def test_lustre_and_efs_figures_match_aws_facts() -> None:
    assert spec.LUSTRE_BASELINE_MBPS_PER_TIB == 200 and spec.LUSTRE_BURST == 6  # aws-facts §17 scratch
    assert spec.EFS_GP_READ_IOPS == 35_000  # aws-facts §17 EFS performance (General Purpose)
    assert spec.MAX_ATTEMPTS == 10 and spec.MAX_EXIT_RULES == 5  # Batch API RetryStrategy
    assert spec.MAX_ARRAY == 10_000  # Batch API arrayProperties.size


def storage(**kw: Any) -> spec.BatchStorage:
    return spec.BatchStorage(**kw)


def test_storage_bounds() -> None:
    iops, bps, shared = batch_time.storage_limits(storage(kind="gp3"))
    assert (iops, bps / MIB, shared) == (3000, 125, False)
    iops, bps, _ = batch_time.storage_limits(storage(kind="io2", iops=256_000))
    assert (iops, bps / MIB) == (256_000, 4_000)
    iops, bps, _ = batch_time.storage_limits(storage(kind="io2", iops=64_000, block_express=False))
    assert (iops, bps / MIB) == (64_000, 1_000)
    # FSx for Lustre: 200 MB/s per TiB x 12 TiB = 2.4 GB/s (decimal MB, as AWS quotes it)
    iops, bps, shared = batch_time.storage_limits(storage(kind="fsx_lustre", size=12 * 1024**4))
    assert iops is None and shared and bps == pytest.approx(2.4e9)
    assert batch_time.lustre_burst_bps(storage(kind="fsx_lustre", size=1024**4)) == pytest.approx(1.2e9)
    iops, bps, shared = batch_time.storage_limits(storage(kind="efs", efs_mode="provisioned", throughput_mibps=512))
    assert (iops, bps / MIB, shared) == (35_000, 512, True)


@pytest.mark.parametrize(("kw", "msg"), [
    ({"kind": "io2", "iops": 256_001}, "less than or equal to 256000"),
    ({"kind": "io2", "iops": 64_001, "block_express": False}, "at most 64,000 IOPS"),
    ({"kind": "io2"}, "needs provisioned `iops:`"),
    ({"kind": "gp3", "iops": 16_001}, "gp3 IOPS are 3,000 to 16,000"),
    ({"kind": "gp3", "throughput_mibps": 1001}, "gp3 throughput is 125 to 1,000"),
    ({"kind": "fsx_lustre", "per_unit_throughput": 100}, "scratch file system's baseline is 200"),
    ({"kind": "fsx_lustre", "lustre_deployment": "persistent", "per_unit_throughput": 300}, "one of"),
    ({"kind": "efs", "efs_mode": "provisioned"}, "needs `throughput_mibps:`"),
])
def test_storage_limits_are_enforced(kw: dict[str, Any], msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        storage(**kw)


# ---- the stated model -------------------------------------------------------------------------
def job(**kw: Any) -> spec.BatchJob:
    return spec.BatchJob(**{"name": "j", **kw})


def ce(**kw: Any) -> spec.BatchComputeEnvironment:
    return spec.BatchComputeEnvironment(**kw)


def test_amdahl_and_ring_allreduce() -> None:
    j = job(kind="multinode", size=16, compute=16 * 3600, serial_fraction=0.01, exchanges=1_000_000,
            exchange_size=1e6)
    efa = batch_time.phases(j, ce(efa=True, placement_group="cluster"), storage())
    assert efa.compute == pytest.approx(16 * 3600 * (0.01 + 0.99 / 16))  # 4,140 s
    # 1e6 x (2 x 15 x 15 us + 2 x 15/16 x 8e6 bit / 100 Gbps) = 450 s + 150 s
    assert efa.comm == pytest.approx(600.0)
    ena = batch_time.phases(j, ce(efa=False, placement_group="none"), storage())
    # 1e6 x (30 x 100 us + 1.875 x 8e6 / 5 Gbps) = 3,000 s + 3,000 s
    assert ena.comm == pytest.approx(6000.0)
    ena_pg = batch_time.phases(j, ce(efa=False, placement_group="cluster"), storage())
    assert ena_pg.comm == pytest.approx(1e6 * (30 * 50e-6 + 1.875 * 8e6 / 10e9))
    # a single node does not communicate; the override keys replace the fabric
    assert batch_time.phases(job(exchanges=10, exchange_size=1e6), ce(), storage()).comm == 0
    assert batch_time.fabric(ce(latency=0.001, bandwidth_gbps=1)) == (0.001, 1e9)


def test_io_phase_is_bounded_by_iops_or_throughput() -> None:
    j = job(kind="multinode", size=16, io_ops=2e9, io_bytes=1e12)
    gp3 = batch_time.phases(j, ce(), storage(kind="gp3"))
    assert gp3.io == pytest.approx(2e9 / 16 / 3000)  # IOPS-bound: 41,667 s per node's volume
    io2 = batch_time.phases(j, ce(), storage(kind="io2", iops=256_000))
    assert io2.io == pytest.approx(max(2e9 / 16 / 256_000, 1e12 / 16 / (4000 * MIB)))
    lustre = batch_time.phases(job(kind="multinode", size=16, io_bytes=1e12), ce(),
                               storage(kind="fsx_lustre", size=12 * 1024**4))
    assert lustre.io == pytest.approx(1e12 / 2.4e9)
    # a shared file system is capped by the nodes' network: one 10 Gbps m5.large node
    one = batch_time.phases(job(io_bytes=1e12), ce(instance_type="m5.large", max_vcpus=2),
                            storage(kind="efs", efs_mode="provisioned", throughput_mibps=10_000))
    assert one.io == pytest.approx(1e12 / (10e9 / 8))


# ---- retryStrategy ------------------------------------------------------------------------------
def test_retry_action_follows_evaluate_on_exit() -> None:
    rules = {"attempts": 3, "evaluate_on_exit": [{"on_reason": "Host EC2*", "action": "retry"},
                                                 {"on_reason": "*", "action": "exit"}]}
    j = job(retry=rules)
    assert retry_action(j, "Host EC2 (instance i-0abc) terminated.") == "retry"
    assert retry_action(j, "Essential container in task exited") == "exit"
    # no rule matches: retried (Batch API RetryStrategy)
    assert retry_action(job(retry={"attempts": 2, "evaluate_on_exit": [{"on_reason": "AGENT", "action": "exit"}]}),
                        "Essential container in task exited") == "retry"
    assert retry_action(job(), "anything") == "retry"
    with pytest.raises(ValueError):
        job(retry={"attempts": 11})
    with pytest.raises(ValueError):
        job(retry={"attempts": 2, "evaluate_on_exit": [{"action": "exit"}] * 6})


def test_application_errors_exit_but_spot_reclaims_are_retried() -> None:
    jobs = """\
      - {name: app, compute: 1h, count: 200, error_rate: 0.5,
         retry: {attempts: 3, evaluate_on_exit: [{on_reason: "Host EC2*", action: retry},
                                                 {on_reason: "*", action: exit}]}}"""
    out = run(jobs, max_vcpus=72 * 200)["jobs"]["app"]
    assert out["retries"] == 0 and out["attempts"] == 200  # an application error exits at once
    assert out["failed"] == out["app_errors"] and 70 < out["failed"] < 130  # binomial(200, 0.5)
    plain = run(jobs.replace(""", evaluate_on_exit: [{on_reason: "Host EC2*", action: retry},
                                                 {on_reason: "*", action: exit}]""", ""),
                max_vcpus=72 * 200)["jobs"]["app"]
    # without rules every failure is retried: a job fails only if all 3 attempts fail (1/8)
    assert plain["failed"] < 45 and plain["retries"] > 100
    assert plain["attempts"] == 200 + plain["retries"]


def test_attempts_one_means_a_spot_reclaim_fails_the_job() -> None:
    jobs = "      - {name: s, compute: 10h, count: 50}"
    out = run(jobs, purchase="spot", rate=0.2, max_vcpus=72 * 50)
    j = out["jobs"]["s"]
    assert j["retries"] == 0 and j["failed"] == j["interruptions"]
    assert j["failed"] / 50 == pytest.approx(1 - math.exp(-2), abs=0.15)  # 10 h x 0.2/h: P = 1 - e^-2 = 0.86


# ---- spot interruptions and multi-node jobs -----------------------------------------------------
def test_interruptions_follow_the_poisson_rate_per_instance_hour() -> None:
    jobs = """\
      - {name: mpi, kind: multinode, size: 4, compute: 8h, count: 10, retry: {attempts: 10}}"""
    total = exposure = 0.0
    for seed in range(1, 11):
        out = run(jobs, purchase="spot", rate=0.05, max_vcpus=72 * 40, duration="48h", seed=seed)
        total += out["interruptions"]
        exposure += out["spot_exposure_hours"]
        assert out["notices"] == out["interruptions"]  # each with its 2-minute notice [aws-facts §3]
    expected = 0.05 * exposure
    assert abs(total - expected) < 3 * math.sqrt(expected)
    # an interruption of any node fails the attempt: 4 nodes x 2 h x 0.05/h = 0.4 per attempt
    assert total / 100 > 0.25


def test_multinode_job_waits_for_all_its_nodes() -> None:
    jobs = """\
      - {name: big, kind: multinode, size: 4, compute: 4h}
      - {name: small, compute: 1h, at: 1s}"""
    out = run(jobs, max_vcpus=72 * 4)
    # the small job waits for the 4-node job to free the environment: 1 h of compute on 4 nodes
    assert out["jobs"]["small"]["runnable_s_mean"] == pytest.approx(3600 - 1)
    assert out["jobs"]["big"]["phases_s"]["total"] == pytest.approx(3600)


def test_array_children_are_single_node_jobs() -> None:
    out = run("      - {name: sweep, kind: array, size: 100, compute: 30m}", max_vcpus=72 * 10)
    j = out["jobs"]["sweep"]
    assert j["submitted"] == j["succeeded"] == 100 and j["nodes"] == 1
    assert j["makespan_s"] == pytest.approx(10 * 1800)  # ten waves of ten
    assert out["instance_hours"]["on_demand"] == pytest.approx(50)


def test_every_job_is_accounted_for_at_the_end() -> None:
    jobs = """\
      - {name: a, kind: multinode, size: 2, compute: 5h, count: 6, every: 30m, retry: {attempts: 2}}
      - {name: b, kind: array, size: 20, compute: 3h, error_rate: 0.2}"""
    out = run(jobs, purchase="spot", rate=0.1, max_vcpus=72 * 6, duration="6h")
    for j in out["jobs"].values():
        states = sum(j[s] for s in ("succeeded", "failed", "runnable", "starting", "running"))
        assert states == j["submitted"]
    assert out["running"] + out["runnable"] > 0  # the window ends with work left, counted
    again = run(jobs, purchase="spot", rate=0.1, max_vcpus=72 * 6, duration="6h")
    assert again == out  # same spec and seed: identical


def test_capacity_errors_keep_the_job_runnable_without_using_attempts() -> None:
    text = BASE.format(jobs="      - {name: c, kind: multinode, size: 2, compute: 1h, count: 20}",
                       purchase="on_demand", rate=0, max_vcpus=72 * 40, duration="24h", seed=3)
    text = text.replace("startup: 0s,", "startup: 0s, placement_group: cluster, capacity_error_rate: 0.5,")
    out = cloudtwin.Simulation(cloudtwin.parse_spec(text)).run().component("hpc")["jobs"]["c"]
    assert out["succeeded"] == 20 and out["attempts"] == 20 and out["capacity_errors"] > 5
    assert out["runnable_s_mean"] > 60


def test_bad_specs_are_located() -> None:
    text = BASE.format(jobs="      - {name: x, kind: multinode, size: 17, compute: 1h}", purchase="on_demand",
                       rate=0, max_vcpus=1152, duration="1h", seed=1)
    with pytest.raises(cloudtwin.SpecError, match=r"hpc.*more than max_vcpus 1152.*RUNNABLE forever"):
        cloudtwin.parse_spec(text)
    with pytest.raises(cloudtwin.SpecError, match="does not support EFA"):
        cloudtwin.parse_spec(BASE.format(jobs="      - {name: x}", purchase="on_demand", rate=0, max_vcpus=1152,
                                         duration="1h", seed=1).replace("c5n.18xlarge", "c5.18xlarge, efa: true"))
    with pytest.raises(cloudtwin.SpecError, match="is for a spot compute environment"):
        cloudtwin.parse_spec(BASE.format(jobs="      - {name: x}", purchase="on_demand", rate=0, max_vcpus=1152,
                                         duration="1h", seed=1).replace(
            "purchase: on_demand", "purchase: on_demand, allocation_strategy: SPOT_CAPACITY_OPTIMIZED"))
    with pytest.raises(cloudtwin.SpecError, match="array job has size 2 or more"):
        cloudtwin.parse_spec(BASE.format(jobs="      - {name: x, kind: array}", purchase="on_demand", rate=0,
                                         max_vcpus=1152, duration="1h", seed=1))


def test_min_vcpus_keeps_warm_instances_that_skip_startup_and_bill_all_run() -> None:
    text = BASE.format(jobs="      - {name: w, compute: 1h, count: 3, every: 2h}", purchase="on_demand", rate=0,
                       max_vcpus=144, duration="10h", seed=1)
    cold = cloudtwin.Simulation(cloudtwin.parse_spec(text.replace("startup: 0s", "startup: 10m"))).run()
    warm = cloudtwin.Simulation(cloudtwin.parse_spec(
        text.replace("startup: 0s", "startup: 10m, min_vcpus: 72"))).run()
    # cold: each job launches its instance, 10 min + 1 h billed; the third ends at 4 h + 70 min
    assert cold.component("hpc")["instance_hours"]["on_demand"] == pytest.approx(3 * (1 + 10 / 60))
    assert cold.component("hpc")["jobs"]["w"]["makespan_s"] == pytest.approx(4 * 3600 + 4200)
    # warm: one c5n.18xlarge (72 vCPUs) runs all 10 h and the jobs start at once on it
    assert warm.component("hpc")["instance_hours"]["on_demand"] == pytest.approx(10)
    assert warm.component("hpc")["jobs"]["w"]["makespan_s"] == pytest.approx(4 * 3600 + 3600)
