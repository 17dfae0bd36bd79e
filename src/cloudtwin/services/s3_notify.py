"""S3 event notifications and EventBridge events: every one a ledger message held until handed over.

* ``notifications:`` (direct notifications): each configuration whose ``events``
  include the operation (``put`` or ``delete``), whose ``prefix`` starts the object's
  prefix and whose ``suffix`` ends the producer's ``key`` attribute (no ``key``: only an
  empty suffix matches) publishes one message copy (1 KiB of metadata, assumption). The
  bucket holds it for a draw of ``notification_delay`` (assumption), then pushes it to the
  target: a Lambda (an asynchronous invoke, with its retries and dead-letter path), an
  SQS queue or an SNS topic. A push the target refuses is lost
  (``s3_notification_refused``). Attributes: ``event`` (put/delete), ``bucket``,
  ``prefix``, ``size`` and ``user`` (the owner's uid, when known), plus the producer's.
* ``events: <bus>`` (EventBridge): a successful PUT whose event some rule of the bus
  matches publishes one copy (``source: aws.s3``, ``detail-type: Object Created``,
  ``detail.bucket.name``, ``detail.object.size``, the producer's attributes under
  ``detail``) after a draw of ``event_delay``; one no rule matches publishes nothing
  (``events_unmatched``).

Left out: S3's at-least-once duplicates, event ordering, and notifications for other
event types (restore, replication, lifecycle).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from cloudtwin.engine import make_sampler
from cloudtwin.messaging import Message, ledger_of
from cloudtwin.services.eventbridge import event_attrs

if TYPE_CHECKING:
    from cloudtwin.services.s3 import S3

EVENT_SIZE: Final = 1024.0  # bytes of a notification or event (metadata only; assumption)


class _Config:
    __slots__ = ("target", "events", "prefix", "suffix", "sent", "refused")

    def __init__(self, spec: Any, target: Any) -> None:
        self.target = target
        self.events = frozenset(spec.events)
        self.prefix: str = spec.prefix
        self.suffix: str = spec.suffix
        self.sent = self.refused = 0

    def matches(self, event: str, prefix: str, attrs: dict[str, Any] | None) -> bool:
        if event not in self.events or not prefix.startswith(self.prefix):
            return False
        if not self.suffix:
            return True
        key = (attrs or {}).get("key")
        return isinstance(key, str) and key.endswith(self.suffix)


class Notifier:
    """The bucket's outgoing notifications and events, and the copies it holds meanwhile."""

    def __init__(self, bucket: S3) -> None:
        self.bucket = bucket
        ctx = bucket.ctx
        self.engine = bucket.engine
        self.ledger = ledger_of(ctx)
        spec = bucket.spec
        self.edelay = make_sampler(spec.event_delay, ctx.stream(f"{bucket.name}.events"))
        self.ndelay = make_sampler(spec.notification_delay, ctx.stream(f"{bucket.name}.notifications"))
        self.base = {"source": "aws.s3", "detail-type": "Object Created", "detail.bucket.name": bucket.name}
        self.bus: Any = None
        self.configs: list[_Config] = []
        self.holding: dict[int, tuple[Message, Any]] = {}
        self.events = self.unmatched = 0

    def build(self) -> None:
        comps = self.bucket.ctx.components
        spec = self.bucket.spec
        if spec.events is not None:
            self.bus = comps[spec.events]
        self.configs = [_Config(n, comps[n.target]) for n in spec.notifications]

    def fire(self, event: str, prefix: str, size: float, owner: int | None, attrs: dict[str, Any] | None,
             group: Any) -> None:
        """One successful PUT or DELETE of an object of ``size`` bytes under ``prefix``."""
        now = self.engine.now
        if self.configs:
            a: dict[str, Any] | None = None
            for cfg in self.configs:
                if not cfg.matches(event, prefix, attrs):
                    continue
                if a is None:
                    a = dict(attrs or {})
                    a.update({"event": event, "bucket": self.bucket.name, "prefix": prefix, "size": size})
                    if owner is not None:
                        a["user"] = owner
                msg = self.ledger.new(now, EVENT_SIZE, a, None)
                self.holding[msg.mid] = (msg, cfg)
                self.engine.after(self.ndelay(), self._notify, msg)
        if event == "put" and self.bus is not None:
            ev = event_attrs(self.base, attrs)
            ev["detail.object.size"] = size
            if self.bus.matching(ev):
                msg = self.ledger.new(now, EVENT_SIZE, ev, group)
                self.holding[msg.mid] = (msg, None)
                self.engine.after(self.edelay(), self.bucket._emit, msg)  # via the bucket: tests watch it
            else:
                self.unmatched += 1

    def _notify(self, msg: Message) -> None:
        _, cfg = self.holding.pop(msg.mid)
        if cfg.target.push(msg) is None:
            cfg.sent += 1
        else:
            cfg.refused += 1
            self.ledger.lose(msg, "s3_notification_refused")

    def emit(self, msg: Message) -> None:
        del self.holding[msg.mid]
        self.events += 1
        if self.bus.push(msg) is not None:
            self.ledger.lose(msg, "s3_event_refused")

    def held(self) -> Any:
        return (m for m, _ in self.holding.values())

    def stats(self) -> dict[str, Any]:
        pending = sum(1 for _, c in self.holding.values() if c is not None)
        return {"events_sent": self.events, "events_unmatched": self.unmatched,
                "events_pending": len(self.holding) - pending,
                "notifications": {"sent": sum(c.sent for c in self.configs),
                                  "refused": sum(c.refused for c in self.configs), "pending": pending}}
