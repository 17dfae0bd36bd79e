"""S3: one bucket with partitioned prefixes, per-user folders, storage, notifications and its bill.

What is modelled
----------------
* Operations (a workload entering the bucket with ``op:``, or ``call: <bucket>.<op>``):
  ``put`` (PutObject), ``get`` (GetObject), ``delete`` (DeleteObject) and ``list``
  (ListObjectsV2). Each takes a draw of ``latency``. Reads are strongly consistent
  after writes [aws-facts §12 Consistency]: nothing is ever stale, so staleness is not
  modelled at all. A GET is taken to address an existing object (no 404s).
* Which prefix a request addresses: a request acting for a user (``req.user`` set by a
  workload's ``auth:``) on a bucket with ``user_prefixes`` addresses the owner's folder
  ``<prefix><owner>/``; every other request one of the ``prefixes`` shared partitioned
  prefixes ``p0/`` ... (a call step's ``key:`` draw modulo ``prefixes``, else a uniform
  draw). Another service's :meth:`S3.write_object` names its prefix.
* Request rates [aws-facts §12 Request rate]: 3,500 PUT/DELETE and 5,500 GET/LIST
  (LIST with the reads: assumption) per second per partitioned prefix, each prefix and
  user folder a partition of its own; one second's worth may arrive at once
  (assumption). Over that: ``throttled`` (503 Slow Down). S3's re-partitioning for a new
  sustained rate (503s while it scales) is left out: a prefix's limit is fixed.
* Per-user folders: a request for a user's folder must come from that user (caller ==
  owner, what an identity pool's credentials scoped to ``${sub}/`` enforce) and the
  caller must be a user of the pool; otherwise ``rejected`` (403 AccessDenied), counted
  in ``denied_by`` (``other_user``, ``unknown_user``).
* Storage per prefix (bytes and object counts, never per object): ``stored`` at t=0
  (objects of ``object_size``), plus PUTs, minus DELETEs (an object of the prefix's mean
  size; a DELETE of an empty prefix removes nothing, as S3 answers 204). A single PUT
  over 5 GB is ``rejected`` [aws-facts §12 Object size]. A PUT's size is its producer's
  ``message`` size, else ``object_size``.
* Notifications and EventBridge events: :mod:`cloudtwin.services.s3_notify`.
* Billing [aws-facts §19 S3 Standard storage, S3 requests, Data transfer out]: GB-months
  of storage integrated over time (``S3:TimedStorage-ByteHrs``), Tier1 requests
  (PUT/COPY/POST/LIST, ``S3:Requests-Tier1``), Tier2 (GET, ``S3:Requests-Tier2``), and
  the bytes of GETs answered to a workload that has no ``response_size``
  (``DataTransfer-Out-Bytes``; with one, the ``(network)`` meter counts them). Throttled
  and denied requests are not billed (assumption). DELETE is free.

Service-to-service API (Firehose, Athena ...): :meth:`S3.write_object`,
:meth:`S3.stored_bytes`, :meth:`S3.stored_objects`, :meth:`S3.record_gets`.

Left out: versioning, multipart uploads, storage classes and lifecycle, object keys
(only prefixes), request sizes other than the object's, S3 scaling to new rates,
presigned URLs, and S3's own at-least-once duplicate notifications.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler
from cloudtwin.engine.resources import RateLimiter
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.messaging import MessageFactory, producer_arg
from cloudtwin.request import REJECTED, THROTTLED, Done, Request
from cloudtwin.services.s3_notify import Notifier
from cloudtwin.spec.s3 import MAX_PUT
from cloudtwin.units import GIB, SECONDS_PER_MONTH

if TYPE_CHECKING:
    from cloudtwin.context import Context

WRITE: Final = 0
READ: Final = 1
RATE = (3_500.0, 5_500.0)  # per partitioned prefix: PUT/COPY/POST/DELETE, GET/HEAD [aws-facts §12 Request rate]
BURST: Final = 1.0  # assumption: one second's worth of requests may arrive at once


class WorkloadProducer(MessageFactory):
    """What a workload entering the bucket passes: its message factory, whether it declared a
    ``message`` (else PUTs are ``object_size``), and whether its GETs' bytes are billed here."""

    def __init__(self, spec: Any, seed: int, name: str) -> None:
        super().__init__(spec.message, seed, name)
        self.declared = spec.message is not None
        self.egress = spec.response_size is None  # else the (network) meter bills its replies


