"""RDS and Aurora failover: what happens when the primary's zone goes down, on a
``db_failover`` fault and on a reboot (the rules are in :mod:`cloudtwin.services.rds`'s
docstring, with their sources).

The primary's ``epoch`` voids a pending recovery timer when a newer plan replaces it;
``db.plan`` is where the primary comes back: (zone, the promoted replica or standby, or None).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudtwin.request import UNAVAILABLE
from cloudtwin.services.rds_nodes import DOWN, FAILING, UP, Node

if TYPE_CHECKING:
    from cloudtwin.services.rds import RDS


def fail_node(db: RDS, node: Node) -> None:
    """The instance drops every connection: queued work fails now, in-service work at its end."""
    node.account(db.engine.now)
    node.epoch += 1
    node.busy = 0
    node.conns = 0
    q = node.queue
    while q:
        job = q.popleft()
        db.errors += 1
        job[2](job[1], UNAVAILABLE)


def target(db: RDS) -> tuple[str, Node | None] | None:
    """Where the primary can come back now: (zone, promoted replica or None), or None."""
    p = db.primary
    up = db.ctx.zone_up
    if db.cluster:
        for r in db.readers:
            if r.up:
                return r.zone, r
        return (p.zone, None) if up(p.zone) else None
    if db.aurora:
        for r in db.readers:
            if r.up:
                return r.zone, r
        for z in [p.zone, *db.ctx.arch.zones]:
            if up(z):
                return z, None
        return None
    if db.sync_standby and up(db.standby_zone):
        return db.standby_zone, None
    return (p.zone, None) if up(p.zone) else None


def plan(db: RDS, why: str) -> str:
    p = db.primary
    p.epoch += 1  # a pending recovery timer from an earlier plan is void
    tgt = target(db)
    if tgt is None:
        p.state = DOWN
        note = f"{db.name}: primary in {p.zone} unavailable ({why}); no standby or replica to fail over to"
        db.ctx.event("failover", note)
        return note
    zone, r = tgt
    if r is not None:
        delay, how = db.fo_fast(), f"promoting the {r.role} in {zone}"
    elif db.aurora:
        delay, how = db.fo_slow(), f"recreating the writer in {zone}"
    elif zone != p.zone:
        delay, how = db.fo_fast(), f"failing over to the standby in {zone}"
    else:
        delay, how = db.fo_slow(), f"rebooting in {zone}"
    p.state = FAILING
    db.plan = tgt
    db.engine.after(delay, db._recover, p.epoch)
    note = f"{db.name}: primary in {p.zone} lost ({why}); {how}, back in {delay:.0f}s"
    db.ctx.event("failover", note)
    return note


def recover(db: RDS, epoch: int) -> None:
    p = db.primary
    if p.epoch != epoch or p.state != FAILING:
        return
    zone, r = db.plan
    if not (r.up if r is not None else db.ctx.zone_up(zone)):
        plan(db, "failover target lost")
        return
    old = p.zone
    if r is not None:
        fail_node(db, r)  # the old writer restarts as a reader in the old zone
        r.zone = old
        r.zone_ok = db.ctx.zone_up(old)
        db.failovers += 1
    elif db.sync_standby and zone != old:
        db.standby_zone = old  # the old primary's zone hosts the new standby
        db.failovers += 1
    p.zone = zone
    p.zone_ok = True
    p.state = UP
    db.ctx.event("recovery", f"{db.name}: primary available in {zone}")


def zone_outage(db: RDS, zone: str, down: bool) -> None:
    p = db.primary
    for node in (p, *db.readers):
        if node.zone == zone:
            node.zone_ok = not down
            if down:
                fail_node(db, node)
    if down:
        if (p.state == UP and p.zone == zone) or (p.state == FAILING and db.plan[0] == zone):
            plan(db, f"zone {zone} down")
    elif p.state == DOWN:
        if p.zone == zone:
            p.state = UP  # single-AZ: the instance and its storage come back with the zone
            db.ctx.event("recovery", f"{db.name}: primary available in {zone}")
        else:
            plan(db, f"zone {zone} back")


def failover(db: RDS, why: str = "failover fault") -> list[str]:
    p = db.primary
    if p.state != UP:
        return [f"{db.name}: already {p.state}"]
    fail_node(db, p)
    return [plan(db, why)]


def reboot(db: RDS) -> list[str]:
    """:meth:`RDS.reboot <cloudtwin.services.rds.RDS.reboot>`: down in place for a restart draw."""
    p = db.primary
    if p.state != UP:
        return [f"{db.name}: already {p.state}"]
    fail_node(db, p)
    p.epoch += 1
    p.state = FAILING
    db.plan = (p.zone, None)
    delay = db.fo_slow()
    db.engine.after(delay, db._recover, p.epoch)
    note = f"{db.name}: rebooting the primary in {p.zone} (no failover), back in {delay:.0f}s"
    db.ctx.event("failover", note)
    return [note]
