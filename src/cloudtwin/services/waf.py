"""An AWS WAF web ACL in front of CloudFront distributions, ALBs or API Gateway APIs.

What is modelled [aws-facts §14 WAF rate-based rule; §1 and §13 Source IP seen]:

* Rules are taken in priority order (lowest first). A matching ``block`` rule refuses the
  request with 403 (``rejected``), ``allow`` lets it through at once, ``count`` only counts
  it and evaluation goes on; no match: the ``default_action``.
* The address a rule reads is the source address the protected resource sees
  (``req.src_ip``): the client's when it is the entry, CloudFront's origin-facing address
  when it sits behind CloudFront. ``forwarded_ip: true`` (a rate rule's ``key:
  forwarded_ip``) reads the client address from ``X-Forwarded-For`` instead.
* IP sets: any of the listed blocks holds the address. Geo match: the country of the
  address (each client's, from its workload's ``sources`` or ``attack``); a proxy's address
  has no country here, so it matches no geo rule (assumption).
* Rate-based rules: every request the rule sees counts for its key (blocked ones too).
  Every ``rate_check_interval`` (10 s: "about every 10 seconds" in the WAFv2 API reference,
  RateBasedStatement.EvaluationWindowSec; aws-facts §14 says "frequently", 30 s in 2023)
  WAF counts each key's requests in the last ``window`` (60, 120, 300 or 600 s); a key
  over ``limit`` is matched from that check on, until a check finds it at or under the
  limit. So blocking starts between limit/rate and that plus one interval after an attack
  begins, and does not stop at once when it ends.
* Managed rule groups: a stated share ``detection`` of attacker requests and
  ``false_positive`` of legitimate ones match (stream ``<name>.<rule>.managed``).
* Every refusal counts on the client's tally (:mod:`cloudtwin.origins`) under this web
  ACL's name, and in ``stats()`` per rule, attacker and legitimate apart.

Billing: the web ACL and each rule by the month over the window, and each request inspected
(``usage()``; prices in us-east-1 from infracost's WAFv2 golden).

Left out: request inspection beyond the address (headers, bodies, labels, scope-down
statements), CAPTCHA and challenge actions, custom keys, WCU limits, and logging.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.guard import install
from cloudtwin.origins import Tally, address, block, client_address, source
from cloudtwin.request import REJECTED, Client, Request
from cloudtwin.units import SECONDS_PER_MONTH

if TYPE_CHECKING:
    from cloudtwin.context import Context
    from cloudtwin.spec.waf import WafRule


IP_SET: Final = 1  # a rule's test, as Waf.admit dispatches it
RATE: Final = 2
OTHER: Final = 0
MEMO_MAX = 65_536  # address strings whose IP-set verdict a rule remembers (cleared when full)


class _Rule:
    """One rule's live state: what it matches and its counters.

    ``test(src, xff, client, tally, now)`` is the match, chosen once here by the rule's kind
    (``src``: the address this hop sees, ``xff``: the client's own, ``client``/``tally``: the
    request's, or None), so :meth:`Waf.admit` reads the request once for all its rules."""

    __slots__ = ("spec", "name", "kind", "action", "xff", "spans", "any_name", "geo", "seen", "limited",
                 "first_limited", "detect", "matched", "blocked", "test", "code", "memo", "limit", "over",
                 "checks")

    def __init__(self, spec: WafRule, waf: Waf) -> None:
        self.spec = spec
        self.name = spec.name
        self.kind = spec.kind
        self.action = spec.action
        self.xff = spec.forwarded_ip or (spec.rate is not None and spec.rate.key == "forwarded_ip")
        self.spans = [block(c) for c in spec.ip_set or ()]
        self.any_name = any(s == (0, 0xFFFFFFFF) for s in self.spans)  # what a name (a proxy's) matches
        self.geo = frozenset(spec.geo or ())
        # rate rule: each key's request times, in time order (appended as they come)
        self.seen: dict[str, deque[float]] = {}
        self.limited: set[str] = set()
        # a rate rule's keys that may be over its limit: each key whose deque grew past the limit
        # (added by the request that took it past), until a check finds it at or under the limit
        self.limit = spec.rate.limit if spec.rate is not None else 0
        self.over: set[str] = set()
        self.checks = 0  # rate checks so far (every `sweep`-th one also drops the expired keys)
        self.first_limited: float | None = None
        m = spec.managed
        self.detect = uniform_sampler(waf.ctx.stream(f"{waf.name}.{spec.name}.managed")) if m else None
        self.matched = 0
        self.blocked = {"attack": 0, "legitimate": 0}
        self.test = {"ip_set": self._ip_set, "geo": self._geo, "rate": self._rate}.get(self.kind, self._managed)
        self.code = {"ip_set": IP_SET, "rate": RATE}.get(self.kind, OTHER)  # Waf.admit inlines these two tests
        # an IP set's verdict per address string tested: the set never changes during a run, so the
        # verdict is a function of the string (cleared when full)
        self.memo: dict[str, bool] = {}

    def _ip_set(self, src: str, xff: str, c: Client | None, t: Tally | None, now: float) -> bool:
        a = address(xff if self.xff else src)
        if a is None:
            return self.any_name
        for lo, hi in self.spans:  # noqa: SIM110 (a loop: no generator per request)
            if lo <= a <= hi:
                return True
        return False

    def ip_set_memo(self, s: str) -> bool:
        """:meth:`_ip_set`'s verdict on the address string ``s``, remembered in ``memo``."""
        memo = self.memo
        if len(memo) >= MEMO_MAX:
            memo.clear()
        a = address(s)
        if a is None:
            hit = self.any_name
        else:
            hit = False
            for lo, hi in self.spans:
                if lo <= a <= hi:
                    hit = True
                    break
        memo[s] = hit
        return hit

    def _geo(self, src: str, xff: str, c: Client | None, t: Tally | None, now: float) -> bool:
        own = self.xff or src == xff  # the address is the client's own
        return own and c is not None and c.country in self.geo

    def _rate(self, src: str, xff: str, c: Client | None, t: Tally | None, now: float) -> bool:
        key = xff if self.xff else src
        q = self.seen.get(key)
        if q is None:
            q = self.seen[key] = deque()
        q.append(now)
        if len(q) > self.limit:
            self.over.add(key)
        return key in self.limited

    def _managed(self, src: str, xff: str, c: Client | None, t: Tally | None, now: float) -> bool:
        m = self.spec.managed
        assert m is not None and self.detect is not None
        share = m.detection if t is not None and t.attacker else m.false_positive
        return bool(self.detect() < share)

    def recount(self, now: float, sweep: int = 1) -> None:
        """A rate check: which keys are over the limit in the last window.

        Only the keys in ``over`` are counted: a key's window count is at most its deque's length,
        and a key whose deque never grew past the limit since a check last found it at or under
        is not over it (nor in ``limited``). So ``limited`` is what a count of every key would make
        it. Every ``sweep``-th check also drops every key's expired requests and the keys left
        empty (memory only: no verdict depends on it)."""
        r = self.spec.rate
        assert r is not None
        since = now - r.window
        limit, seen, limited, over = r.limit, self.seen, self.limited, self.over
        for key in list(over):
            q = seen[key]
            while q and q[0] <= since:
                q.popleft()
            if len(q) > limit:
                if not limited and self.first_limited is None:
                    self.first_limited = now
                limited.add(key)
            else:
                limited.discard(key)
                over.discard(key)
        self.checks += 1
        if self.checks % sweep == 0:
            for key, q in list(seen.items()):
                while q and q[0] <= since:
                    q.popleft()
                if not q:
                    del seen[key]

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "action": self.action, "matched": self.matched,
                               "blocked": dict(self.blocked)}
        if self.kind == "rate":
            out["first_over_limit_s"] = self.first_limited
            out["keys_over_limit"] = len(self.limited)
        return out


