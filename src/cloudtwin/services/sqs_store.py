"""The inside of an SQS queue: where each message is, and the queue's timers.

:class:`QueueStore` is mixed into :class:`cloudtwin.services.sqs.SQS`. It keeps every
message the queue holds (``held``) in one of three places: visible (a deque for a
standard queue; per message group for a FIFO queue, with the groups that may be
received from in ``ready``), in flight (received, invisible until its visibility
timeout) or delayed. Messages that leave are marked and skipped lazily, and the
structures are rebuilt when they hold many such entries, so memory follows the
messages held, not the messages ever sent.

Three timers (visibility, delay, retention) are single engine events armed at the
earliest deadline (a token makes a superseded one a no-op), so a message costs no
timer event of its own. When a visibility timeout ends, the message expires (past
``retention`` from its first enqueue), moves to the dead-letter queue (after
``max_receive_count`` receives), or turns visible again: at the back of a standard
queue, at the front of its group in a FIFO queue (order kept). A message in flight
expires when it comes back, not while a consumer holds it.
"""

from __future__ import annotations

from abc import abstractmethod
from collections import deque
from heapq import heapify, heappop, heappush
from itertools import count
from typing import Any, Final

from cloudtwin.component import Component
from cloudtwin.messaging import Message

GONE: Final = 0
VISIBLE: Final = 1
INFLIGHT: Final = 2
DELAYED: Final = 3
COMPACT: Final = 1024  # rebuild lazily pruned structures when they hold this many dead entries more than live ones
INF: Final = float("inf")


class Group:
    """One FIFO message group: its visible messages in order and how many are in flight."""

    __slots__ = ("q", "inflight", "ready")

    def __init__(self) -> None:
        self.q: deque[Message] = deque()
        self.inflight = 0
        self.ready = False


