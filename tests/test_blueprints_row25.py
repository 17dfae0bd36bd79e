"""DESIGN row 25, "HPC" (blueprint hpc-batch): AWS Batch multi-node jobs on spot with a cluster
placement group and EFA vs without; storage IOPS limits bound the job time.

The job time follows the stated model of docs/spec.md (`batch`): T(n) = T1 (s + (1-s)/n) + c(n)
+ io(n), with c(n) = R (2(n-1) a + 2(n-1)/n M/b) and the fabric's (a, b) assumptions: EFA in a
cluster placement group 15 us at the instance's 100 Gbps; ENA outside one 100 us at one TCP
flow's 5 Gbps. The numbers below are worked out by hand from the blueprint's keys."""

from __future__ import annotations

import math
from typing import Any

import pytest

import cloudtwin
from cloudtwin.blueprints import blueprint_path

NODES, JOBS, STARTUP = 16, 10, 120.0
SPOT_USD = 1.39098  # SpotUsage:c5n.18xlarge us-east-1 (prices.csv, shared/pricing-sources/ec2-linux.csv)
COMPUTE = 16 * 3600 * (0.01 + 0.99 / NODES)  # Amdahl: 4,140 s
IO = 1e12 / (200e6 * 12)  # 1 TB at 200 MB/s/TiB x 12 TiB [aws-facts §17]: 416.7 s
COMM_EFA = 1e6 * (2 * 15 * 15e-6 + 2 * 15 / 16 * 8e6 / 100e9)  # 600 s
COMM_ENA = 1e6 * (2 * 15 * 100e-6 + 2 * 15 / 16 * 8e6 / 5e9)  # 6,000 s
T_EFA, T_ENA = COMPUTE + COMM_EFA + IO, COMPUTE + COMM_ENA + IO


def text(*, efa: bool = True, rate: float | None = None, seed: int = 1, storage: str | None = None,
         io_ops: float = 0) -> str:
    path = blueprint_path("hpc-batch")
    assert path is not None
    t = path.read_text()
    if not efa:
        t = t.replace("placement_group: cluster", "placement_group: none").replace("efa: true", "efa: false")
    if rate is not None:
        t = t.replace("spot_interruptions_per_hour: 0.01", f"spot_interruptions_per_hour: {rate}")
    if storage is not None:
        t = t.replace("      kind: fsx_lustre\n      lustre_deployment: scratch\n      size: 12TiB\n", storage)
    if io_ops:
        t = t.replace("io_bytes: 1TB", f"io_bytes: 1TB\n        io_ops: {io_ops:g}")
    return t.replace("seed: 1", f"seed: {seed}")


def run(t: str) -> tuple[dict[str, Any], dict[str, Any]]:
    arch = cloudtwin.parse_spec(t)
    assert arch.blueprint is not None and arch.blueprint.section == "HPC"
    res = cloudtwin.Simulation(arch).run()
    return res.component("hpc"), res.data["cost"]


def test_job_time_with_and_without_efa_and_a_placement_group() -> None:
    efa, _ = run(text(rate=0))
    ena, _ = run(text(efa=False, rate=0))
    assert efa["jobs"]["cfd"]["phases_s"]["total"] == pytest.approx(T_EFA, abs=1e-3)  # 5,156.7 s
    assert ena["jobs"]["cfd"]["phases_s"]["total"] == pytest.approx(T_ENA, abs=1e-3)  # 10,556.7 s
    assert efa["fabric"] == {"latency_us": 15.0, "bandwidth_gbps": 100.0, "efa": True, "placement_group": "cluster"}
    assert ena["fabric"]["latency_us"] == 100.0 and ena["fabric"]["bandwidth_gbps"] == 5.0
    # ten jobs, four at a time: three waves, each startup + T
    assert efa["jobs"]["cfd"]["makespan_s"] == pytest.approx(3 * (STARTUP + T_EFA), abs=1e-3)  # 15,830 s
    assert ena["jobs"]["cfd"]["makespan_s"] == pytest.approx(3 * (STARTUP + T_ENA), abs=1e-3)  # 32,030 s
    ratio = ena["jobs"]["cfd"]["makespan_s"] / efa["jobs"]["cfd"]["makespan_s"]
    assert ratio == pytest.approx((STARTUP + T_ENA) / (STARTUP + T_EFA)) and 2.0 < ratio < 2.1  # 2.023
    assert efa["succeeded"] == ena["succeeded"] == JOBS and efa["interruptions"] == 0


