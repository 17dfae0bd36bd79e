"""Messages and the message ledger: every copy of every message is accounted for.

A :class:`Message` is one *copy* travelling through the asynchronous services
(queues, topics, functions, and later buses and streams). The :class:`Ledger` of a
simulation (``ledger_of(ctx)``) holds the state of every copy, and at the end of
every run::

    published = delivered + dead_lettered + expired + in_flight + lost

What the counters count
-----------------------
``published``
    Copies that entered the system: one per message a queue accepts from a
    producer (a workload, a handler's ``call: q.send``, a Lambda ``invoke_async``),
    and one per *matching subscription* of each publish a topic accepts. Fan-out:
    one publish to a topic with N matching subscriptions publishes N copies; a
    publish that matches none publishes nothing (the topic counts it as
    ``unmatched``). A copy handed from one component to the next (topic -> queue,
    queue -> function, function -> its dead-letter queue) stays the same copy and
    is not published again. A rejected or throttled send publishes nothing: the
    producer's request fails instead.
``delivered``
    Copies a final consumer processed successfully: a queue message deleted after
    processing, a Lambda async event whose invocation succeeded, an HTTP or email
    endpoint that accepted the delivery.
``dead_lettered``
    Copies sitting in a dead-letter queue at the end (moved there by a redrive
    policy, a Lambda DLQ or on-failure destination, or a subscription's DLQ). A
    dead-lettered copy that a consumer of the DLQ then processes becomes
    ``delivered``; one that expires there becomes ``expired``.
``expired``
    Copies deleted by a queue's retention period.
``in_flight``
    Copies still held somewhere at the end: visible, delayed or being processed in
    a queue, waiting for (re)delivery in a topic, waiting or running in a function.
``lost``
    Copies dropped by a modelled cause, each counted under ``lost_by_cause`` (for
    example ``sns_retries_exhausted`` with no DLQ, ``lambda_retries_exhausted`` or
    ``lambda_max_event_age`` with no DLQ or destination). Nothing is ever dropped
    silently.
``duplicates``
    Outside the identity: processing of a copy that was already delivered (an
    at-least-once redelivery, e.g. an SQS delete that did not take, or a second
    consumer finishing a message whose visibility timeout ran out).

A copy's state only moves forward: in flight -> (dead-lettered ->) one of
delivered / expired / lost. The check at the end of a run also counts the copies
each component still holds (``held_messages()``) and compares them with the
ledger's ``in_flight`` and ``dead_lettered``, so a component that drops a copy
without telling the ledger fails the run with :class:`InvariantViolation`.

API for service models
----------------------
``ledger_of(ctx)``; ``ledger.new(...)`` and ``ledger.copy(msg)`` publish;
``deliver(msg)`` (returns False for a duplicate), ``dead_letter(msg)``,
``expire(msg)`` and ``lose(msg, cause)`` end a copy. A component that holds copies
implements ``held_messages() -> Iterable[Message]``. Copies nobody will ever read one by
one (a stream's records with no consumer, kept until retention ends) may be held as
counts instead (:class:`StoredRecords`, ``held_counted() -> int``), so memory follows
the retention window in seconds, not the number of records. A push target (a queue, a
function, a topic) implements ``push(msg) -> str | None``: None takes ownership of
the copy; an error kind (``rejected``, ``throttled``) leaves it with the sender.
:func:`matches` evaluates a filter policy; :class:`MessageFactory` draws producers'
messages from a :class:`~cloudtwin.spec.message.MessageSpec`.

Left out: message bodies (only sizes), deduplication ids, and message ordering
outside FIFO queues (which order per message group themselves).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from itertools import count
from typing import Any, Protocol

from cloudtwin.engine import make_sampler, stream
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.spec.message import MessageSpec
from cloudtwin.spec.units import parse_key_distribution

IN_FLIGHT, DELIVERED, DEAD, EXPIRED, LOST = range(5)
STATE_NAMES = ("in_flight", "delivered", "dead_lettered", "expired", "lost")


class Message:
    """One copy of a message. Services keep their per-copy bookkeeping in the slots."""

    __slots__ = ("mid", "t0", "size", "attrs", "group", "seq", "state", "enq", "receives", "receipt",
                 "where", "attempts", "t_accept", "throttles")

    def __init__(self, mid: int, t0: float, size: float, attrs: dict[str, Any] | None, group: Any) -> None:
        self.mid = mid
        self.t0 = t0  # when the original message was published (end-to-end latency)
        self.size = size
        self.attrs = attrs  # shared by the copies of one publish; never mutated
        self.group = group  # FIFO message group id
        self.seq = mid  # order within a FIFO group
        self.state = IN_FLIGHT
        self.enq = t0  # the queue's enqueue time (retention counts from the first enqueue)
        self.receives = 0  # receive count in the current queue
        self.receipt = 0  # the current receipt (a stale receipt's timers are ignored)
        self.where = 0  # a queue's location code (visible, in flight, delayed)
        self.attempts = 0  # delivery or invocation attempts at the current hop
        self.t_accept = 0.0  # when the current hop accepted it (Lambda event age)
        self.throttles = 0

    def __repr__(self) -> str:
        return f"Message({self.mid}, {STATE_NAMES[self.state]}, attrs={self.attrs})"


class Holder(Protocol):
    def held_messages(self) -> Iterable[Message]: ...


class Ledger:
    """The state counts of every message copy in one simulation."""

    def __init__(self) -> None:
        self.ids = count(1)  # message ids (read directly by hot publishers)
        self.published = 0
        self.counts = [0, 0, 0, 0, 0]  # by state
        self.duplicates = 0
        self.lost_by_cause: dict[str, int] = {}

    def new(self, t0: float, size: float, attrs: dict[str, Any] | None = None, group: Any = None) -> Message:
        """Publish a new copy."""
        self.published += 1
        self.counts[IN_FLIGHT] += 1
        return Message(next(self.ids), t0, size, attrs, group)

    def copy(self, msg: Message) -> Message:
        """Publish another copy of ``msg`` (fan-out); it starts in flight."""
        m = self.new(msg.t0, msg.size, msg.attrs, msg.group)
        m.seq = msg.seq
        return m

    def _move(self, msg: Message, to: int) -> None:
        self.counts[msg.state] -= 1
        self.counts[to] += 1
        msg.state = to

    def deliver(self, msg: Message) -> bool:
        """A consumer processed ``msg``: True the first time. A copy delivered before counts
        as a duplicate; one already written off (expired while its consumer was still on it)
        stays written off. Both return False."""
        s = msg.state
        if s in (IN_FLIGHT, DEAD):
            self._move(msg, DELIVERED)
            return True
        if s == DELIVERED:
            self.duplicates += 1
        return False

    def deliver_all(self, msgs: Iterable[Message]) -> list[Message]:
        """:meth:`deliver` each of ``msgs`` in order; the copies delivered for the first time,
        in that order (a consumer's batch: one call instead of one per copy). The state counts
        move once at the end by what the loop counted (whole numbers: the same counts)."""
        out: list[Message] = []
        add = out.append
        n_in = n_dead = dup = 0
        for m in msgs:
            s = m.state
            if s == IN_FLIGHT:
                n_in += 1
                m.state = DELIVERED
                add(m)
            elif s == DEAD:
                n_dead += 1
                m.state = DELIVERED
                add(m)
            elif s == DELIVERED:
                dup += 1
        c = self.counts
        c[IN_FLIGHT] -= n_in
        c[DEAD] -= n_dead
        c[DELIVERED] += n_in + n_dead
        self.duplicates += dup
        return out

    def dead_letter(self, msg: Message) -> None:
        if msg.state == IN_FLIGHT:
            self._move(msg, DEAD)

    def expire(self, msg: Message) -> None:
        if msg.state == IN_FLIGHT or msg.state == DEAD:
            self._move(msg, EXPIRED)

    def lose(self, msg: Message, cause: str) -> None:
        if msg.state == IN_FLIGHT or msg.state == DEAD:
            self._move(msg, LOST)
            self.lost_by_cause[cause] = self.lost_by_cause.get(cause, 0) + 1

    def new_counted(self) -> None:
        """Publish a copy held only as a count (see :class:`StoredRecords`)."""
        self.published += 1
        self.counts[IN_FLIGHT] += 1

    def expire_counted(self, n: int) -> None:
        """``n`` in-flight copies held as counts expire."""
        self.counts[IN_FLIGHT] -= n
        self.counts[EXPIRED] += n

    def totals(self) -> dict[str, int]:
        c = self.counts
        return {"published": self.published, "delivered": c[DELIVERED], "dead_lettered": c[DEAD],
                "expired": c[EXPIRED], "in_flight": c[IN_FLIGHT], "duplicates": self.duplicates, "lost": c[LOST]}

    def check(self, components: Iterable[Any]) -> list[str]:
        """Problems: the identity, and the copies held by components against the ledger's counts."""
        out = []
        c = self.counts
        if self.published != sum(c) or min(c) < 0:
            out.append(f"message ledger: published {self.published} != sum of states {c}")
        if sum(self.lost_by_cause.values()) != c[LOST]:
            out.append(f"message ledger: lost {c[LOST]} but lost_by_cause sums to {sum(self.lost_by_cause.values())}")
        held = [0, 0]
        seen: set[int] = set()
        for comp in components:
            for m in comp.held_messages():
                if m.state in (IN_FLIGHT, DEAD):
                    if m.mid in seen:
                        out.append(f"message {m.mid} is held by two components (one is {comp.name})")
                    seen.add(m.mid)
                    held[m.state == DEAD] += 1
            held[0] += comp.held_counted()
        if held[0] != c[IN_FLIGHT]:
            out.append(f"messages: the ledger has {c[IN_FLIGHT]} in flight but components hold {held[0]}")
        if held[1] != c[DEAD]:
            out.append(f"messages: the ledger has {c[DEAD]} dead-lettered but dead-letter queues hold {held[1]}")
        return out


class StoredRecords:
    """In-flight copies a stream keeps for no reader until its retention ends, counted per
    second of publication: memory grows with the retention window, not with the records.
    A second's records expire together once the whole second is past the limit (at most
    one second late)."""

    __slots__ = ("buckets", "n")

    def __init__(self) -> None:
        self.buckets: deque[list[int]] = deque()  # [second, copies]
        self.n = 0

    def add(self, t0: float) -> None:
        """Keep one copy published at ``t0`` (already counted in flight by the ledger)."""
        sec = int(t0)
        b = self.buckets
        if b and b[-1][0] == sec:
            b[-1][1] += 1
        else:
            b.append([sec, 1])
        self.n += 1

    def expire_until(self, limit: float, ledger: Ledger) -> int:
        """Expire the copies of every second wholly at or before ``limit``; return how many."""
        b = self.buckets
        n = 0
        while b and b[0][0] + 1 <= limit:
            n += b.popleft()[1]
        if n:
            self.n -= n
            ledger.expire_counted(n)
        return n

    def __len__(self) -> int:
        return self.n


def ledger_of(ctx: Any) -> Ledger:
    """The account's message ledger (of a :class:`cloudtwin.context.Context`)."""
    return ctx.account.ledger  # type: ignore[no-any-return]


# ---------------------------------------------------------------- filter policies
def _cond(c: Any, v: Any) -> bool:
    if not isinstance(c, dict):
        if isinstance(c, bool) or isinstance(v, bool):
            return c is v or (isinstance(c, bool) and isinstance(v, bool) and c == v)
        return bool(c == v)
    key, arg = next(iter(c.items()))
    if key == "exists":
        return (v is not None) is arg
    if v is None:
        return False
    if key == "prefix":
        return isinstance(v, str) and v.startswith(arg)
    if key == "anything-but":
        return not any(_cond(x, v) for x in (arg if isinstance(arg, list) else [arg]))
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    for op, n in zip(arg[0::2], arg[1::2], strict=True):  # numeric
        if not ((op == "=" and v == n) or (op == ">" and v > n) or (op == ">=" and v >= n)
                or (op == "<" and v < n) or (op == "<=" and v <= n)):
            return False
    return True


def matches(policy: dict[str, list[Any]] | None, attrs: dict[str, Any] | None) -> bool:
    """Does a message with ``attrs`` pass ``policy``? (None matches everything.)"""
    if policy is None:
        return True
    a = attrs or {}
    for k, conds in policy.items():  # noqa: SIM110 (all() would make a generator per call)
        if not _any_cond(conds, a.get(k)):
            return False
    return True


def _any_cond(conds: list[Any], v: Any) -> bool:
    """Does any of a key's conditions hold for its value ``v``?"""
    for c in conds:  # noqa: SIM110 (any() would make a generator per call)
        if _cond(c, v):
            return True
    return False


class Pattern:
    """A filter policy or event pattern worked out once: ``Pattern(policy)(attrs)`` is
    ``matches(policy, attrs)``, and a key whose conditions are all plain strings (``source:
    [aws.iam]``, the commonest) is one set lookup instead of a :func:`_cond` call per condition.
    A string condition equals only a string (a bool, a number, None or a list never equals
    one), so ``isinstance(v, str) and v in strings`` is the same test."""

    __slots__ = ("keys",)

    def __init__(self, policy: dict[str, list[Any]]) -> None:
        self.keys: list[tuple[str, frozenset[str] | None, list[Any]]] = []
        for k, conds in policy.items():
            plain = bool(conds) and all(c.__class__ is str for c in conds)
            self.keys.append((k, frozenset(conds) if plain else None, list(conds)))

    def __call__(self, attrs: dict[str, Any] | None) -> bool:
        a = attrs or {}
        for k, strings, conds in self.keys:
            v = a.get(k)
            if strings is not None:
                if not (isinstance(v, str) and v in strings):
                    return False
            elif not _any_cond(conds, v):
                return False
        return True


# ---------------------------------------------------------------- producers
class MessageFactory:
    """Draws messages (size, attributes, group) as a :class:`MessageSpec` says, from one stream."""

    def __init__(self, spec: MessageSpec | None, seed: int, name: str) -> None:
        spec = spec or MessageSpec()
        self.size = spec.size
        self.const: dict[str, Any] = {}
        self.draws: list[tuple[str, Any]] = []
        for i, (k, v) in enumerate(sorted(spec.attributes.items())):
            gen = stream(seed, f"{name}.attr[{i}]")
            if isinstance(v, dict):
                values = list(v)
                vals: list[Any] = list(v.values())  # the spec allows whole and fractional weights
                total = float(sum(vals))
                cum, acc = [], 0.0
                for x in values:
                    acc += v[x] / total
                    cum.append(acc)
                self.draws.append((k, _Choice(values, cum, uniform_sampler(gen))))
            elif isinstance(v, str) and "(" in v:
                self.draws.append((k, make_sampler(parse_key_distribution(v), gen)))
            else:
                self.const[k] = v
        self.poison = spec.poison
        self.u = uniform_sampler(stream(seed, f"{name}.poison")) if spec.poison else None
        self.group = make_sampler(spec.group, stream(seed, f"{name}.group")) if spec.group else None
        self.plain = None if (self.draws or self.u) else (dict(self.const) or None)
        self.varies = bool(self.draws or self.u)
        self.poison_only = self.u is not None and not (self.draws or self.const)

    def attrs(self) -> dict[str, Any] | None:
        """The next message's attributes (None: none). A message whose only attribute is the
        poison draw gets ``{"poison": True}`` or None from one uniform draw, as the general
        path would give it."""
        if self.poison_only:
            return {"poison": True} if self.u() < self.poison else None  # type: ignore[misc]
        if self.varies:
            a = dict(self.const)
            for k, draw in self.draws:
                a[k] = draw()
            if self.u is not None and self.u() < self.poison:
                a["poison"] = True
            return a or None
        return self.plain

    def draw(self) -> tuple[dict[str, Any] | None, Any]:
        """The attributes and FIFO group of the next message."""
        g = self.group
        return self.attrs(), (int(g()) if g is not None else None)

    def make(self, ledger: Ledger, now: float) -> Message:
        """Publish one new message copy (:meth:`draw` written out: attributes, then group; and
        :meth:`Ledger.new`). Attributes that never vary are not a call."""
        attrs = self.attrs() if self.varies else self.plain
        g = self.group
        group = int(g()) if g is not None else None
        ledger.published += 1
        ledger.counts[IN_FLIGHT] += 1
        return Message(next(ledger.ids), now, self.size, attrs, group)


class _Choice:
    __slots__ = ("values", "cum", "u")

    def __init__(self, values: list[Any], cum: list[float], u: Any) -> None:
        self.values, self.cum, self.u = values, cum, u

    def __call__(self) -> Any:
        x = self.u()
        for v, c in zip(self.values, self.cum, strict=True):
            if x < c:
                return v
        return self.values[-1]


def producer_arg(comp: Any, workload: str, spec: Any) -> MessageFactory:
    """The call argument a workload sending to ``comp`` passes with every request: its own
    :class:`MessageFactory` (each request is one send or publish)."""
    return MessageFactory(spec.message, comp.ctx.seed, f"workload.{workload}.message")
