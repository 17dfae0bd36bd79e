"""What a live component may use of the run it is part of.

A component never sees the :class:`~cloudtwin.simulation.Simulation`. It gets a
:class:`Context` with the clock and the scheduler (``engine``), its named random
streams, the timeline, the other components by name, the zones' state, the
public addresses, and an :class:`Account` holding what the components of one
AWS account share (the message ledger, Lambda's unreserved concurrency, the API
Gateway and Cognito account quotas, the SNS email rate).

The spec is available as ``arch`` (frozen data): a component reads its own
settings and, where AWS does, its neighbours' (an ALB its targets' zones).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudtwin.engine import Engine, stream
from cloudtwin.engine.resources import RateLimiter
from cloudtwin.messaging import Ledger

if TYPE_CHECKING:
    import numpy as np

    from cloudtwin.component import Component
    from cloudtwin.network import Network
    from cloudtwin.spec.schema import Architecture


class Account:
    """Account-wide state, shared by every component of the run (one account, one Region).

    Each service creates its share on first use (the spec decides which are needed):
    ``lambda_pool`` and ``lambda_invokes`` (:mod:`cloudtwin.services.lambda_`), ``apigw_throttle``
    (:mod:`cloudtwin.services.apigateway`), ``cognito_quota``
    (:mod:`cloudtwin.services.cognito`), ``sns_email`` (:mod:`cloudtwin.services.sns`).
    """

    __slots__ = ("ledger", "lambda_pool", "lambda_invokes", "apigw_throttle", "cognito_quota", "sns_email")

    def __init__(self) -> None:
        self.ledger = Ledger()  # every message copy of sqs, sns, lambda, streams... (cloudtwin.messaging)
        self.lambda_pool: list[int] | None = None  # [unreserved concurrency in use, unreserved limit]
        self.lambda_invokes: RateLimiter | None = None  # the account's invoke request rate
        self.apigw_throttle: Any = None  # the account-level request throttle
        self.cognito_quota: tuple[RateLimiter, RateLimiter] | None = None  # UserAuthentication, UserCreation
        self.sns_email: RateLimiter | None = None  # the account's email delivery rate


class Addresses:
    """Public IPv4 addresses: who holds each one, and which are Elastic IPs."""

    __slots__ = ("owner", "elastic", "_n")

    def __init__(self) -> None:
        self.owner: dict[str, Any] = {}
        self.elastic: set[str] = set()
        self._n = 0

    def allocate(self, *, elastic: bool = False) -> str:
        """A fresh public IPv4 (from the 203.0.113.0/24-style documentation ranges)."""
        self._n += 1
        n = self._n
        ip = f"{'198.51' if elastic else '203.0'}.{n // 256 % 256}.{n % 256}"
        if elastic:
            self.elastic.add(ip)
        return ip

    def bind(self, ip: str, owner: Any) -> None:
        self.owner[ip] = owner

    def release(self, ip: str, owner: Any) -> None:
        if self.owner.get(ip) is owner:
            del self.owner[ip]


class Context:
    """The narrow interface between one run and its components."""

    __slots__ = ("engine", "seed", "arch", "components", "workloads", "account", "addresses", "network",
                 "timeline", "zone_state", "zone_outages")

    def __init__(self, arch: Architecture, seed: int, engine: Engine) -> None:
        from cloudtwin.network import Network

        self.engine = engine
        self.seed = seed
        self.arch = arch
        self.components: dict[str, Component] = {}
        self.workloads: dict[str, Any] = {}  # the live workloads (for the sessions they pin)
        self.account = Account()
        self.addresses = Addresses()
        self.timeline: list[dict[str, Any]] = []
        self.zone_state = dict.fromkeys(arch.zones, True)
        self.zone_outages: dict[str, int] = {}  # outages in progress per zone (they may overlap)
        self.network: Network = Network(self)

    def stream(self, name: str) -> np.random.Generator:
        """The random stream called ``name``: the same for the same seed and name, whatever else
        the spec holds."""
        return stream(self.seed, name)

    def event(self, kind: str, detail: str, **extra: Any) -> None:
        """Add an entry to the run's timeline."""
        entry: dict[str, Any] = {"t": round(self.engine.now, 3), "kind": kind, "detail": detail}
        entry.update({k: v for k, v in extra.items() if v is not None})
        self.timeline.append(entry)

    def zone_up(self, zone: str) -> bool:
        return self.zone_state.get(zone, True)

    def component(self, name: str) -> Component:
        return self.components[name]
