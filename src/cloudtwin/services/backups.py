"""Backups of one data store and its recovery after a loss: snapshots, point-in-time
restore, and the RPO and RTO each loss measures.

Used by :mod:`cloudtwin.services.ebs` (a DLM snapshot policy) and
:mod:`cloudtwin.services.rds` (automated backups and scheduled manual DB snapshots).

What is modelled
----------------
* Snapshots are point-in-time and incremental: the first holds the store's data, each
  later one only the blocks changed since the one before, and all are kept in S3
  (EBS user guide; RDS "Introduction to backups": "The first snapshot of a DB instance
  contains the data for the full database. Subsequent snapshots are incremental"; not in
  aws-facts). The run starts just after a full snapshot of ``recovery.data_gb``
  (assumption: the schedule ran before the run). Snapshot k starts at k x ``every``
  (DLM starts it within an hour of its time; the model at the start of that hour) and is
  recoverable once it has copied its changed blocks at 100 MiB/s (assumption). A
  snapshot still copying when the store is lost fails (assumption). No snapshot or log
  upload runs while the store is lost or down (its zone, or the DB instance, unavailable):
  "Your DB instance must be in the available state for automated backups to occur" (RDS
  user guide); the same for an EBS volume is an assumption.
* Changed blocks: each write lands on a uniformly random 512 KiB snapshot block of the
  store (the block size of the EBS direct APIs; uniform placement is an assumption; a
  write of more than 512 KiB on as many random blocks as it spans), so W block writes
  over N blocks change N (1 - (1 - 1/N)^W) blocks, their expected number.
  Retention keeps the newest ``retain`` snapshots; deleting the oldest frees the blocks
  its successor replaced (the successor's increment).
* RDS automated backups (``backup_retention`` >= 1): a daily snapshot (at multiples of
  24 h from the start, assumption for the backup window) plus the transaction logs
  uploaded every ``log_upload_every`` (5 min, RDS user guide). The latest restorable
  time is the last upload, so a point-in-time restore loses at most one interval.
* A ``data_loss`` fault: the store's data is gone and it answers ``unavailable``. After
  ``recovery.detection`` the restore starts from the latest recoverable point (the
  newest completed snapshot, or the latest restorable time). It takes ``restore`` +
  ``restore_per_gb`` x GB read back (the data, plus for a point-in-time restore the logs
  since the daily snapshot). An RDS restore makes a new DB instance with a new endpoint
  (RDS user guide); the model assumes the application is pointed at it when it is ready.
  An EBS volume restored from a snapshot is usable at once but lazily loaded: the first
  access to each block not yet loaded takes an extra ``first_read`` draw ("increased I/O
  latency" until initialized, EBS user guide); with ``fast_restore`` it is fully
  initialized at creation. Background initialization is left out, so only access loads.
* Per loss: RPO = loss time - the recovered point's time, with the writes accepted after
  that point and their bytes (a call's ``size:`` when the handler gives one, else
  ``recovery.write_size``), which are lost; RTO = detection
  + restore. Requests refused meanwhile are counted. With no recoverable point the data
  is all lost and the store stays down (RTO: none).
* Bill: EBS snapshot storage (``EBS:SnapshotUsage``) in GB-months of the retained
  snapshots; RDS backup storage beyond the free amount equal to the DB's storage
  (``RDS:ChargedBackupUsage``), counting automated snapshots, uploaded logs and manual
  snapshots; fast snapshot restore in hours (``EBS:FastSnapshotRestore``, one snapshot
  in one zone, assumption).

Left out: the Archive tier, cross-Region copies, snapshot deletion by age, background
volume initialization and its provisioned rate, lazy loading of a restored RDS instance,
and the expiry of automated backups past their retention (runs are shorter).
"""

from __future__ import annotations

import math
from typing import Any, Final

from cloudtwin.component import Component
from cloudtwin.engine import make_sampler
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.units import GIB, MIB

BLOCK: Final = 512 * 1024  # bytes per snapshot block (EBS direct APIs; not in aws-facts)
COPY_RATE: Final = 100.0 * MIB  # assumption: a snapshot copies its changed blocks at 100 MiB/s
DAY: Final = 86_400.0
# (restore s, restore s per GB) by store kind, assumptions: an EBS volume from a snapshot is
# usable about a minute after it is asked for (then lazily loaded); an RDS restore builds an
# instance (10 min) and reads its data back at 6 s per GB
RESTORE = {"ebs": (60.0, 0.0), "rds": (600.0, 6.0)}
UP: Final = "up"
LOST: Final = "lost"
RESTORING: Final = "restoring"


class Snap:
    """A point in the store's history: its time, the writes and bytes written before it, and
    (for a snapshot) the GB it stores."""

    __slots__ = ("t", "writes", "bytes", "gb")

    def __init__(self, t: float, writes: int, nbytes: float, gb: float) -> None:
        self.t, self.writes, self.bytes, self.gb = t, writes, nbytes, gb