def test_cost_difference_without_interruptions() -> None:
    _, efa = run(text(rate=0))
    _, ena = run(text(efa=False, rate=0))
    hours_efa = JOBS * NODES * (STARTUP + T_EFA) / 3600  # 234.5 instance-hours
    hours_ena = JOBS * NODES * (STARTUP + T_ENA) / 3600  # 474.5
    assert efa["window_usd"] == pytest.approx(hours_efa * SPOT_USD, rel=1e-5)  # $326.21
    assert ena["window_usd"] == pytest.approx(hours_ena * SPOT_USD, rel=1e-5)  # $660.05
    assert ena["window_usd"] - efa["window_usd"] == pytest.approx(333.84, abs=0.01)


def test_blueprint_run_interruptions_retries_and_cost() -> None:
    efa, efa_cost = run(text())
    ena, ena_cost = run(text(efa=False))
    # seed 1: 2 interruptions and 2 retries with EFA, all 10 jobs succeed; 11 without, one job
    # exhausts its 5 attempts
    assert (efa["interruptions"], efa["retries"], efa["succeeded"]) == (2, 2, 10)
    assert (ena["interruptions"], ena["retries"], ena["succeeded"], ena["failed"]) == (11, 10, 9, 1)
    assert efa["notices"] == efa["interruptions"] and ena["notices"] == ena["interruptions"]
    assert efa_cost["window_usd"] == pytest.approx(375.94, abs=0.01)
    assert ena_cost["window_usd"] == pytest.approx(945.57, abs=0.01)


def test_interruptions_match_the_poisson_rate_and_grow_with_job_time() -> None:
    counts: dict[bool, float] = {}
    for efa in (True, False):
        total = exposure = 0.0
        for seed in range(1, 21):
            out, _ = run(text(efa=efa, seed=seed))
            total += out["interruptions"]
            exposure += out["spot_exposure_hours"]
            # an interrupted attempt of a job with attempts left is retried (evaluate_on_exit "Host EC2*")
            assert out["retries"] + out["failed"] == out["interruptions"]
        expected = 0.01 * exposure
        assert abs(total - expected) < 3 * math.sqrt(expected)
        counts[efa] = total
    # the slower ENA job holds 16 spot nodes twice as long: about twice the interruptions per job
    assert counts[False] > 1.6 * counts[True]


@pytest.mark.parametrize(("storage", "io"), [
    ("      kind: gp3\n      size: 1TB\n", 2e9 / NODES / 3000),  # 41,667 s: IOPS-bound
    ("      kind: io2\n      iops: 256000\n      size: 1TB\n",
     max(2e9 / NODES / 256_000, 1e12 / NODES / (4000 * 2**20))),  # 488 s
    ("      kind: fsx_lustre\n      lustre_deployment: scratch\n      size: 12TiB\n", IO),
])
def test_storage_bounds_the_job_time(storage: str, io: float) -> None:
    out, _ = run(text(rate=0, storage=storage, io_ops=2e9))
    ph = out["jobs"]["cfd"]["phases_s"]
    assert ph["io"] == pytest.approx(io, abs=1e-3)
    if storage.strip().startswith("kind: gp3"):
        assert ph["io"] > 8 * (ph["compute"] + ph["comm"])  # gp3's 3,000 IOPS dominate the job
        assert out["succeeded"] == 4  # one wave of 4 jobs finished in 24 h
    else:
        assert ph["io"] < 0.11 * ph["total"]
        assert out["succeeded"] == JOBS


def test_the_ena_variant_blueprint_is_hpc_batch_without_efa_and_placement_group() -> None:
    arch = cloudtwin.load_spec("hpc-batch-ena")
    assert arch.blueprint is not None and arch.blueprint.variant_of == "hpc-batch"
    res = cloudtwin.Simulation(arch).run()
    ena, cost = res.component("hpc"), res.data["cost"]
    assert ena["fabric"]["latency_us"] == 100.0 and ena["fabric"]["bandwidth_gbps"] == 5.0
    assert ena["jobs"]["cfd"]["phases_s"]["total"] == pytest.approx(T_ENA, abs=1e-3)
    same, same_cost = run(text(efa=False))
    assert ena == same and cost["window_usd"] == same_cost["window_usd"] == pytest.approx(945.57, abs=0.01)
