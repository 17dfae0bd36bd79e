"""SES: sending email under the account's maximum send rate and 24-hour sending quota.

What is modelled
----------------
* ``send`` (SendEmail: ``call: mailer.send`` from a handler, or a workload whose entry
  is the sender): one email to one recipient, answered after a draw of ``latency``.
* The 24-hour sending quota: emails sent in the last 24 hours (a rolling window, kept
  per second) may not exceed ``daily_quota``; past it SES answers
  ``ThrottlingException: Daily message quota exceeded`` and drops the email (SES
  Developer Guide, "Errors related to the sending quotas for your Amazon SES account",
  docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html), so the caller
  gets ``throttled``, the kind AWS uses (not ``rejected``).
* The maximum send rate: a token bucket holding one second's worth of emails
  (assumption: AWS states only "emails per second"), refilled at ``max_send_rate``
  and starting full; an email that finds it empty gets ``ThrottlingException: Maximum
  sending rate exceeded`` (same page): ``throttled``, dropped, retriable by the caller.
  A refused email uses neither quota.
* Defaults by ``sandbox`` (see :mod:`cloudtwin.spec.ses`): 200 per 24 h at 1/s in the
  sandbox (SES quotas page), else 50,000 at 14/s (third-party figures, weak).
* Recipients: an email goes to ``req.user[1]`` when the request acts for a user, else to
  a draw of ``recipients`` when given, else to no one in particular. Every sent email to
  a known recipient is counted per recipient, so ``duplicates`` (a second or later email
  to the same recipient) and ``unique_recipients`` show whether each user got exactly one.
  A refused email is not sent, so a retry that succeeds is not a duplicate.
* Billing: one ``Recipients`` unit per sent email (the a-la-carte outbound price, $0.10
  per 1,000: see the price rows). SES is regional: an AZ outage does not affect it.

Left out: sandbox recipient verification, bounces and complaints (and the reputation
that follows from them), several recipients per email, attachments and their per-GB
price, message size limits, SendBulkEmail, the newer SES pricing plans, and the free
tier.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler
from cloudtwin.engine.resources import LevelBucket
from cloudtwin.request import THROTTLED, Done, Request

if TYPE_CHECKING:
    from cloudtwin.context import Context

DAY: Final = 86_400.0


class SES(Component):
    """One account's SES sending in one Region."""

    kind = "ses"

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.rate: float = spec.rate
        self.quota: int = spec.quota
        self.burst = max(1.0, self.rate)  # one second's worth of emails (assumption)
        self.bucket = LevelBucket(self.rate, self.burst)
        self.window: deque[list[float]] = deque()  # [second, emails sent in it], oldest first
        self.in_window = 0
        self.lat = make_sampler(spec.latency, ctx.stream(f"{name}.latency"))
        self.recipient = (make_sampler(spec.recipients, ctx.stream(f"{name}.recipients"))
                          if spec.recipients is not None else None)
        self.per_recipient: dict[int, int] = {}
        self.sent = self.throttled_rate = self.throttled_quota = self.unaddressed = 0

    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        if op not in ("send", ""):
            raise ValueError(f"ses has no operation {op!r}")
        self.requests += 1
        err = self._admit(self.engine.now)
        if err is None:
            self._count(req)
        else:
            self.errors += 1
        lat = self.lat()
        if err is None:
            self.latency.record(lat)
        self.engine.after(lat, deliver, (req, done, err))

    def _admit(self, now: float) -> str | None:
        """None if the email may be sent now, else why not (both refusals are throttling)."""
        if self._expire(now) >= self.quota:
            self.throttled_quota += 1
            return THROTTLED  # "Daily message quota exceeded"
        if not self.bucket.try_take(now):
            self.throttled_rate += 1
            return THROTTLED  # "Maximum sending rate exceeded"
        win = self.window
        sec = float(int(now))
        if win and win[-1][0] == sec:
            win[-1][1] += 1
        else:
            win.append([sec, 1])
        self.in_window += 1
        return None

    def _expire(self, now: float) -> int:
        """Drop the seconds that left the rolling 24 hours; the emails sent within them."""
        win = self.window
        while win and win[0][0] <= now - DAY:
            self.in_window -= int(win.popleft()[1])
        return self.in_window

    def _count(self, req: Request) -> None:
        self.sent += 1
        user = getattr(req, "user", None)
        if user is not None:
            who: int | None = int(user[1])
        elif self.recipient is not None:
            who = int(self.recipient())
        else:
            who = None
        if who is None:
            self.unaddressed += 1
            return
        per = self.per_recipient
        per[who] = per.get(who, 0) + 1

    # ---- metrics ------------------------------------------------------------
    def usage(self) -> dict[str, float]:
        return {"Recipients": float(self.sent)} if self.sent else {}

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        per = self.per_recipient
        addressed = self.sent - self.unaddressed
        out.update({
            "sandbox": self.spec.sandbox,
            "max_send_rate": self.rate,
            "daily_quota": self.quota,
            "sent": self.sent,
            "throttled": self.throttled_rate + self.throttled_quota,
            "throttled_by": {"max_send_rate": self.throttled_rate, "daily_quota": self.throttled_quota},
            "sent_last_24h": self._expire(self.engine.now),
            "unique_recipients": len(per),
            "duplicates": addressed - len(per),
            "max_per_recipient": max(per.values(), default=0),
            "unaddressed": self.unaddressed,
        })
        return out
