"""DESIGN row 6, "Quick Launch (snapshots)": after a data-store loss, RPO = the time since the
last recoverable point (bounded by the snapshot interval, or by the 5-minute log upload
interval with RDS point-in-time restore) and the writes made since it are lost; RTO =
detection + restore. Shorter snapshot intervals lose less but store more snapshot data.

Every write that reaches a store is logged with its time by a spy, so the writes lost are
counted independently of the model's own counters."""

from __future__ import annotations

import math
from typing import Any

import pytest

import cloudtwin
from cloudtwin.services.backups import Backups
from cloudtwin.simulation import Simulation
from cloudtwin.units import GIB, HOURS_PER_MONTH, MIB

EBS_LOSS, DB_LOSS = 330 * 60.0, 412 * 60.0
DETECTION = 180.0
DATA_GB = 60.0
BLOCKS = int(100 * GIB // (512 * 1024))  # the 100 GB volume's 512 KiB snapshot blocks
RATE = 10.0


def run(every_h: float | None = 4, fast_restore: bool = False) -> tuple[cloudtwin.Results, dict[str, list[float]]]:
    """The blueprint (or the volume's schedule changed), with the time of every write per store."""
    arch = cloudtwin.load_spec("snapshot-restore")
    assert arch.blueprint is not None and arch.blueprint.section == "Quick Launch (snapshots)"
    if every_h != 4 or fast_restore:
        d = arch.to_dict()
        d["components"]["files"]["snapshots"] = {"every": every_h * 3600.0, "fast_restore": fast_restore}
        arch = cloudtwin.from_dict(d)
    log: dict[str, list[float]] = {"files": [], "db": []}
    orig = Backups.wrote

    def spy(self: Backups, size: float | None = None) -> None:
        log[self.comp.name].append(self.engine.now)
        orig(self, size)

    Backups.wrote = spy  # type: ignore[method-assign]
    try:
        return Simulation(arch).run(), log
    finally:
        Backups.wrote = orig  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def base() -> tuple[cloudtwin.Results, dict[str, list[float]]]:
    return run()


@pytest.fixture(scope="module")
def by_interval() -> dict[float, tuple[cloudtwin.Results, dict[str, list[float]]]]:
    return {1: run(1), 24: run(24)}


def loss(r: cloudtwin.Results, name: str) -> dict[str, Any]:
    [one] = r.component(name)["backups"]["losses"]
    return one  # type: ignore[no-any-return]


def changed_gb(writes: int) -> float:
    return BLOCKS * (1 - (1 - 1 / BLOCKS) ** writes) * 512 * 1024 / GIB


@pytest.mark.python_only
def test_ebs_rpo_is_the_time_since_the_last_snapshot_and_its_writes_are_lost(base: Any) -> None:
    r, log = base
    lo = loss(r, "files")
    assert lo["at"] == EBS_LOSS and lo["restore_from"] == "snapshot"
    assert lo["point_t"] == 4 * 3600.0  # the newest snapshot before 5h30m started at 4 h
    assert lo["rpo_s"] == EBS_LOSS - 4 * 3600.0 == 5400.0 <= 4 * 3600.0
    lost = sum(4 * 3600.0 <= t < EBS_LOSS for t in log["files"])
    assert lo["writes_lost"] == lost
    assert abs(lost - RATE * lo["rpo_s"]) < 5 * math.sqrt(RATE * lo["rpo_s"])  # ~10 writes/s
    assert lo["bytes_lost"] == lost * 16384  # the call step's size: 16 KiB


def test_ebs_rto_is_detection_plus_restore_and_requests_fail_meanwhile(base: Any) -> None:
    r, log = base
    lo = loss(r, "files")
    assert lo["detection_s"] == DETECTION and lo["restore_s"] == 60.0  # a new volume in 1 min (assumption)
    assert lo["rto_s"] == DETECTION + 60.0 == lo["restored_at"] - lo["at"]
    files = r.component("files")
    assert lo["failed_requests"] == files["refused_lost"] == files["errors"]
    assert abs(lo["failed_requests"] - RATE * lo["rto_s"]) < 5 * math.sqrt(RATE * lo["rto_s"])
    # no write reached the volume while it was lost
    assert not [t for t in log["files"] if lo["at"] <= t < lo["restored_at"]]
    # every failed request failed at a lost store (the database's failures include the few in flight)
    db = r.component("db")
    assert r.workload("users")["failed"] == files["errors"] + db["errors"]
    assert 0 <= db["errors"] - loss(r, "db")["failed_requests"] <= 5


def test_a_restored_volume_is_lazily_loaded_unless_fast_restore(base: Any) -> None:
    r, _ = base
    b = r.component("files")["backups"]
    data_blocks = int(DATA_GB * GIB // (512 * 1024))
    assert b["slow_first_reads"] > 0
    assert b["slow_first_reads"] + b["blocks_not_loaded"] == data_blocks
    # the median request (one volume write, one database write) slows after the restore and
    # recovers as the blocks it touches are loaded: ~10 ms before, ~30 ms just after
    p50 = r["series"]["workloads"]["users"]["p50_ms"]
    back = math.ceil(loss(r, "files")["restored_at"] / 60.0)
    before, after, late = (sorted(p50[i:i + 10])[5] for i in (320, back, 470))
    assert after > before + 15.0 and before < late < after
    fast, _ = run(4, fast_restore=True)
    fb = fast.component("files")["backups"]
    assert fb["slow_first_reads"] == 0 and fb["blocks_not_loaded"] == 0
    assert fast.component("files")["latency_ms"]["p99"] < r.component("files")["latency_ms"]["p99"]
    assert any(i["usage_type"] == "EBS:FastSnapshotRestore" for i in fast["cost"]["items"])


@pytest.mark.python_only
def test_rds_point_in_time_restore_loses_at_most_the_5_minute_log_interval(base: Any) -> None:
    r, log = base
    lo = loss(r, "db")
    assert lo["restore_from"] == "point_in_time"
    assert lo["point_t"] == 300.0 * math.floor(DB_LOSS / 300.0)  # the last log upload
    assert 0 < lo["rpo_s"] <= 300.0
    lost = sum(lo["point_t"] <= t < DB_LOSS for t in log["db"])
    assert lo["writes_lost"] == lost and lo["bytes_lost"] == lost * 4096  # recovery.write_size: 4 KiB
    # RTO = detection + 10 min + 6 s per GB read back: the data and the logs since the daily snapshot
    replay_gb = sum(t < lo["point_t"] for t in log["db"]) * 4096 / GIB
    assert lo["restore_s"] == pytest.approx(600.0 + 6.0 * (DATA_GB + replay_gb), abs=1e-5)
    assert lo["rto_s"] == pytest.approx(DETECTION + lo["restore_s"], abs=1e-5)
    assert r.component("db")["backups"]["log_uploads"] == int(8 * 3600 / 300) - math.ceil(lo["rto_s"] / 300)


@pytest.mark.python_only
def test_snapshot_storage_is_the_full_copy_plus_the_changed_blocks(base: Any) -> None:
    r, log = base
    b = r.component("files")["backups"]
    incr = changed_gb(sum(t < 4 * 3600.0 for t in log["files"]))
    assert b["snapshots_taken"] == 2 and b["snapshots_retained"] == 2  # at 4 h and 8 h (still copying)
    assert b["snapshot_gb"] == pytest.approx(DATA_GB + incr, rel=1e-6)
    done = 4 * 3600.0 + incr * GIB / (100 * MIB)  # copied at 100 MiB/s (assumption)
    gb_months = (DATA_GB * 8 * 3600.0 + incr * (8 * 3600.0 - done)) / 3600.0 / HOURS_PER_MONTH
    [item] = [i for i in r["cost"]["items"] if i["usage_type"] == "EBS:SnapshotUsage"]
    assert item["quantity"] == pytest.approx(gb_months, rel=1e-4)
    assert item["usd"] == pytest.approx(gb_months * 0.05, rel=1e-3)


@pytest.mark.python_only
def test_shorter_intervals_lose_less_and_store_more(base: Any, by_interval: Any) -> None:
    runs = {1: by_interval[1], 4: base, 24: by_interval[24]}
    rpo = {h: loss(r, "files")["rpo_s"] for h, (r, _) in runs.items()}
    # the newest snapshot before 5h30m: 5 h, 4 h, and with 24 h only the one the run starts after
    assert rpo == {1: 1800.0, 4: 5400.0, 24: EBS_LOSS}
    assert all(rpo[h] <= h * 3600.0 for h in rpo)
    lost = {h: loss(r, "files")["writes_lost"] for h, (r, _) in runs.items()}
    for h, (_, log) in runs.items():
        assert lost[h] == sum(EBS_LOSS - rpo[h] <= t < EBS_LOSS for t in log["files"])
    assert lost[1] < lost[4] < lost[24]
    taken = {h: r.component("files")["backups"]["snapshots_taken"] for h, (r, _) in runs.items()}
    assert taken == {1: 8, 4: 2, 24: 0}

    def storage(r: cloudtwin.Results) -> float:
        return sum(i["usd"] for i in r["cost"]["items"] if i["usage_type"] == "EBS:SnapshotUsage")

    cost = {h: storage(r) for h, (r, _) in runs.items()}
    assert cost[1] > cost[4] > cost[24] > 0
    # RTO does not depend on the interval: detection + the volume's restore
    assert {loss(r, "files")["rto_s"] for r, _ in runs.values()} == {DETECTION + 60.0}