class Backups:
    """The backups of one store, its recoverable points and its losses."""
    # what an instance sets, as slots: past 29 attributes in its __dict__ every access slows
    # (tests/test_attribute_layout.py); the base's __dict__ takes the rest
    __slots__ = ('comp', 'kind', 'tracked', 'engine', 'size_gb', 'data_gb', 'blocks', 'data_blocks',
                 'write_size', 'detection', 'restore_base', 'restore_per_gb', 'schedule', 'fast_restore',
                 'pitr_every', 'state', 'epoch', 'writes', 'bytes', 'chain', 'chain_gb', 'touches',
                 'chain_touches', 'daily_touches', 'taken', 'failed', 'skipped', 'daily', 'auto_gb', 'log_gb',
                 'log_point', 'uploads', 'gb_s', 'last_t', 'losses', 'refused', 'unloaded', 'slow_ops',
                 'first_read', 'pick')

    def __init__(self, comp: Component, kind: str, size_gb: float, pitr_every: float | None) -> None:
        spec = comp.spec
        rec = spec.recovery
        self.comp = comp
        self.kind = kind
        faults = comp.ctx.arch.faults
        # reported and billed when configured or lost; an untouched RDS's automated backups are
        # assumed to fit in the free backup storage (its size), so they bill nothing
        self.tracked = (spec.snapshots is not None or "recovery" in spec.model_fields_set
                        or any(f.action == "data_loss" and f.target == comp.name for f in faults))
        self.engine = comp.engine
        self.size_gb = size_gb
        self.data_gb = rec.data_gb if rec.data_gb is not None else size_gb
        self.blocks = max(1, int(size_gb * GIB // BLOCK))
        self.data_blocks = max(1, int(self.data_gb * GIB // BLOCK))
        self.write_size = rec.write_size
        self.detection = rec.detection
        base, per_gb = RESTORE[kind]
        self.restore_base = rec.restore if rec.restore is not None else base
        self.restore_per_gb = rec.restore_per_gb if rec.restore_per_gb is not None else per_gb
        self.schedule = spec.snapshots
        self.fast_restore = bool(self.schedule is not None and self.schedule.fast_restore)
        self.pitr_every = pitr_every
        self.state = UP
        self.epoch = 0
        self.writes = 0
        self.bytes = 0.0
        # the snapshot chain (EBS DLM snapshots, RDS manual snapshots): the newest `retain` completed
        self.chain: list[Snap] = [Snap(0.0, 0, 0.0, self.data_gb)] if self.schedule is not None else []
        self.chain_gb = self.data_gb if self.schedule is not None else 0.0
        self.touches = 0  # block writes: a write of more than one 512 KiB block writes several
        self.chain_touches = 0  # block writes when the newest snapshot started (its changes start there)
        self.daily_touches = 0  # and when the newest daily automated snapshot did
        self.taken = self.failed = self.skipped = 0
        # RDS automated backups: the daily snapshot chain, the logs and the latest restorable point
        self.daily = Snap(0.0, 0, 0.0, self.data_gb) if pitr_every is not None else None
        self.auto_gb = self.data_gb if pitr_every is not None else 0.0
        self.log_gb = 0.0
        self.log_point: Snap | None = Snap(0.0, 0, 0.0, 0.0) if pitr_every is not None else None
        self.uploads = 0
        self.gb_s = 0.0  # billed storage x seconds so far
        self.last_t = 0.0
        self.losses: list[dict[str, Any]] = []
        self.refused = 0
        self.unloaded = 0  # blocks of a restored volume not yet loaded
        self.slow_ops = 0
        self.first_read = make_sampler(rec.first_read, comp.ctx.stream(f"{comp.name}.first_read"))
        self.pick = uniform_sampler(comp.ctx.stream(f"{comp.name}.hydration"))

    # ---- schedule -----------------------------------------------------------
    def start(self) -> None:
        if not self.tracked:
            return
        if self.schedule is not None:
            self.engine.after(self.schedule.every, self._take)
        if self.pitr_every is not None:
            self.engine.after(self.pitr_every, self._upload)
            self.engine.after(DAY, self._daily)

    @property
    def available(self) -> bool:
        return self.state == UP

    def changed_gb(self, touches: int) -> float:
        """GB of the blocks ``touches`` uniformly placed block writes change (their expected number)."""
        if touches <= 0:
            return 0.0
        n = self.blocks
        frac = -math.expm1(touches * math.log1p(-1.0 / n)) if n > 1 else 1.0
        return n * frac * BLOCK / GIB

    def wrote(self, size: float | None = None) -> None:
        """One write accepted: ``size`` bytes (the call's ``size:``), else ``recovery.write_size``."""
        n = self.write_size if size is None else size
        self.writes += 1
        self.bytes += n
        self.touches += max(1, math.ceil(n / BLOCK))

    def _ready(self) -> bool:
        """Backups run only while the store is available: not lost, and its instance or zone up."""
        return self.state == UP and self.comp.backup_ready()  # type: ignore[attr-defined]

    def _take(self, _: object = None) -> None:
        assert self.schedule is not None
        self.engine.after(self.schedule.every, self._take)
        if not self._ready():
            self.skipped += 1  # nothing to snapshot while the store is lost or down
            return
        now = self.engine.now
        snap = Snap(now, self.writes, self.bytes, self.changed_gb(self.touches - self.chain_touches))
        self.chain_touches = self.touches
        self.taken += 1
        self.engine.after(snap.gb * GIB / COPY_RATE, self._completed, (snap, self.epoch))

    def _completed(self, job: tuple[Snap, int]) -> None:
        snap, epoch = job
        if epoch != self.epoch:
            self.failed += 1  # the store was lost while this snapshot copied
            return
        assert self.schedule is not None
        self._account()
        self.chain.append(snap)
        self.chain_gb += snap.gb
        if len(self.chain) > self.schedule.retain:
            self.chain.pop(0)
            self.chain_gb -= self.chain[0].gb  # the new oldest now holds the blocks it replaced
            self.chain[0].gb = 0.0
        self.comp.ctx.event("lifecycle", f"{self.comp.name}: snapshot of t={snap.t:.0f}s completed "
                                         f"({snap.gb:.2f} GB changed)")

    def _upload(self, _: object = None) -> None:
        assert self.pitr_every is not None
        self.engine.after(self.pitr_every, self._upload)
        if not self._ready() or self.log_point is None:
            return
        self._account()
        self.log_gb += (self.bytes - self.log_point.bytes) / GIB
        self.log_point = Snap(self.engine.now, self.writes, self.bytes, 0.0)
        self.uploads += 1

    def _daily(self, _: object = None) -> None:
        self.engine.after(DAY, self._daily)
        if not self._ready() or self.daily is None:
            return
        self._account()
        gb = self.changed_gb(self.touches - self.daily_touches)
        self.daily_touches = self.touches
        self.auto_gb += gb
        self.daily = Snap(self.engine.now, self.writes, self.bytes, gb)

    # ---- loss and restore ---------------------------------------------------
    def _latest(self) -> tuple[Snap, str] | None:
        best: tuple[Snap, str] | None = None
        if self.log_point is not None:
            best = (self.log_point, "point_in_time")
        if self.chain and (best is None or self.chain[-1].t > best[0].t):
            best = (self.chain[-1], "snapshot")
        return best

    def lose(self) -> list[str]:
        name = self.comp.name
        if self.state != UP:
            return [f"{name}: already {self.state}"]
        now = self.engine.now
        self.state = LOST
        self.epoch += 1
        latest = self._latest()
        point, how = latest if latest is not None else (Snap(0.0, 0, 0.0, 0.0), None)
        lost = self.writes - point.writes
        rec: dict[str, Any] = {
            "at": round(now, 6), "restore_from": how, "point_t": round(point.t, 6),
            "rpo_s": round(now - point.t, 6), "writes_lost": lost, "bytes_lost": self.bytes - point.bytes,
            "detection_s": None, "restore_s": None, "rto_s": None, "restored_at": None, "failed_requests": 0,
        }
        self.losses.append(rec)
        if latest is None:
            return [f"{name}: data lost; no snapshot or backup to restore from, it stays down"]
        self.engine.after(self.detection, self._detected, (rec, point, self.epoch))
        return [f"{name}: data lost; the latest recoverable point is t={point.t:.0f}s ({how}), "
                f"{lost} writes after it are lost"]

    def _detected(self, job: tuple[dict[str, Any], Snap, int]) -> None:
        rec, point, epoch = job
        if epoch != self.epoch:
            return
        replay_gb = 0.0
        if rec["restore_from"] == "point_in_time" and self.daily is not None:
            replay_gb = (point.bytes - self.daily.bytes) / GIB
        restore = self.restore_base + self.restore_per_gb * (self.data_gb + replay_gb)
        self.state = RESTORING
        rec["detection_s"] = round(self.detection, 6)
        rec["restore_s"] = round(restore, 6)
        what = "a new volume" if self.kind == "ebs" else "a new DB instance (new endpoint)"
        self.comp.ctx.event("recovery", f"{self.comp.name}: loss detected; restoring {what} from the "
                                        f"{rec['restore_from']} of t={point.t:.0f}s, ready in {restore:.0f}s")
        self.engine.after(restore, self._restored, (rec, point, epoch))

    def _restored(self, job: tuple[dict[str, Any], Snap, int]) -> None:
        rec, point, epoch = job
        if epoch != self.epoch:
            return
        now = self.engine.now
        self.state = UP
        rec["restored_at"] = round(now, 6)
        rec["rto_s"] = round(now - rec["at"], 6)
        # the store holds the point's data again: later changes and points count from here
        if self.chain:
            self.chain[-1] = Snap(self.chain[-1].t, self.writes, self.bytes, self.chain[-1].gb)
        self.chain_touches = self.daily_touches = self.touches
        if self.log_point is not None:
            self.log_point = Snap(now, self.writes, self.bytes, 0.0)  # logs resume from the restored instance
        if self.daily is not None:
            self.daily = Snap(self.daily.t, self.writes, self.bytes, self.daily.gb)
        if self.kind == "ebs" and not self.fast_restore:
            self.unloaded = self.data_blocks  # lazily loaded from S3 on first access
        self.comp.ctx.event("recovery", f"{self.comp.name}: restored, serving again (RTO {rec['rto_s']:.0f}s)")

    def refuse(self) -> None:
        """A request refused while the store is lost: counted for the loss it belongs to."""
        self.refused += 1
        self.losses[-1]["failed_requests"] += 1

    def load_delay(self) -> float:
        """Extra latency of one operation on a restored volume: the block it touches may still be in S3."""
        if self.unloaded <= 0:
            return 0.0
        if self.pick() * self.data_blocks >= self.unloaded:
            return 0.0
        self.unloaded -= 1
        self.slow_ops += 1
        return float(self.first_read())

    # ---- storage and results ------------------------------------------------
    def _billed_gb(self) -> float:
        if self.kind == "ebs":
            return self.chain_gb
        return max(0.0, self.chain_gb + self.auto_gb + self.log_gb - self.size_gb)  # free up to the DB's size

    def _account(self) -> None:
        now = self.engine.now
        self.gb_s += self._billed_gb() * (now - self.last_t)
        self.last_t = now

    def usage(self) -> dict[str, float]:
        from cloudtwin.units import SECONDS_PER_MONTH

        self._account()
        u: dict[str, float] = {}
        if not self.tracked:
            return u
        months = self.gb_s / SECONDS_PER_MONTH
        if months > 0:
            u["EBS:SnapshotUsage" if self.kind == "ebs" else "RDS:ChargedBackupUsage"] = months
        if self.fast_restore and self.engine.now > 0:
            u["EBS:FastSnapshotRestore"] = self.engine.now / 3600.0
        return u

    def notes(self) -> list[str]:
        """The snapshot count for the bill: creating a snapshot has no request charge (assumption:
        only the EBS direct APIs bill per request), so only the storage is priced."""
        if not self.tracked or not (self.taken or self.uploads):
            return []
        parts = ([f"{self.taken} snapshots taken"] if self.schedule is not None else []) + (
            [f"{self.uploads} transaction log uploads"] if self.pitr_every is not None else [])
        return [f"{self.comp.name}: {', '.join(parts)}; billed by the GB-month stored, not per snapshot"]

    def stats(self) -> dict[str, Any]:
        latest = self._latest()
        out: dict[str, Any] = {
            "writes": self.writes,
            "snapshots_taken": self.taken,
            "snapshots_failed": self.failed,
            "snapshots_skipped": self.skipped,
            "snapshots_retained": len(self.chain),
            "snapshot_gb": round(self.chain_gb, 6),
            "latest_recoverable_t": round(latest[0].t, 6) if latest is not None else None,
            "losses": self.losses,
        }
        if self.pitr_every is not None:
            out.update({"log_uploads": self.uploads, "log_gb": round(self.log_gb, 6),
                        "automated_gb": round(self.auto_gb, 6)})
        if self.kind == "ebs":
            out.update({"slow_first_reads": self.slow_ops, "blocks_not_loaded": self.unloaded})
        return out


class BackedUp(Component):
    """The component methods of a store with backups, the base of EBS and RDS (a subclass of
    Component rather than a mixin beside it: the same method resolution, and one base that
    mypyc can compile)."""

    backups: Backups

    def start(self) -> None:
        self.backups.start()

    def data_loss(self) -> list[str]:
        return self.backups.lose()

    def backup_ready(self) -> bool:
        """Can a snapshot or log upload run now (the store's own availability)?"""
        return True

    def usage(self) -> dict[str, float]:
        """The configured capacity over the run (:mod:`cloudtwin.pricing.meters`) and the backups."""
        from cloudtwin.pricing.meters import configured

        c = self.backups.comp
        u = configured(c.spec, c.ctx.arch, c.engine.now / 3600.0)
        u.update(self.backups.usage())
        return u

    def usage_notes(self) -> list[str]:
        return self.backups.notes()
