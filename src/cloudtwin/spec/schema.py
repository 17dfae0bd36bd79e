"""The top level of a spec (v1): architecture, workloads, faults, simulate.

The models are frozen plain data. :func:`cloudtwin.spec.load_spec` builds them
from YAML and :mod:`cloudtwin.spec.references` checks the links between them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, SerializeAsAny, field_validator, model_validator

from cloudtwin.limits import MAX_COMPONENTS, MAX_FAULTS, MAX_WORKLOADS
from cloudtwin.spec.account import Account
from cloudtwin.spec.base import Bandwidth, Cidr, ComponentSpec, Country, Dist, Duration, Model, Name, Rate, Size, Zone
from cloudtwin.spec.cognito import WorkloadAuth
from cloudtwin.spec.failures import Failure
from cloudtwin.spec.hypothesis import Hypothesis
from cloudtwin.spec.message import MessageSpec
from cloudtwin.spec.transfer import TransferPlan
from cloudtwin.spec.units import parse_distribution as _d

PROFILE_TYPES = ("constant", "diurnal", "ramp", "spike", "replay")
_REPLAY_RE = re.compile(r"^replay\((.+)\)$")


class Profile(Model):
    """How the arrival rate varies over time, as a multiplier of ``rate``."""

    type: Literal["constant", "diurnal", "ramp", "spike", "replay"] = "constant"
    # diurnal: a sine wave between low and high with its peak at peak_at.
    period: Duration = 86_400.0
    low: float = Field(0.25, ge=0)
    high: float = Field(1.0, ge=0)
    peak_at: Duration = 50_400.0  # 14:00
    # ramp: from `start` to `end` times the rate, over [at, at + duration].
    # spike: `factor` times the rate during [at, at + duration].
    start: float = Field(0.0, ge=0)
    end: float = Field(1.0, ge=0)
    at: Duration = 0.0
    duration: Duration | None = None
    factor: float = Field(3.0, ge=0, le=1e4)
    path: str | None = None  # replay: CSV with columns t_s,factor (a multiplier of rate)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, v: Any) -> Any:
        if isinstance(v, str):
            if m := _REPLAY_RE.match(v.strip()):
                return {"type": "replay", "path": m.group(1).strip()}
            if v in PROFILE_TYPES:
                return {"type": v}
            raise ValueError(f"unknown profile {v!r}; expected one of constant, diurnal, ramp, spike, replay(path)")
        return v

    @model_validator(mode="after")
    def _needs(self) -> Profile:
        if self.type == "replay" and not self.path:
            raise ValueError("a replay profile needs `path:` (CSV with t_s,factor)")
        return self

    @property
    def peak_factor(self) -> float:
        return {"constant": 1.0, "diurnal": self.high, "ramp": max(self.start, self.end),
                "spike": max(1.0, self.factor), "replay": 1.0}[self.type]


class Sessions(Model):
    requests: int = Field(ge=1, le=100_000)
    think: Dist = Field(default_factory=lambda: _d("exp(5s)"))
    state: Literal["instance", "elasticache", "cookie", "none"] = "instance"
    store: Name | None = None  # the elasticache component for state: elasticache
    cookie_size: Size = 1024.0  # browsers keep at most 4096 bytes per cookie

    @model_validator(mode="after")
    def _store(self) -> Sessions:
        if self.state == "elasticache" and self.store is None:
            raise ValueError("state: elasticache needs `store:` naming the cache component")
        return self


class Sources(Model):
    """Where a workload's legitimate clients come from: client ``i`` has address ``i`` of ``ips``
    (wrapping round), and a country drawn once from ``countries`` (shares summing to 1)."""

    ips: Cidr = "198.18.0.0/16"  # RFC 2544 benchmarking block: the addresses clients have without sources
    countries: dict[Country, float] = Field(default_factory=dict)  # none: the country is unknown ("")

    @model_validator(mode="after")
    def _shares(self) -> Sources:
        if self.countries and abs(sum(self.countries.values()) - 1.0) > 1e-6:
            raise ValueError(f"country shares must sum to 1, got {sum(self.countries.values()):g}")
        if any(v < 0 for v in self.countries.values()):
            raise ValueError("a country share cannot be negative")
        return self


class Attack(Model):
    """Attacker traffic sent beside a workload to the same entry: ``rate`` requests a second
    from ``addresses`` addresses of ``ips`` in ``country``, during [start, start + duration].
    ``flood``: Poisson arrivals, each from an address drawn uniformly; ``crawl``: evenly spaced
    arrivals taking the addresses in turn (each address sends rate / addresses, slowly)."""

    rate: Rate = Field(gt=0)
    ips: Cidr = "203.0.113.0/24"  # RFC 5737 TEST-NET-3
    addresses: int | None = Field(None, ge=1, le=1_000_000)  # default: every address of ips
    country: Country | None = None  # none: unknown
    pattern: Literal["flood", "crawl"] = "flood"
    # request: HTTP requests (layer 7); syn_flood, udp_reflection: network-layer floods that Shield
    # Standard absorbs at CloudFront, Route 53 and load balancers (cloudtwin.origins)
    kind: Literal["request", "syn_flood", "udp_reflection"] = "request"
    start: Duration = 0.0
    duration: Duration | None = None  # none: to the end of the run


class Workload(Model):
    entry: Name
    rate: Rate
    arrivals: Literal["poisson", "constant"] = "poisson"
    profile: Profile = Field(default_factory=Profile)
    sessions: Sessions | None = None
    host: str | None = None  # which DNS name to resolve when entry is a route53 component
    clients: int = Field(10_000, ge=1, le=10_000_000)  # distinct clients, each with a DNS cache
    timeout: Duration | None = None  # the client gives up after this long
    key: str | None = None  # reserved
    request_size: Size | None = None  # bytes per request (LB processed bytes); none: not counted
    response_size: Size | None = None  # bytes per reply (internet egress, LB bytes); none: not counted
    message: MessageSpec | None = None  # an sqs/sns entry: what each SendMessage/Publish sends
    op: str | None = Field(None, pattern=r"^[a-z_]+$")  # the entry's operation (default: its first)
    auth: WorkloadAuth | None = None  # the requests act for users of a cognito pool (sets req.user)
    retries: int = Field(0, ge=0, le=10)  # the client's (SDK's) retries of a retryable failure
    batch: int | None = Field(None, ge=2, le=500)  # entries per request, through the entry's batch API
    backoff: Duration = Field(0.1, gt=0, le=60)  # base of their exponential backoff with full jitter (assumption)
    sources: Sources | None = None  # the clients' addresses and countries (none: 198.18.0.0/15, unknown)
    attack: Attack | None = None  # attacker traffic to the same entry, counted apart

    @field_validator("profile", mode="before")
    @classmethod
    def _profile(cls, v: Any) -> Any:
        return Profile.model_validate(v) if isinstance(v, str) else v


class NetworkFlow(Model):
    """One aggregate of connections from an on-premises site to a VPC (``to_aws``) or back
    (``from_aws``), in bits per second over Direct Connect or VPN paths (:mod:`cloudtwin.flow_run`)."""

    via: list[Name] = Field(min_length=1, max_length=16)  # the paths it may take; BGP picks among them
    rate: Bandwidth = Field(gt=0)  # offered bits per second (times the profile)
    direction: Literal["to_aws", "from_aws"] = "to_aws"
    packet_size: Size = Field(1400.0, ge=64, le=9001)  # assumption: bytes per packet (for packet-rate caps)
    profile: Profile = Field(default_factory=Profile)
    start: Duration = 0.0
    size: Size | None = Field(None, gt=0)  # a bulk transfer: stop after sending this many bytes

    @field_validator("profile", mode="before")
    @classmethod
    def _profile(cls, v: Any) -> Any:
        return Profile.model_validate(v) if isinstance(v, str) else v


FAULT_ACTIONS = ("az_outage", "terminate", "replace", "spot_interruption", "db_failover", "latency", "errors",
                 "link_down", "status_check_failure", "data_loss")


class Fault(Model):
    """One fault: one legacy action key (``terminate: web``...) or an AWS FIS action (``fis:``,
    :mod:`cloudtwin.spec.fis`), fired at ``at`` or after the faults named in ``start_after``."""

    at: Duration | None = None  # required for the legacy actions; FIS actions: 0 (the experiment's start)
    duration: Duration | None = None
    az_outage: Zone | None = None
    terminate: Name | None = None
    replace: Name | None = None
    spot_interruption: Name | None = None
    db_failover: Name | None = None
    latency: Name | None = None
    errors: Name | None = None
    link_down: Name | None = None  # a directconnect connection, or `count` tunnels of a vpn
    status_check_failure: Name | None = None  # an instance's host fails (StatusCheckFailed_System)
    data_loss: Name | None = None  # the store's data is lost: restored from backups (services/backups.py)
    count: int = Field(1, ge=1, le=10_000)
    zone: Zone | None = None
    add: Dist = Field(default_factory=lambda: _d("100ms"))
    rate: float = Field(1.0, ge=0, le=1)
    # the FIS form (checked against the action's documented parameters in cloudtwin.spec.fis)
    fis: str | None = Field(None, alias="actionId", max_length=120)
    targets: dict[Annotated[str, Field(max_length=64)], Name] = Field(default_factory=dict, max_length=4)
    parameters: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=256)] | bool | int | float] \
        = Field(default_factory=dict, max_length=16)
    selection: str | None = Field(None, alias="selectionMode", max_length=40)
    name: str | None = Field(None, pattern=r"^[\w.-]{1,64}$")
    start_after: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, alias="startAfter",
                                                                    max_length=20)

    @model_validator(mode="after")
    def _one_action(self) -> Fault:
        acts = [a for a in FAULT_ACTIONS if getattr(self, a) is not None]
        if self.fis is not None:
            acts.append("fis")
        if len(acts) != 1:
            raise ValueError(f"a fault needs exactly one of {', '.join(FAULT_ACTIONS)}, fis; got {acts or 'none'}")
        if acts[0] == "fis":
            if self.at is not None and self.start_after:
                raise ValueError("give `at:` or `start_after:`, not both (an action after others starts "
                                 "when the last of them completes)")
            for key in ("duration", "add", "count", "rate"):
                if key in self.model_fields_set:
                    raise ValueError(f"`{key}:` is not an FIS key; FIS actions take `parameters:` "
                                     "(e.g. duration: PT5M) and `selection:` (e.g. COUNT(1))")
            return self
        for key in ("targets", "parameters", "selection", "start_after"):
            if key in self.model_fields_set:
                raise ValueError(f"`{key}:` belongs to the FIS form (`fis: aws:...`), not to {acts[0]}")
        if self.at is None:
            raise ValueError(f"{acts[0]} needs `at:`")
        if acts[0] in ("az_outage", "latency", "errors") and self.duration is None:
            raise ValueError(f"{acts[0]} needs `duration:`")
        return self

    @property
    def action(self) -> str:
        return next((a for a in FAULT_ACTIONS if getattr(self, a) is not None), "fis")

    @property
    def target(self) -> str:
        """What the fault acts on: the component (or zone) of its action key; for an FIS action,
        its target component, else its zone."""
        if self.action == "fis":
            return next(iter(self.targets.values()), self.zone or "")
        return str(getattr(self, self.action))


class Simulate(Model):
    duration: Duration | None = None
    requests: int | None = Field(None, ge=1, le=10**12)
    seed: int = Field(1, ge=0, le=2**63 - 1)
    max_events: int = Field(500_000_000, ge=1)  # refuse runs estimated beyond this

    @model_validator(mode="after")
    def _stop(self) -> Simulate:
        if self.duration is not None and self.duration <= 0:
            raise ValueError("duration must be > 0")
        return self

    @property
    def stop_duration(self) -> float | None:
        if self.duration is None and self.requests is None:
            return 3600.0
        return self.duration


class Network(Model):
    client_rtt: Dist = Field(default_factory=lambda: _d("0ms"))  # latency is measured at the region edge
    same_az: Dist = Field(default_factory=lambda: _d("0ms"))  # assumption: negligible
    cross_az: Dist = Field(default_factory=lambda: _d("0.5ms"))  # assumption: "single-digit ms"


class BlueprintMeta(Model):
    section: str
    claim: str
    variant_of: str | None = None


class Architecture(Model):
    """A whole spec: the architecture, its workloads and faults, and how to simulate."""

    name: Name
    description: str = ""
    region: str = Field("us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    zones: list[Zone] = Field(default_factory=lambda: ["a", "b"], min_length=1, max_length=6)
    # each validated against its type's model in the catalogue (see _types and _components)
    components: dict[Name, SerializeAsAny[ComponentSpec]] = Field(min_length=1, max_length=MAX_COMPONENTS)
    workloads: dict[Name, Workload] = Field(default_factory=dict, max_length=MAX_WORKLOADS)
    faults: list[Fault] = Field(default_factory=list, max_length=MAX_FAULTS)
    hypothesis: Hypothesis | None = None  # what must hold when the run ends (cloudtwin.hypothesis)
    failures: dict[str, Failure] = Field(default_factory=dict, max_length=MAX_COMPONENTS)  # random, by MTBF
    simulate: Simulate = Field(default_factory=Simulate)
    network: Network = Field(default_factory=Network)
    account: Account = Field(default_factory=Account)
    blueprint: BlueprintMeta | None = None
    flows: dict[Name, NetworkFlow] = Field(default_factory=dict, max_length=MAX_WORKLOADS)
    transfer: TransferPlan | None = None  # the data-transfer planner's inputs (cloudtwin transfer SPEC)
    # the folder that the spec's data files (replay profiles) are named relative to
    _base_dir: str = PrivateAttr(default=".")

    def __eq__(self, other: object) -> bool:
        """Equal when the specs are: where they were read from does not count."""
        if not isinstance(other, Architecture):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = Model.__hash__

    @property
    def base_dir(self) -> str:
        return self._base_dir

    @model_validator(mode="before")
    @classmethod
    def _types(cls, data: Any) -> Any:
        from cloudtwin.catalogue import types

        known = types()

        comps = data.get("components") if isinstance(data, dict) else None
        if isinstance(comps, dict):
            for name, c in comps.items():
                t = c.get("type") if isinstance(c, dict) else getattr(c, "type", None)
                if t not in known:
                    import difflib

                    close = difflib.get_close_matches(str(t), known, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    from pydantic_core import PydanticCustomError

                    msg = (f"unknown or missing component type {t!r}{hint} "
                           f"(valid: {', '.join(known)})")
                    raise PydanticCustomError(
                        "component_type", "{msg}", {"msg": msg, "path": ("components", name, "type")}
                    )
        return data

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain Python data: the keys it was written with (defaults left out),
        durations in seconds, rates per second, sizes in bytes. ``cloudtwin.from_dict`` reads
        it back to an equal Architecture."""
        return self.model_dump(mode="json", exclude_unset=True)

    @field_validator("components", mode="before")
    @classmethod
    def _components(cls, v: Any) -> Any:
        """Components arrive validated from :func:`cloudtwin.spec.validate_data` (which reports
        each one's problems at its own path); a mapping given directly is validated here."""
        from cloudtwin.catalogue import ROWS, resolve

        if not isinstance(v, dict):
            return v
        return {n: c if isinstance(c, Model) or not isinstance(c, dict) or c.get("type") not in ROWS
                else resolve(ROWS[c["type"]].spec_model).model_validate(c) for n, c in v.items()}

    @field_validator("zones")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("zones must be distinct")
        return v
