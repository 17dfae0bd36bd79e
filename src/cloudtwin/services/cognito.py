"""Cognito: a user pool whose users sign up and sign in, under the account's API rate quotas.

What is modelled
----------------
* Users are numbered: the pool starts with ``users`` (uids ``0 .. users-1``; a workload's
  client ``i`` is user ``i``). ``sign_up`` (SignUp + confirmation) gives the caller the
  next uid and sets ``req.user = (new, new)``. With ``post_confirmation`` the Lambda is
  invoked synchronously; an attempt that takes over 5 s is abandoned and retried, 3
  attempts in all (Cognito guide, "Customizing user pool workflows with Lambda
  triggers", important considerations: a fixed 5-second timeout; not in aws-facts). If
  the function fails, is throttled or times out 3 times, the caller gets
  ``server_error``, but the user stays confirmed: Cognito invokes the trigger *after* the
  user is confirmed (Cognito guide, "Post confirmation Lambda trigger"), so whatever the
  trigger was to do (a profile row, a welcome email) never happens for that user. Such
  users are counted as ``confirmed_without_trigger``.
  ``sign_in`` (InitiateAuth) needs a known user (the caller's ``req.user``, else its
  client's uid); an unknown one is ``rejected`` (NotAuthorizedException). A successful
  sign-in sets ``req.user = (uid, uid)``. Each takes a draw of its latency.
* Request rate quotas, per account and Region, shared by every pool of the spec (the
  highest declared wins): UserAuthentication 120/s for sign-in and UserCreation 50/s for
  sign-up (Cognito developer guide, "Quotas", category operations; awsdocs mirror 2023).
  One second's worth may arrive at once (assumption). Over it: ``throttled``
  (TooManyRequestsException).
* Identity pool: the temporary credentials an identity pool hands a signed-in user are
  scoped to the user's own S3 folder; the bucket's ``user_prefixes`` check enforces
  exactly that (caller == owner), so GetCredentialsForIdentity is not a separate call.
* API Gateway's Cognito authorizer validates the JWT itself, without calling the pool
  (:mod:`cloudtwin.services.apigateway`); it asks :meth:`Cognito.known`.
* Billing: monthly active users (distinct users that signed up or in) are reported as
  unpriced usage ``Cognito-MAU``: no sourced per-MAU price was found.

Left out: tokens and their expiry (ID/access tokens default to 60 min, 5 min–1 day:
Cognito guide, "Using the ID token"; callers with ``auth:`` are taken to hold valid
tokens), refresh, MFA and challenges (RespondToAuthChallenge's 3x quota), the per-user
quota of 10 requests/s, federation, password recovery, other triggers, and advanced
security.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler
from cloudtwin.engine.resources import RateLimiter
from cloudtwin.request import REJECTED, SERVER_ERROR, THROTTLED, Done, Request

if TYPE_CHECKING:
    from cloudtwin.context import Context

BURST: Final = 1.0  # assumption: one second's worth of requests may arrive at once
TRIGGER_TIMEOUT: Final = 5.0  # a Lambda trigger must answer within 5 s (Cognito guide, Lambda triggers)
TRIGGER_ATTEMPTS: Final = 3  # then Cognito gives up (same page)
AUTH: Final = 0
CREATE: Final = 1


def _quota(ctx: Context) -> tuple[RateLimiter, RateLimiter]:
    """The account's (auth, create) quotas, shared by its pools."""
    acct = ctx.account
    if acct.cognito_quota is None:
        pools: list[Any] = [c for c in ctx.arch.components.values() if c.type == "cognito"]
        acct.cognito_quota = (RateLimiter(max(p.auth_rate for p in pools), BURST),
                              RateLimiter(max(p.create_rate for p in pools), BURST))
    return acct.cognito_quota


