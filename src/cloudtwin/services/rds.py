"""RDS and Aurora: a primary with worker slots and a connection limit, an optional
synchronous Multi-AZ standby, asynchronous read replicas, and failover.

What is modelled
----------------
* Each DB instance (primary, read replica) has ``vcpus`` worker slots from the
  instance-class table and a FIFO queue. ``write`` runs on the primary; ``query``
  and ``read`` run on a read replica (round robin over the live ones, like
  Aurora's reader endpoint) when there are any, else on the primary. Service
  times are draws of ``query`` / ``write``, so the DB is an M/G/c queue.
* Open connections (queued, in service, waiting for a commit) above
  ``max_connections`` get ``server_error`` ("too many connections"). The default
  is the engine's documented parameter-group formula: PostgreSQL
  ``LEAST(DBInstanceClassMemory/9531392, 5000)``, MySQL/MariaDB
  ``DBInstanceClassMemory/12582880`` (AWS docs, not in aws-facts; class memory
  stands in for DBInstanceClassMemory, and Aurora MySQL's own formula is
  approximated by MySQL's).
* RDS Multi-AZ: a synchronous standby in another zone that serves nothing; each
  write waits for it, one cross-AZ round trip (``network.cross_az``) plus 0.5 ms
  for the standby's log write (assumption) [aws-facts §11 "extra commit
  latency"]. When the primary's zone goes down, or on a ``db_failover`` fault,
  the DB is ``unavailable`` for ``failover_time`` (default 60-120 s
  [aws-facts §11]) and the standby becomes primary; the old primary's zone hosts
  the new standby. Single-AZ: down for the whole zone outage (its storage
  survives, so it is back when the zone is); a fault is a reboot of
  ``failover_time``.
* RDS Multi-AZ DB cluster (``deployment: multi_az_cluster``): a writer and two
  readable standbys, each in its own zone. Writes run on the writer and wait for
  the first live standby to acknowledge (semi-synchronous: one cross-AZ round
  trip plus 0.5 ms, assumption); ``query`` / ``read`` go round robin over the
  live standbys (the reader endpoint). On a ``db_failover`` fault or the writer's
  zone going down, a live standby is promoted in ``failover_time`` (default
  20-35 s, "typically under 35 s" [aws-facts §11]); the other standby serves
  reads meanwhile, and the old writer comes back as a standby in its zone.
* Aurora: storage spans 3 AZs [aws-facts §11], so nothing is lost. ``multi_az``
  means at least one Aurora Replica in another zone (as the console does). With a live
  replica, one is promoted in 15-30 s ("under 60 s, often under 30 s"
  [aws-facts §11]); without, the writer is recreated in 5-10 min ("under
  10 min" [aws-facts §11]), in its zone or, if that is down, another.
* Read replicas are asynchronous [aws-facts §11] with ``replica_lag``: a replica
  read of a key written on the primary less than a lag draw ago is counted in
  ``stale_reads`` (only when the calls carry keys). A keyed write, once acknowledged, is
  told to the caches that read this database on a miss (``watchers``: ElastiCache), so
  they count their own stale reads (:mod:`cloudtwin.services.cache_stale`).
* Connections cut by a failure fail ``unavailable``: queued ones at once, the one
  in service when its service time ends.

* Backups (automated with ``backup_retention`` >= 1, scheduled manual ``snapshots:``) and
  a ``data_loss`` fault: :mod:`cloudtwin.services.backups` (restore, RPO and RTO).

Left out: the data itself, storage IOPS and its latency, locks, the buffer
cache, RDS Proxy, read replicas of a Multi-AZ DB cluster, replica promotion
tiers, cross-Region replicas, and DNS caching of the endpoint by clients.
Billing granularity is the cost model's business.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.engine import make_sampler, stream
from cloudtwin.engine.sampling import Distribution, Sampler
from cloudtwin.errors import Issue, SpecError
from cloudtwin.metrics import BATCH
from cloudtwin.request import SERVER_ERROR, UNAVAILABLE, Done, Request
from cloudtwin.services import rds_failover
from cloudtwin.services.backups import UP as STORE_UP
from cloudtwin.services.backups import BackedUp, Backups
from cloudtwin.services.cache_stale import Acked
from cloudtwin.services.rds_nodes import UP, Node, default_max_connections
from cloudtwin.sizes import data_keys, data_row
from cloudtwin.spec.rds import RDS as RDSSpec

if TYPE_CHECKING:
    from cloudtwin.context import Context

STANDBY_FLUSH: Final = 0.0005  # assumption: the standby's log write per synchronous commit


class RDS(BackedUp):
    """An RDS DB instance (with standby and replicas) or an Aurora cluster."""
    # what an instance sets, as slots: past 29 attributes in its __dict__ every access slows
    # (tests/test_attribute_layout.py); the base's __dict__ takes the rest
    __slots__ = ('name', 'spec', 'ctx', 'engine', 'requests', 'errors', 'latency', 'injected', 'hot', 'lat_buf',
                 'aurora', 'vcpus', 'max_connections', 'cluster', 'sync_standby', 'standby_zone', 'primary',
                 'readers', 'query_time', 'write_time', 'lag', 'commit', 'fo_fast', 'fo_slow', 'last_write',
                 'watchers', 'plan', 'rr', 'reads', 'writes', 'stale_reads', 'refused', 'failovers',
                 'util_series', 'backups')

    kind = "rds"

    def __init__(self, name: str, spec: RDSSpec, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.hot = ctx.engine.hot()  # (heap, seq): the serving path pushes its events directly
        self.lat_buf = self.latency.buffer
        self.aurora = spec.type == "aurora"
        row = data_row("db_instance_classes.csv", spec.instance_class)
        if row is None:
            known = ", ".join(data_keys("db_instance_classes.csv"))
            raise SpecError([Issue(f"components.{name}.instance_class",
                                   f"unknown DB instance class {spec.instance_class!r}; known: {known}")])
        self.vcpus = int(row["vcpus"])
        self.max_connections = spec.max_connections or default_max_connections(spec.engine,
                                                                               float(row["memory_gib"]))
        zones = list(ctx.arch.zones)
        pz = spec.zone or zones[0]
        others = [z for z in zones[zones.index(pz) + 1:] + zones[:zones.index(pz)]] or [pz]
        # the zone counts (2 for a standby, 3 for a cluster) are checked with the spec (spec/rds.py check)
        self.cluster = not self.aurora and spec.topology == "multi_az_cluster"
        self.sync_standby = not self.aurora and spec.topology == "multi_az_instance"
        self.standby_zone = others[0] if self.sync_standby else ""
        self.primary = Node("primary", pz, self.vcpus, ctx.zone_up(pz))
        replicas = spec.read_replicas
        if self.aurora and spec.multi_az:
            replicas = max(replicas, 1)  # as in the console: Multi-AZ Aurora = a replica in another zone
        role = "replica"
        if self.cluster:
            replicas, role = 2, "standby"  # two readable standbys [aws-facts §11 RDS Multi-AZ DB cluster]
        self.readers = [Node(role, others[j % len(others)], self.vcpus, ctx.zone_up(others[j % len(others)]))
                        for j in range(replicas)]
        seed = ctx.seed
        self.query_time = make_sampler(spec.query, stream(seed, f"{name}.query"))
        self.write_time = make_sampler(spec.write, stream(seed, f"{name}.write"))
        self.lag = make_sampler(spec.replica_lag, stream(seed, f"{name}.replica_lag"))
        cross = make_sampler(ctx.arch.network.cross_az, stream(seed, f"{name}.sync_commit"))
        self.commit: Sampler = lambda: cross() + STANDBY_FLUSH
        self.fo_fast, self.fo_slow = self._failover_samplers(spec, name, seed)
        self.last_write: dict[int, float] | None = {} if self.readers else None
        self.watchers: list[Any] = []  # caches in front of it: on_write(key, acknowledged at)
        self.plan: tuple[str, Node | None] = (pz, None)
        self.rr = 0
        self.reads = self.writes = self.stale_reads = self.refused = 0
        self.failovers = 0
        self.util_series: list[float] = []
        self.backups = Backups(self, "rds", spec.storage_gb,
                               spec.log_upload_every if spec.backup_retention > 0 else None)

    @staticmethod
    def _failover_samplers(spec: RDSSpec, name: str, seed: int) -> tuple[Sampler, Sampler]:
        """(promote a standby or replica, recreate or reboot) delay samplers."""
        if spec.failover_time is not None:
            fast = slow = spec.failover_time
        elif spec.type == "aurora":
            fast = Distribution("uniform", (15.0, 30.0), "uniform(15s, 30s)")  # "often under 30 s" [aws-facts §11]
            slow = Distribution("uniform", (300.0, 600.0), "uniform(5m, 10m)")  # "under 10 min" [aws-facts §11]
        elif spec.topology == "multi_az_cluster":
            # "typically under 35 s" [aws-facts §11 RDS Multi-AZ DB cluster]; the 20 s floor is an assumption.
            # With no live standby the writer reboots in place, like an instance (60-120 s [aws-facts §11]).
            fast = Distribution("uniform", (20.0, 35.0), "uniform(20s, 35s)")
            slow = Distribution("uniform", (60.0, 120.0), "uniform(60s, 120s)")
        else:
            fast = slow = Distribution("uniform", (60.0, 120.0), "uniform(60s, 120s)")  # 60-120 s [aws-facts §11]
        return (make_sampler(fast, stream(seed, f"{name}.failover")),
                make_sampler(slow, stream(seed, f"{name}.recreate")))

    # ---- serving ------------------------------------------------------------
    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        """One query or write; ``backups.available``, ``node.up`` and ``Node.account`` inline (a
        write still calls ``Backups.wrote``, where writes are counted and observed), ``_reader``
        only if there are readers (else it returns the primary): issue 17."""
        self.requests += 1
        backups = self.backups
        if backups.state != STORE_UP:  # not backups.available: the data is lost and not yet restored
            backups.refuse()
            self.errors += 1
            done(req, UNAVAILABLE)
            return
        now = self.engine.now
        key = arg if arg is None or isinstance(arg, int) else int(arg)
        if op == "write":
            node = self.primary
            service = self.write_time()
            extra = self._commit_wait()
        else:
            node = self._reader() if self.readers else self.primary
            service = self.query_time()
            extra = 0.0
        if node.state != UP or not node.zone_ok:  # not node.up
            self.errors += 1
            done(req, UNAVAILABLE)
            return
        if node.conns >= self.max_connections:
            self.errors += 1
            self.refused += 1
            done(req, SERVER_ERROR)  # too many connections
            return
        lw = self.last_write
        if op == "write":
            self.writes += 1
            backups.wrote()  # the observable write (tests count writes here)
            if lw is not None and key is not None:
                lw[key] = now
            if self.watchers and key is not None:
                done = Acked(self.engine, self.watchers, key, done).reply
        else:
            self.reads += 1
            if node is not self.primary and lw and key is not None:
                t = lw.get(key)
                if t is not None and now - t < self.lag():
                    self.stale_reads += 1
        node.conns += 1
        job = (node, req, done, service, extra, node.epoch, now)
        if node.busy < node.slots:
            node.busy_acc += node.busy * (now - node.busy_last)  # node.account(now), inlined
            node.busy_last = now
            node.busy += 1
            heap, seq = self.hot  # self.engine.after(service, self._served, job), inlined
            heappush(heap, (now + service, next(seq), self._served, job))
        else:
            node.queue.append(job)

    def _commit_wait(self) -> float:
        """Extra commit latency of a write: the Multi-AZ instance's synchronous standby, or the first
        of a cluster's live standbys to acknowledge (semi-synchronous; assumption: the same cross-AZ
        round trip and log write as the instance's standby)."""
        if self.sync_standby:
            return self.commit() if self.ctx.zone_up(self.standby_zone) else 0.0
        if self.cluster:
            waits = [self.commit() for r in self.readers if r.up]
            return min(waits) if waits else 0.0
        return 0.0

    def _reader(self) -> Node:
        rs = self.readers
        n = len(rs)
        for _ in range(n):
            self.rr = (self.rr + 1) % n
            if rs[self.rr].up:
                return rs[self.rr]
        return self.primary

    def _served(self, job: tuple[Any, ...]) -> None:
        node, req, done, _, extra, epoch, _ = job
        if epoch != node.epoch:
            self.errors += 1
            done(req, UNAVAILABLE)  # the instance failed while this ran
            return
        now = self.engine.now
        node.busy_acc += node.busy * (now - node.busy_last)  # node.account(now), inlined
        node.busy_last = now
        if node.queue:
            nxt = node.queue.popleft()
            heap, seq = self.hot  # self.engine.after(nxt[3], self._served, nxt), inlined
            heappush(heap, (now + nxt[3], next(seq), self._served, nxt))
        else:
            node.busy -= 1
        if extra > 0.0:
            self.engine.after(extra, self._reply, job)
            return
        # self._reply(job), inlined (issue 17): the epoch was checked above and nothing ran since
        node.conns -= 1
        b = self.lat_buf  # self.latency.record(...), inlined
        b.append(now - job[6])
        if len(b) >= BATCH:
            self.latency.flush()
        done(req, None)

    def _reply(self, job: tuple[Any, ...]) -> None:
        node, req, done, _, _, epoch, t_in = job
        if epoch != node.epoch:
            self.errors += 1
            done(req, UNAVAILABLE)
            return
        node.conns -= 1
        b = self.lat_buf  # self.latency.record(...), inlined
        b.append(self.engine.now - t_in)
        if len(b) >= BATCH:
            self.latency.flush()
        done(req, None)

    def endpoint_zone(self, caller_zone: str) -> str:
        return self.primary.zone

    def zones(self) -> list[str]:
        zs = {self.primary.zone, *(r.zone for r in self.readers)}
        if self.standby_zone:
            zs.add(self.standby_zone)
        return sorted(zs)

    # ---- faults (the failover logic is in rds_failover.py) ----------------------
    def _recover(self, epoch: int) -> None:
        rds_failover.recover(self, epoch)

    def zone_outage(self, zone: str, down: bool) -> None:
        rds_failover.zone_outage(self, zone, down)

    def failover(self, why: str = "failover fault") -> list[str]:
        return rds_failover.failover(self, why)

    def reboot(self) -> list[str]:
        """RebootDBInstance without failover (FIS ``aws:rds:reboot-db-instances``): the primary
        drops its connections and restarts in place, down for the engine's restart time."""
        return rds_failover.reboot(self)

    def backup_ready(self) -> bool:
        return self.primary.up  # automated backups need the instance available (RDS user guide)

    def data_loss(self) -> list[str]:
        for node in (self.primary, *self.readers):
            rds_failover.fail_node(self, node)  # every connection drops with the data
        return self.backups.lose()

    # ---- metrics ------------------------------------------------------------
    def on_minute(self, now: float) -> None:
        p = self.primary
        p.account(now)
        self.util_series.append(round((p.busy_acc - p.busy_mark) / (p.slots * 60.0), 4))
        p.busy_mark = p.busy_acc

    def series(self) -> dict[str, list[float]]:
        return {"utilization": list(self.util_series)}

    def _util(self, node: Node) -> float:
        now = self.engine.now
        node.account(now)
        return node.busy_acc / (node.slots * now) if now > 0 else 0.0

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        spec = self.spec
        rs = self.readers
        out.update({
            "engine": spec.engine,
            "instance_class": spec.instance_class,
            "multi_az": spec.any_multi_az,
            "instances": 1 + len(rs) + (1 if self.sync_standby else 0),
            "max_connections": self.max_connections,
            "reads": self.reads,
            "writes": self.writes,
            "stale_reads": self.stale_reads,
            "refused_connections": self.refused,
            "failovers": self.failovers,
            "utilization": round(self._util(self.primary), 6),
            "replica_utilization": round(sum(self._util(r) for r in rs) / len(rs), 6) if rs else 0.0,
            "primary_zone": self.primary.zone,
        })
        if self.backups.tracked:
            out["backups"] = self.backups.stats()
        return out


class Aurora(RDS):
    """An Aurora cluster: a writer and Aurora Replicas on shared 3-AZ storage."""

    kind = "aurora"
