"""Snapshots, automated backups and the data_loss fault on small specs: the documented
timings (5-minute log uploads, DLM intervals), retention, a loss with nothing to restore,
a snapshot still copying when its store is lost, and located spec errors."""

from __future__ import annotations

import math

import pytest

import cloudtwin
from cloudtwin import SpecError, parse_spec
from cloudtwin.units import GIB

EBS = """
name: b
components:
  app: {type: ec2, mounts: [vol], handler: [{call: vol.write}]}
  vol: {type: ebs, size_gb: 10, SNAP}
workloads:
  u: {entry: app, rate: 5/s, arrivals: constant}
faults: FAULTS
simulate: {duration: DUR}
"""

RDS = """
name: d
components:
  app: {type: ec2, handler: [{call: db.write}]}
  db: {type: rds, engine: mysql, storage_gb: 20, BACKUP}
workloads:
  u: {entry: app, rate: 20/s}
faults: FAULTS
simulate: {duration: DUR}
"""


def run(text: str, **subs: str) -> cloudtwin.Results:
    for k, v in subs.items():
        text = text.replace(k, v)
    return cloudtwin.Simulation(parse_spec(text)).run()


def blocks_gb(writes: int, size_gb: float = 10.0) -> float:
    n = int(size_gb * GIB // (512 * 1024))
    return n * (1 - (1 - 1 / n) ** writes) * 512 * 1024 / GIB


@pytest.mark.parametrize("at", [430.0, 599.0, 720.0])
def test_point_in_time_restore_goes_back_to_the_last_5_minute_log_upload(at: float) -> None:
    r = run(RDS, BACKUP="backup_retention: 1", FAULTS=f"[{{at: {at:g}s, data_loss: db}}]", DUR="20m")
    [lo] = r.component("db")["backups"]["losses"]
    assert lo["restore_from"] == "point_in_time"
    assert lo["point_t"] == 300.0 * math.floor(at / 300.0)  # logs uploaded every 5 min (RDS user guide)
    assert lo["rpo_s"] == pytest.approx(at % 300.0) and lo["rpo_s"] < 300.0
    # 20/s for rpo_s seconds, within 5 standard deviations
    assert abs(lo["writes_lost"] - 20 * lo["rpo_s"]) <= 5 * math.sqrt(20 * lo["rpo_s"]) + 1


def test_without_backups_or_snapshots_a_lost_database_stays_down_and_loses_every_write() -> None:
    r = run(RDS, BACKUP="backup_retention: 0", FAULTS="[{at: 5m, data_loss: db}]", DUR="10m")
    db = r.component("db")
    [lo] = db["backups"]["losses"]
    assert lo["restore_from"] is None and lo["rto_s"] is None and lo["restored_at"] is None
    assert lo["writes_lost"] == db["writes"] and lo["rpo_s"] == 300.0
    assert r.workload("u")["failed"] == db["errors"] > 0.8 * 20 * 300  # down for the last 5 minutes
    assert db["backups"]["latest_recoverable_t"] is None


def test_manual_snapshots_restore_a_database_without_automated_backups() -> None:
    r = run(RDS, BACKUP="backup_retention: 0, snapshots: {every: 1h}", FAULTS="[{at: 90m, data_loss: db}]",
            DUR="2h")
    [lo] = r.component("db")["backups"]["losses"]
    assert lo["restore_from"] == "snapshot" and lo["point_t"] == 3600.0 and lo["rpo_s"] == 1800.0
    assert lo["restore_s"] == pytest.approx(600.0 + 6.0 * 20)  # 10 min + 6 s per GB of the 20 GB (assumption)


def test_retention_keeps_the_newest_snapshots_and_frees_the_replaced_blocks() -> None:
    r = run(EBS, SNAP="snapshots: {every: 1h, retain: 2}", FAULTS="[]", DUR="5h")
    b = r.component("vol")["backups"]
    assert b["snapshots_taken"] == 5 and b["snapshots_retained"] == 2  # 3 h and 4 h; 5 h still copying
    # the oldest kept holds the full data, the newest its changed blocks: 5 writes/s for an hour
    assert b["snapshot_gb"] == pytest.approx(10.0 + blocks_gb(5 * 3600), rel=1e-3)
    assert b["latest_recoverable_t"] == 4 * 3600.0


def test_a_snapshot_still_copying_when_the_volume_is_lost_fails() -> None:
    # the 1 h snapshot copies ~8.6 GB of changed blocks at 100 MiB/s (~90 s): lost 10 s in
    r = run(EBS, SNAP="snapshots: {every: 1h}", FAULTS="[{at: 3610s, data_loss: vol}]", DUR="70m")
    b = r.component("vol")["backups"]
    assert b["snapshots_failed"] == 1
    [lo] = b["losses"]
    assert lo["point_t"] == 0.0 and lo["rpo_s"] == 3610.0
    assert lo["writes_lost"] == pytest.approx(5 * 3610, abs=2)
    assert lo["rto_s"] == 180.0 + 60.0


def test_a_volume_without_snapshots_is_gone_for_good() -> None:
    r = run(EBS, SNAP="encrypted: false", FAULTS="[{at: 10m, data_loss: vol}]", DUR="15m")
    vol = r.component("vol")
    [lo] = vol["backups"]["losses"]
    assert lo["restore_from"] is None and lo["writes_lost"] == vol["writes"]
    assert vol["refused_lost"] == r.workload("u")["failed"] == pytest.approx(5 * 300, abs=2)
    assert not any(i["usage_type"] == "EBS:SnapshotUsage" for i in r["cost"]["items"])


def test_a_run_with_a_loss_is_deterministic() -> None:
    text = EBS.replace("SNAP", "snapshots: {every: 1h}").replace("FAULTS", "[{at: 90m, data_loss: vol}]")
    text = text.replace("DUR", "2h")
    a = cloudtwin.Simulation(parse_spec(text)).run().deterministic_json()
    assert a == cloudtwin.Simulation(parse_spec(text)).run().deterministic_json()


@pytest.mark.parametrize(("text", "needle", "line"), [
    (EBS.replace("SNAP", "snapshots: {every: 5h}"), "every 1, 2, 3, 4, 6, 8, 12 or 24 h", 5),
    (EBS.replace("SNAP", "snapshots: {every: 30m}"), "greater than or equal to 3600", 5),
    (EBS.replace("SNAP", "recovery: {data_gb: 20}"), "more than the volume's size_gb", 5),
    (RDS.replace("BACKUP", "snapshots: {every: 1h, fast_restore: true}"), "EBS feature", 5),
    (EBS.replace("SNAP", "snapshots: {evry: 1h}"), "evry", 5),
])
def test_bad_backup_settings_are_located_spec_errors(text: str, needle: str, line: int) -> None:
    text = text.replace("FAULTS", "[]").replace("DUR", "1h")
    with pytest.raises(SpecError) as info:
        parse_spec(text, file="s.yaml")
    (i,) = info.value.issues
    assert needle in i.message and i.file == "s.yaml" and i.line == line, str(i)


def test_data_loss_needs_a_data_store() -> None:
    text = EBS.replace("SNAP", "iops: 3000").replace("FAULTS", "[{at: 1m, data_loss: app}]").replace("DUR", "5m")
    with pytest.raises(SpecError) as info:
        parse_spec(text, file="s.yaml")
    (i,) = info.value.issues
    assert i.path.startswith("faults.0.data_loss") or "faults" in str(i)
    assert "ebs" in i.message and "rds" in i.message


def test_requests_in_flight_when_a_busy_database_is_lost_fail_and_are_counted() -> None:
    """Writes of 30 ms on 2 vCPUs at 60/s (90 % busy) keep work queued and in service when the
    data is lost: it all fails `unavailable`, and every request is accounted for, also while the
    store is still being restored at the end of the run."""
    text = RDS.replace("BACKUP", "instance_class: db.m5.large, write: 30ms")
    text = text.replace("rate: 20/s", "rate: 60/s")
    short = run(text, FAULTS="[{at: 5m, data_loss: db}]", DUR="10m")
    [lo] = short.component("db")["backups"]["losses"]
    assert lo["rto_s"] is None and lo["failed_requests"] == pytest.approx(60 * 300, rel=0.05)
    r = run(text, FAULTS="[{at: 5m, data_loss: db}]", DUR="25m")
    w, db = r.workload("u"), r.component("db")
    [lo] = db["backups"]["losses"]
    assert w["requests"] == w["succeeded"] + w["failed"] + w["in_flight"]
    assert w["failed"] == db["errors"] == w["errors"]["unavailable"]
    in_flight = db["errors"] - lo["failed_requests"]
    assert 1 <= in_flight <= 10  # the queue and the two slots at the moment of the loss
    assert lo["failed_requests"] == pytest.approx(60 * lo["rto_s"], rel=0.1)


def test_no_snapshot_runs_while_the_volume_s_zone_is_down() -> None:
    r = run(EBS, SNAP="snapshots: {every: 1h}",
            FAULTS="[{at: 50m, az_outage: a, duration: 20m}, {at: 80m, data_loss: vol}]", DUR="90m")
    b = r.component("vol")["backups"]
    assert b["snapshots_skipped"] == 1 and b["snapshots_taken"] == 0  # the 1 h one fell in the outage
    [lo] = b["losses"]
    assert lo["point_t"] == 0.0 and lo["rpo_s"] == 80 * 60.0


def test_the_latest_restorable_time_lags_while_the_db_instance_is_down() -> None:
    """Automated backups need the instance available (RDS user guide): a Single-AZ instance
    down with its zone from 6 to 16 min uploads no logs at 10 and 15 min, so a loss at 15.5 min
    goes back to the 5 min upload; only the writes of the minute before the outage are lost."""
    r = run(RDS, BACKUP="backup_retention: 1",
            FAULTS="[{at: 6m, az_outage: a, duration: 10m}, {at: 930s, data_loss: db}]", DUR="20m")
    [lo] = r.component("db")["backups"]["losses"]
    assert lo["point_t"] == 300.0 and lo["rpo_s"] == 630.0 > 300.0
    assert abs(lo["writes_lost"] - 20 * 60) <= 5 * math.sqrt(20 * 60)


def test_rds_backup_storage_is_billed_beyond_the_free_amount_equal_to_the_db_storage() -> None:
    # automated backups of 10 GB of data and a few MB of logs fit in the free 20 GB
    free = run(RDS, BACKUP="recovery: {data_gb: 10}", FAULTS="[]", DUR="1h")
    assert not [i for i in free["cost"]["items"] if i["usage_type"] == "RDS:ChargedBackupUsage"]
    assert free.component("db")["backups"]["log_uploads"] == 12
    # manual snapshots beside them: a second full copy (20 GB) and the changed blocks go beyond it
    r = run(RDS, BACKUP="snapshots: {every: 1h}", FAULTS="[]", DUR="3h")
    b = r.component("db")["backups"]
    [item] = [i for i in r["cost"]["items"] if i["usage_type"] == "RDS:ChargedBackupUsage"]
    assert item["unit_usd"] == 0.095
    months = 3.0 / 730.0
    # at least the manual chain's full copy all along, at most everything held at the end
    assert 20.0 * months < item["quantity"] < (b["snapshot_gb"] + b["automated_gb"] + b["log_gb"] - 20.0) * months
    from cloudtwin.pricing.meters import traffic_billed

    arch = parse_spec(RDS.replace("BACKUP", "snapshots: {every: 1h}").replace("FAULTS", "[]").replace("DUR", "1h"))
    assert traffic_billed(arch.components["db"]) == ["RDS:ChargedBackupUsage"]  # `cloudtwin cost`: usage-based


def test_a_write_bigger_than_a_snapshot_block_changes_as_many_blocks_as_it_spans() -> None:
    text = EBS.replace("{call: vol.write}", "{call: vol.write, size: 2MiB}")  # 4 blocks of 512 KiB
    r = run(text, SNAP="snapshots: {every: 1h}", FAULTS="[]", DUR="65m")
    b = r.component("vol")["backups"]
    assert b["snapshot_gb"] == pytest.approx(10.0 + blocks_gb(4 * 5 * 3600), rel=1e-3)