class Waf(Component):
    kind = "waf"
    outbound = False

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.rules = [_Rule(r, self) for r in sorted(spec.rules, key=lambda r: r.priority)]
        self.rated = [r for r in self.rules if r.kind == "rate"]
        # checks between sweeps of expired keys: about one window's worth (a key's expired requests
        # stay at most ~two windows)
        self.sweep = max(1, max((int(r.spec.rate.window / spec.rate_check_interval) for r in self.rated
                                 if r.spec.rate is not None), default=1))
        self.default_allow = spec.default_action == "allow"
        self.blocked = {"attack": 0, "legitimate": 0}
        self.allowed = {"attack": 0, "legitimate": 0}

    def build(self) -> None:
        for p in self.spec.protects:
            install(self.ctx.components[p], self)

    def start(self) -> None:
        if self.rated:
            self.engine.after(self.spec.rate_check_interval, self._check)

    def periodic_events_per_second(self) -> float:
        return 1.0 / self.spec.rate_check_interval if self.rated else 0.0

    def _check(self, _: object = None) -> None:
        now = self.engine.now
        for r in self.rated:
            r.recount(now, self.sweep)
        self.engine.after(self.spec.rate_check_interval, self._check)

    def admit(self, req: Any) -> str | None:  # a Request, or another caller's object (read below)
        """Take the rules in order: the first matching ``allow`` or ``block`` decides. None to let
        the request in, else the error kind (``rejected``).

        Reads the request once (the address this hop sees, the client's own, its tally), as
        :func:`~cloudtwin.origins.source`, :func:`~cloudtwin.origins.client_address` and
        :func:`~cloudtwin.origins.tally_of` would, and hands them to every rule's match. The
        IP-set test reads the rule's memo of verdicts per address string (filled by
        ``_Rule.ip_set_memo`` with ``_ip_set``'s steps: the set is fixed, so a verdict is a
        function of the string), the rate test is inline (``_rate``'s steps: every request is
        still counted for its key), and a block by a rule is counted inline (``_block``'s and
        ``Tally.block``'s steps); geo and managed rules call their test."""
        self.requests += 1
        if req.__class__ is Request:
            c = req.client
            xff = c.ip if c is not None else ""
            via = req.via
            src = xff if via is None else str(via)
        else:  # a bare request (a start time) or another caller's object
            c = getattr(req, "client", None)
            src, xff = source(req), client_address(req)
        t = c.tally if c is not None else None
        who = "attack" if t is not None and t.attacker else "legitimate"
        now = self.engine.now
        err: str | None = None
        for r in self.rules:
            code = r.code
            if code == IP_SET:  # r._ip_set, from the rule's memo of verdicts per address string
                s = xff if r.xff else src
                hit = r.memo.get(s)
                if hit is None:
                    hit = r.ip_set_memo(s)
            elif code == RATE:  # r._rate, inline: count the request for its key
                key = xff if r.xff else src
                q = r.seen.get(key)
                if q is None:
                    q = r.seen[key] = deque()
                q.append(now)
                if len(q) > r.limit:  # may be over the limit: counted at the next check
                    r.over.add(key)
                hit = key in r.limited
            else:
                hit = r.test(src, xff, c, t, now)
            if not hit:
                continue
            r.matched += 1
            action = r.action
            if action == "count":
                continue
            if action == "allow":
                self.allowed[who] += 1
            else:
                r.blocked[who] += 1
                # self._block(t, who), inline with Tally.block: the attacks' hot path
                self.errors += 1
                self.blocked[who] += 1
                if t is not None:
                    tb = t.blocked
                    tb[self.name] = tb.get(self.name, 0) + 1
                err = REJECTED
            break
        else:
            if self.default_allow:
                self.allowed[who] += 1
            else:
                err = self._block(t, who)
        return err

    def _block(self, t: Any, who: str) -> str:
        self.errors += 1
        self.blocked[who] += 1
        if t is not None:
            t.block(self.name)
        return REJECTED

    def usage(self) -> dict[str, float]:
        """The web ACL and its rules by the month, over the window, and every request inspected
        (us-east-1 prices from infracost's WAFv2 golden; a managed group billed as one rule)."""
        months = self.engine.now / SECONDS_PER_MONTH
        out = {"WAF-WebACL-Month": months, "WAF-Rule-Month": months * len(self.rules),
               "WAF-Request": float(self.requests)}
        return {k: v for k, v in out.items() if v}

    def usage_notes(self) -> list[str]:
        if any(r.kind == "managed" for r in self.rules):
            return [f"{self.name}: managed rule groups billed as one rule each; a vendor's subscription fee "
                    "is not included"]
        return []

    def answer(self, req: Request, err: str | None) -> str | None:
        return err  # a web ACL inspects requests only

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        del out["latency_ms"]
        out["blocked"] = dict(self.blocked)
        out["allowed"] = dict(self.allowed)
        out["rules"] = {r.name: r.stats() for r in self.rules}
        return out