class _SignUp:
    """A sign-up waiting for its post-confirmation trigger: per attempt, the first of reply and
    timeout wins; a timed-out attempt is retried."""

    __slots__ = ("pool", "req", "done", "uid", "t_in", "attempt")

    def __init__(self, pool: Cognito, req: Request, done: Done, uid: int, t_in: float) -> None:
        self.pool, self.req, self.done, self.uid, self.t_in, self.attempt = pool, req, done, uid, t_in, 0

    def call(self) -> None:
        self.attempt += 1
        n = self.attempt
        pool = self.pool
        pool.engine.timer(TRIGGER_TIMEOUT).start(self.expire, n)
        call = Request(pool.engine.now, None, None)
        call.user = (self.uid, self.uid)
        pool.trigger.handle(call, "", lambda _r, err: self.reply(n, err))

    def reply(self, n: int, err: str | None) -> None:
        if n == self.attempt > 0:
            self.attempt = -1  # settled: later replies and timers are ignored
            self.pool.confirmed(self, err)

    def expire(self, n: int) -> None:
        if n != self.attempt:
            return
        self.pool.trigger_timeouts += 1
        if n < TRIGGER_ATTEMPTS:
            self.call()
        else:
            self.attempt = -1
            self.pool.confirmed(self, SERVER_ERROR)


class Cognito(Component):
    """One user pool (with the identity pool that scopes its users' credentials)."""

    kind = "cognito"
    needs_client = True  # sign_in without req.user uses the client's uid

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.n_users: int = spec.users  # uids issued so far
        self.pending: set[int] = set()  # uids waiting for their post-confirmation trigger
        self.quota = _quota(ctx)
        self.in_lat = make_sampler(spec.sign_in_latency, ctx.stream(f"{name}.sign_in"))
        self.up_lat = make_sampler(spec.sign_up_latency, ctx.stream(f"{name}.sign_up"))
        self.trigger: Any = None
        self.active: set[int] = set()
        self.sign_ins = self.sign_ups = self.unknown = self.trigger_failures = self.trigger_timeouts = 0
        self.throttled = [0, 0]

    def build(self) -> None:
        if self.spec.post_confirmation is not None:
            self.trigger = self.ctx.components[self.spec.post_confirmation]

    def known(self, uid: int) -> bool:
        """Is ``uid`` a user of this pool (signed up, sign-up not failed)?"""
        return 0 <= uid < self.n_users and uid not in self.pending

    def _admit(self, cat: int) -> bool:
        if not self.quota[cat].try_take(self.engine.now):
            self.throttled[cat] += 1
            return False
        return True

    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        self.requests += 1
        if op == "sign_up":
            self._sign_up(req, done)
            return
        err = None
        if not self._admit(AUTH):
            err = THROTTLED
        else:
            uid = req.user[0] if req.user is not None else req.client.uid if req.client is not None else -1
            if self.known(uid):
                self.sign_ins += 1
                self.active.add(uid)
                req.user = (uid, uid)
            else:
                self.unknown += 1
                err = REJECTED
        self._answer(req, done, err, self.in_lat())

    def _sign_up(self, req: Request, done: Done) -> None:
        if not self._admit(CREATE):
            self._answer(req, done, THROTTLED, self.up_lat())
            return
        uid = self.n_users
        self.n_users += 1
        req.user = (uid, uid)
        now = self.engine.now
        if self.trigger is None:
            self._created(uid)
            self._answer(req, done, None, self.up_lat())
            return
        self.pending.add(uid)
        _SignUp(self, req, done, uid, now).call()

    def confirmed(self, s: _SignUp, err: str | None) -> None:
        """The post-confirmation trigger answered (or timed out)."""
        self.pending.discard(s.uid)
        self._created(s.uid)  # confirmed before the trigger ran: a failed trigger cannot undo it
        if err is not None:
            self.trigger_failures += 1
            err = SERVER_ERROR
        lat = self.engine.now - s.t_in
        extra = self.up_lat()
        if err is None:
            self.latency.record(lat + extra)
        else:
            self.errors += 1
        self.engine.after(extra, deliver, (s.req, s.done, err))

    def _created(self, uid: int) -> None:
        self.sign_ups += 1
        self.active.add(uid)

    def _answer(self, req: Request, done: Done, err: str | None, lat: float) -> None:
        if err is None:
            self.latency.record(lat)
        else:
            self.errors += 1
        self.engine.after(lat, deliver, (req, done, err))

    def usage(self) -> dict[str, float]:
        return {"Cognito-MAU": float(len(self.active))} if self.active else {}

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update({"users": self.n_users - len(self.pending), "sign_ins": self.sign_ins,
                    "sign_ups": self.sign_ups, "unknown_users": self.unknown,
                    "throttled": {"sign_in": self.throttled[AUTH], "sign_up": self.throttled[CREATE]},
                    "trigger_failures": self.trigger_failures, "trigger_timeouts": self.trigger_timeouts,
                    "confirmed_without_trigger": self.trigger_failures,
                    "active_users": len(self.active)})
        return out