class S3(Component):
    """One bucket."""
    # what an instance sets, as slots: past 29 attributes in its __dict__ every access slows
    # (tests/test_attribute_layout.py); the base's __dict__ takes the rest
    __slots__ = ('name', 'spec', 'ctx', 'engine', 'requests', 'errors', 'latency', 'injected', 'lat', 'pick',
                 'notifier', 'shared', 'user_prefix', 'pool', 'object_size', 'parts', 'store', 'total_bytes',
                 'byte_seconds', 't_bytes', 'puts', 'gets', 'deletes', 'lists', 'throttled', 'rejected',
                 'service_gets', 'too_large', 'denied_by', 'bytes_in', 'bytes_out')

    kind = "s3"

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.lat = make_sampler(spec.latency, ctx.stream(f"{name}.latency"))
        self.pick = uniform_sampler(ctx.stream(f"{name}.prefix"))
        self.notifier = Notifier(self)
        self.shared = [f"p{i}/" for i in range(spec.prefixes)]
        up = spec.user_prefixes
        self.user_prefix: str | None = up.prefix if up is not None else None
        self.pool: Any = None
        self.object_size: float = spec.object_size
        self.parts: dict[str, tuple[RateLimiter, RateLimiter]] = {}  # partitioned prefix -> (write, read)
        self.store: dict[str, list[float]] = {}  # prefix -> [bytes, objects]
        self.total_bytes = self.byte_seconds = self.t_bytes = 0.0
        for p, b in spec.stored.items():
            self._add(p, b, -(-b // spec.object_size) if b > 0 else 0.0)
        self.puts = self.gets = self.deletes = self.lists = self.throttled = self.rejected = 0
        self.service_gets = self.too_large = 0
        self.denied_by: dict[str, int] = {}
        self.bytes_in = self.bytes_out = 0.0

    def build(self) -> None:
        self.notifier.build()
        if self.spec.user_prefixes is not None:
            self.pool = self.ctx.components[self.spec.user_prefixes.pool]

    def producer_arg(self, workload: str, spec: Any) -> MessageFactory:
        """What a workload entering here passes with each request (see WorkloadRun)."""
        if spec.message is None and spec.response_size is not None:
            return producer_arg(self, workload, spec)  # nothing bucket-specific to carry
        return WorkloadProducer(spec, self.ctx.seed, f"workload.{workload}.message")

    # ---- service-to-service API ----------------------------------------------
    def write_object(self, prefix: str, size: float, user: int | None = None) -> str | None:
        """One PUT of ``size`` bytes under ``prefix`` from another service: None on success, else
        ``throttled`` (the prefix's PUT rate) or ``rejected`` (over 5 GB). Fires notifications."""
        self.requests += 1
        err = self._put(prefix, size, user, None)
        if err is not None:
            self.errors += 1
        return err

    def stored_bytes(self, prefix: str = "") -> float:
        """Bytes stored under every prefix that starts with ``prefix``."""
        return sum(v[0] for k, v in self.store.items() if k.startswith(prefix))

    def stored_objects(self, prefix: str = "") -> int:
        """Objects stored under every prefix that starts with ``prefix``."""
        return int(sum(v[1] for k, v in self.store.items() if k.startswith(prefix)))

    def record_gets(self, n: int, nbytes: float) -> None:
        """Another service read ``n`` objects (``nbytes`` in all) in-region: billed GETs, no rate limit."""
        self.gets += n
        self.service_gets += n

    # ---- requests -------------------------------------------------------------
    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        self.requests += 1
        prefix, owner, err = self._address(req, arg)
        if err is None:
            if op == "get" or op == "list":
                err = self._read(prefix, op, arg)
            elif op == "delete":
                err = self._delete(prefix, owner)
            else:
                factory = arg if isinstance(arg, MessageFactory) else None
                size = factory.size if factory is not None and getattr(factory, "declared", True) else self.object_size
                err = self._put(prefix, size, owner, factory)
        if err is not None:
            self.errors += 1
        lat = self.lat()
        self.latency.record(lat)
        self.engine.after(lat, deliver, (req, done, err))

    def _address(self, req: Request, arg: Any) -> tuple[str, int | None, str | None]:
        """The prefix a request addresses, the user owning it, and a denial."""
        user = req.user
        if user is not None and self.user_prefix is not None:
            caller, owner = user
            why = "other_user" if caller != owner else "unknown_user" if caller >= self.pool.n_users else None
            if why is not None:
                self.rejected += 1
                self.denied_by[why] = self.denied_by.get(why, 0) + 1
                return "", owner, REJECTED
            return f"{self.user_prefix}{owner}/", owner, None
        shared = self.shared
        if len(shared) == 1:
            return shared[0], None, None
        if isinstance(arg, (int, float)) and not isinstance(arg, bool):
            return shared[int(arg) % len(shared)], None, None
        return shared[int(self.pick() * len(shared))], None, None

    def _admit(self, prefix: str, cls: int) -> bool:
        part = self.parts.get(prefix)
        if part is None:
            part = self.parts[prefix] = (RateLimiter(RATE[0], BURST), RateLimiter(RATE[1], BURST))
        if not part[cls].try_take(self.engine.now):
            self.throttled += 1
            return False
        return True

    def _put(self, prefix: str, size: float, owner: int | None, factory: MessageFactory | None) -> str | None:
        if size > MAX_PUT:
            self.rejected += 1
            self.too_large += 1
            return REJECTED
        if not self._admit(prefix, WRITE):
            return THROTTLED
        self.puts += 1
        self.bytes_in += size
        self._add(prefix, size, 1.0)
        n = self.notifier
        if n.configs or n.bus is not None:
            attrs, group = factory.draw() if factory is not None else (None, None)
            n.fire("put", prefix, size, owner, attrs, group)
        return None

    def _read(self, prefix: str, op: str, arg: Any) -> str | None:
        if not self._admit(prefix, READ):
            return THROTTLED
        if op == "list":
            self.lists += 1
            return None
        self.gets += 1
        if getattr(arg, "egress", False):
            self.bytes_out += self._mean(prefix)
        return None

    def _delete(self, prefix: str, owner: int | None) -> str | None:
        if not self._admit(prefix, WRITE):
            return THROTTLED
        self.deletes += 1
        v = self.store.get(prefix)
        if v is not None and v[1] >= 1.0:
            size = v[0] / v[1]
            self._add(prefix, -size, -1.0)
            if self.notifier.configs:
                self.notifier.fire("delete", prefix, size, owner, None, None)
        return None

    # ---- storage ----------------------------------------------------------------
    def _mean(self, prefix: str) -> float:
        v = self.store.get(prefix)
        return v[0] / v[1] if v is not None and v[1] >= 1.0 else self.object_size

    def _add(self, prefix: str, nbytes: float, objects: float) -> None:
        now = self.engine.now
        self.byte_seconds += self.total_bytes * (now - self.t_bytes)
        self.t_bytes = now
        v = self.store.get(prefix)
        if v is None:
            v = self.store[prefix] = [0.0, 0.0]
        v[0] = max(0.0, v[0] + nbytes)
        v[1] = max(0.0, v[1] + objects)
        self.total_bytes = max(0.0, self.total_bytes + nbytes)

    def gb_months(self) -> float:
        """Storage so far in GB-months (time-integrated)."""
        bs = self.byte_seconds + self.total_bytes * (self.engine.now - self.t_bytes)
        return bs / GIB / SECONDS_PER_MONTH

    # ---- messages, bill, results --------------------------------------------------
    def _emit(self, msg: Any) -> None:
        """An EventBridge event's delay is over: hand it to the bus."""
        self.notifier.emit(msg)

    def held_messages(self) -> Any:
        return self.notifier.held()

    def usage(self) -> dict[str, float]:
        out = {"S3:TimedStorage-ByteHrs": self.gb_months(), "S3:Requests-Tier1": float(self.puts + self.lists),
               "S3:Requests-Tier2": float(self.gets), "DataTransfer-Out-Bytes": self.bytes_out / GIB}
        return {k: v for k, v in out.items() if v}

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update({"puts": self.puts, "gets": self.gets, "deletes": self.deletes, "lists": self.lists,
                    "service_gets": self.service_gets, "throttled": self.throttled, "rejected": self.rejected,
                    "denied": sum(self.denied_by.values()), "too_large": self.too_large,
                    "denied_by": dict(sorted(self.denied_by.items())),
                    "bytes_in": self.bytes_in, "bytes_out_internet": self.bytes_out,
                    "stored_bytes": self.total_bytes, "stored_objects": self.stored_objects(),
                    "partitions": len(self.parts), "gb_months": round(self.gb_months(), 9)})
        out.update(self.notifier.stats())
        return out