class QueueStore(Component):
    """Message placement and timers of a queue (the base of SQS, which sets the attributes
    it reads)."""

    ledger: Any
    fifo: bool
    vis: float
    retention: float
    dlq: Any
    max_receives: int
    waiters: Any
    inflight_limit: int
    zero_lat: bool
    lat: Any
    _heap: Any
    _seq: Any

    def _init_store(self) -> None:
        self.held: dict[int, Message] = {}  # every message in the queue (visible, delayed, in flight)
        self.visible: deque[Message] = deque()  # standard queues; entries that left are skipped
        self.groups: dict[Any, Group] = {}
        self.ready: deque[Group] = deque()  # FIFO groups with a visible message and none in flight
        self.n_visible = self.n_inflight = self.n_delayed = 0
        self._inflight: deque[tuple[float, int, int]] = deque()  # (visible again at, mid, receipt)
        self._delayed: deque[tuple[float, int]] = deque()
        self._expiry: list[tuple[float, int]] = []  # heap of (expires at, mid)
        self._token = [0, 0, 0]  # visibility, delay, retention timers
        self._armed = [INF, INF, INF]
        self._receipts = count(1)
        self.received = self.moved = self.expired = self.max_visible = 0
        self.dlq_receives: dict[int, int] = {}

    @abstractmethod
    def _serve(self) -> None:
        """Hand visible messages to waiting receivers (the queue defines how)."""

    def _enter(self, msg: Message, delay: float) -> None:
        if not self.fifo and not delay > 0.0:
            self._enter_plain(msg)
            return
        now = self.engine.now
        msg.receives = 0
        self.held[msg.mid] = msg
        exp = self._expiry
        heappush(exp, (msg.enq + self.retention, msg.mid))
        if len(exp) > 2 * len(self.held) + COMPACT:
            self._expiry = exp = [e for e in exp if e[1] in self.held]
            heapify(exp)
        if exp[0][0] < self._armed[2]:  # _arm's own test, saving the call when armed already
            self._arm(2, exp[0][0], self._on_expiry)
        if delay > 0.0:
            msg.where = DELAYED
            self.n_delayed += 1
            self._delayed.append((now + delay, msg.mid))
            self._arm(1, self._delayed[0][0], self._on_delay)
        else:
            self._visible(msg)

    def _enter_plain(self, msg: Message) -> None:
        """:meth:`_enter` with no delay into a standard queue, with :meth:`_visible` written out
        and, when a long poll waits for the only visible message, :meth:`_serve`, :meth:`_take`,
        the queue's ``_reply`` and the wait timer's ``cancel`` too: one frame instead of five.
        The same statements run in the same order (the visibility timer is armed before the
        reply is pushed, the reply's latency is drawn as ``_reply`` draws it), so events, draws
        and ties are unchanged.

        The serving shortcut holds because a standard queue's ``_serve`` leaves a waiter only
        when no message is visible (or the in-flight limit is reached): with this message the
        only visible one, the first live waiter's ``_take`` returns exactly ``[msg]``; the
        departed entries ahead of it in ``visible`` are skipped by later takes as they would
        have been by this one."""
        now = self.engine.now
        msg.receives = 0
        held = self.held
        mid = msg.mid
        held[mid] = msg
        exp = self._expiry
        heappush(exp, (msg.enq + self.retention, mid))
        if len(exp) > 2 * len(held) + COMPACT:
            self._expiry = exp = [e for e in exp if e[1] in held]
            heapify(exp)
        if exp[0][0] < self._armed[2]:
            self._arm(2, exp[0][0], self._on_expiry)
        n = self.n_visible + 1
        if n > self.max_visible:
            self.max_visible = n
        ws = self.waiters
        if ws and n == 1 and self.n_inflight < self.inflight_limit:
            while ws and not ws[0].live:
                ws.popleft()
            if ws:  # _serve -> _take(w.n) -> [msg] -> _reply, written out
                w = ws.popleft()
                until = now + self.vis
                msg.where = INFLIGHT
                msg.receives = 1
                msg.receipt = r = next(self._receipts)
                self._inflight.append((until, mid, r))
                self.n_inflight += 1
                self.received += 1
                if self._armed[0] == INF:
                    self._arm(0, until, self._on_visibility)
                w.live = False
                tm = w.tm  # tm.cancel(w.th), inlined: keep in step with Timer.cancel
                j = w.th - tm._base
                if j >= tm._i:
                    tm._cbs[j] = None
                if self.zero_lat:
                    w.cb([msg])
                else:
                    heappush(self._heap, (now + self.lat(), next(self._seq), w.cb, [msg]))
                return
        msg.where = VISIBLE
        self.n_visible = n
        self.visible.append(msg)
        if ws:
            self._serve()

    def _visible(self, msg: Message) -> None:
        msg.where = VISIBLE
        self.n_visible += 1
        if self.n_visible > self.max_visible:
            self.max_visible = self.n_visible
        if self.fifo:
            g = self.groups.get(msg.group)
            if g is None:
                g = self.groups[msg.group] = Group()
            g.q.append(msg)
            self._ready(g)
        else:
            self.visible.append(msg)
        if self.waiters:
            self._serve()

    def _ready(self, g: Group) -> None:
        if not g.ready and g.inflight == 0 and g.q:
            g.ready = True
            self.ready.append(g)

    def _take(self, n: int) -> list[Message]:
        out: list[Message] = []
        if self.fifo:
            ready = self.ready
            while ready and not out:
                g = ready.popleft()
                g.ready = False
                while g.q and len(out) < n:
                    m = g.q.popleft()
                    if m.where == VISIBLE:
                        out.append(m)
                g.inflight += len(out)
        else:
            vis = self.visible
            while vis and len(out) < n:
                m = vis.popleft()
                if m.where == VISIBLE:
                    out.append(m)
        until = self.engine.now + self.vis
        infl = self._inflight
        receipts = self._receipts
        for m in out:
            m.where = INFLIGHT
            m.receives += 1
            m.receipt = r = next(receipts)
            infl.append((until, m.mid, r))
        k = len(out)
        self.n_visible -= k
        self.n_inflight += k
        self.received += k
        if k and self._armed[0] == INF:
            self._arm(0, until, self._on_visibility)
        return out

    def _remove(self, m: Message) -> None:
        del self.held[m.mid]
        w = m.where
        m.where = GONE
        if w == VISIBLE:
            self.n_visible -= 1
        elif w == DELAYED:
            self.n_delayed -= 1
        elif w == INFLIGHT:
            self.n_inflight -= 1
            if self.fifo:
                g = self.groups[m.group]
                g.inflight -= 1
                self._ready(g)
                if not g.q and not g.inflight:
                    del self.groups[m.group]
                elif self.waiters:
                    self._serve()

    def _arm(self, k: int, t: float, fn: Any) -> None:
        if t < self._armed[k]:
            self._armed[k] = t
            self._token[k] += 1
            self.engine.at(t, fn, self._token[k])

    def _fire(self, k: int, token: int) -> bool:
        if token != self._token[k]:
            return False
        self._armed[k] = INF
        return True

    def _on_visibility(self, token: int) -> None:
        if token != self._token[0]:  # self._fire(0, token) written out: a superseded timer
            return
        self._armed[0] = INF
        now = self.engine.now
        q, held = self._inflight, self.held
        back: list[Message] = []
        while q:
            t, mid, r = q[0]
            m = held.get(mid)
            if m is None or m.receipt != r or m.where != INFLIGHT:
                q.popleft()
            elif t <= now:
                q.popleft()
                back.append(m)
            else:
                self._arm(0, t, self._on_visibility)
                break
        if back:
            self._returned(back)

    def _returned(self, msgs: list[Message]) -> None:
        """Visibility timeouts ended: expire, redrive, or make visible again."""
        now = self.engine.now
        again: dict[Any, list[Message]] = {}
        touched: set[Any] = set()
        for m in msgs:
            self.n_inflight -= 1
            if self.fifo:
                self.groups[m.group].inflight -= 1
                touched.add(m.group)
            if now - m.enq >= self.retention:
                del self.held[m.mid]
                m.where = GONE
                self.ledger.expire(m)
                self.expired += 1
            elif self.dlq is not None and m.receives >= self.max_receives:
                del self.held[m.mid]
                m.where = GONE
                self.moved += 1
                self.dlq_receives[m.receives] = self.dlq_receives.get(m.receives, 0) + 1
                self.dlq.take_dead(m, keep_enqueue_time=True)
            elif self.fifo:
                again.setdefault(m.group, []).append(m)
            else:
                self._visible(m)
        for key, ms in again.items():  # back to the front of their group, in order
            g = self.groups[key]
            ms.sort(key=lambda x: x.seq)
            for m in ms:
                m.where = VISIBLE
            g.q.extendleft(reversed(ms))
            self.n_visible += len(ms)
            self.max_visible = max(self.max_visible, self.n_visible)
        for key in touched:
            g = self.groups[key]
            self._ready(g)
            if not g.q and not g.inflight:
                del self.groups[key]
        if self.waiters:
            self._serve()

    def _on_delay(self, token: int) -> None:
        if not self._fire(1, token):
            return
        now = self.engine.now
        q, held = self._delayed, self.held
        while q and q[0][0] <= now:
            m = held.get(q.popleft()[1])
            if m is not None and m.where == DELAYED:
                self.n_delayed -= 1
                self._visible(m)
        if q:
            self._arm(1, q[0][0], self._on_delay)

    def _on_expiry(self, token: int) -> None:
        if not self._fire(2, token):
            return
        now = self.engine.now
        h, held = self._expiry, self.held
        while h and h[0][0] <= now:
            m = held.get(heappop(h)[1])
            if m is not None and m.where != INFLIGHT:  # in-flight ones are checked when they return
                self._remove(m)
                self.ledger.expire(m)
                self.expired += 1
        if h:
            self._arm(2, h[0][0], self._on_expiry)
        if len(self.visible) > 2 * self.n_visible + COMPACT:
            self.visible = deque(m for m in self.visible if m.where == VISIBLE)
