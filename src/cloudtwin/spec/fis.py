"""AWS FIS as the fault vocabulary: the action ids cloudtwin understands, their parameters, and
the checks of a spec's ``fis:`` faults.

A fault may be written as an AWS Fault Injection Service action, with FIS's own words:
``actionId`` (here ``fis:``), ``parameters`` (ISO 8601 durations such as ``PT5M``), ``targets``
(the action's resource role, e.g. ``Instances``, naming a component), ``selectionMode`` and
``startAfter``. The actions, their resource types and parameters follow the FIS actions reference
(docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html); what each one does in the
simulation is in :mod:`cloudtwin.faults` and the table in docs/spec.md. The scenario library's
*AZ Availability: Power Interruption* is one more name (:data:`SCENARIO`).

Left out: FIS actions with no counterpart in the model (EKS pods, SSM documents, DynamoDB or S3
replication, Direct Connect...): an unknown id is a spec error naming the closest known ones.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudtwin.spec.schema import Architecture, Fault

Path = tuple[str | int, ...]

SCENARIO = "AZ Availability: Power Interruption"  # the FIS scenario library's name
SCENARIO_ALIASES = (SCENARIO, "az-availability-power-interruption")
MINUTE, HOUR = 60.0, 3600.0


@dataclass(frozen=True)
class Param:
    """One documented parameter of an FIS action."""

    kind: str  # duration | percent | int | bool | scope | zones | text
    required: bool = False
    default: Any = None
    lo: float = 0.0
    hi: float = math.inf


@dataclass(frozen=True)
class Action:
    """One FIS action: its target's resource type and role, the cloudtwin component types it may
    act on (empty: it targets a zone, or nothing), and its parameters."""

    resource_type: str | None
    role: str | None
    kinds: tuple[str, ...]
    params: dict[str, Param] = field(default_factory=dict)
    zone: str = "optional"  # "required" | "optional" (filters instances) | "none"
    selectable: bool = False  # instance-like targets: selectionMode ALL | COUNT(n) | PERCENT(n)


def _duration(lo: float = MINUTE, hi: float = 12 * HOUR, *, required: bool = True, default: Any = None) -> Param:
    return Param("duration", required, default, lo, hi)


_API_ERROR = {"duration": _duration(), "percentage": Param("percent", True, None, 1, 100),
              "service": Param("text"), "operations": Param("text")}
_INSTANCES = ("ec2", "asg")
_FUNCTION = {"duration": _duration(), "invocationPercentage": Param("percent", False, 100, 1, 100)}

# FIS actions reference: resource types, roles and parameters as documented there.
ACTIONS: dict[str, Action] = {
    "aws:ec2:terminate-instances": Action("aws:ec2:instance", "Instances", _INSTANCES, selectable=True),
    "aws:ec2:stop-instances": Action("aws:ec2:instance", "Instances", _INSTANCES, {
        "startInstancesAfterDuration": _duration(required=False),
        "completeIfInstancesTerminated": Param("bool", False, False)}, selectable=True),
    "aws:ec2:send-spot-instance-interruptions": Action("aws:ec2:spot-instance", "SpotInstances", _INSTANCES, {
        "durationBeforeInterruption": _duration(2 * MINUTE, 15 * MINUTE)}, zone="none", selectable=True),
    "aws:ec2:asg-insufficient-instance-capacity-error": Action(
        "aws:ec2:autoscaling-group", "AutoScalingGroups", ("asg",), {
            "duration": _duration(), "availabilityZoneIdentifiers": Param("zones", True),
            "percentage": Param("percent", False, 100, 100, 100)}, zone="none"),
    "aws:ecs:stop-task": Action("aws:ecs:task", "Tasks", ("ecs",), selectable=True),
    "aws:network:disrupt-connectivity": Action("aws:ec2:subnet", "Subnets", (), {
        "duration": _duration(), "scope": Param("scope", True)}, zone="required"),
    "aws:rds:failover-db-cluster": Action("aws:rds:cluster", "Clusters", ("aurora", "rds"), zone="none"),
    "aws:rds:reboot-db-instances": Action("aws:rds:db", "DBInstances", ("rds", "aurora"), {
        "forceFailover": Param("bool", False, False)}, zone="none"),
    "aws:elasticache:replicationgroup-interrupt-az-power": Action(
        "aws:elasticache:replicationgroup", "ReplicationGroups", ("elasticache",), {"duration": _duration()},
        zone="required"),
    "aws:lambda:invocation-add-delay": Action("aws:lambda:function", "Functions", ("lambda",), {
        **_FUNCTION, "startupDelayMilliseconds": Param("int", False, 1000, 0, 900_000)}, zone="none"),
    "aws:lambda:invocation-error": Action("aws:lambda:function", "Functions", ("lambda",), {
        **_FUNCTION, "preventExecution": Param("bool", True)}, zone="none"),
    "aws:fis:inject-api-throttle-error": Action("aws:iam:role", "Roles", ("*",), _API_ERROR, zone="none"),
    "aws:fis:inject-api-unavailable-error": Action("aws:iam:role", "Roles", ("*",), _API_ERROR, zone="none"),
    "aws:fis:inject-api-internal-error": Action("aws:iam:role", "Roles", ("*",), _API_ERROR, zone="none"),
    "aws:fis:wait": Action(None, None, (), {"duration": _duration()}, zone="none"),
}
SCENARIO_ACTION = Action(None, None, (), {"duration": _duration(default="PT30M", required=False)},
                         zone="required")
# disrupt-connectivity scopes: cloudtwin models `all` (the zone's subnets cut off)
SCOPES = ("all", "availability-zone", "dynamodb", "prefix-list", "s3", "s3express", "vpc")
_ISO_RE = re.compile(r"^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_SELECT_RE = re.compile(r"^(ALL|COUNT\((\d+)\)|PERCENT\((\d+(?:\.\d+)?)\))$")
ACTION_ID_RE = re.compile(r"^aws:[a-z0-9-]+:[a-z0-9-]+$")


def action_of(fis: str) -> Action | None:
    """The definition of FIS action (or scenario) ``fis``; None when cloudtwin does not know it."""
    if fis in SCENARIO_ALIASES:
        return SCENARIO_ACTION
    return ACTIONS.get(fis)


def is_scenario(fis: str | None) -> bool:
    return fis in SCENARIO_ALIASES


def parse_iso_duration(text: object) -> float:
    """Seconds from an ISO 8601 duration (``PT5M``, ``PT1H30M``, ``PT90S``, ``P1D``)."""
    m = _ISO_RE.match(text) if isinstance(text, str) else None
    if m is None or not any(m.groups()) or (isinstance(text, str) and text.endswith("T")):
        raise ValueError(f"expected an ISO 8601 duration like PT5M or PT1H30M, got {text!r}")
    d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return d * 86_400 + h * HOUR + mi * MINUTE + s


def iso_duration(seconds: float) -> str:
    """``seconds`` as an ISO 8601 duration, in the largest whole units (``PT10M``, ``PT1H30M``)."""
    whole = round(seconds)
    if abs(seconds - whole) > 1e-9:
        return f"PT{seconds:g}S"
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    out = "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "") + (f"{s}S" if s or whole == 0 else "")
    return out


def parse_selection(text: str) -> tuple[str, float]:
    """FIS ``selectionMode``: ``("ALL", 0)``, ``("COUNT", n)`` or ``("PERCENT", p)``."""
    m = _SELECT_RE.match(text.strip())
    if m is None:
        raise ValueError(f"expected a selection mode ALL, COUNT(n) or PERCENT(n), got {text!r}")
    if m.group(2):
        return "COUNT", float(m.group(2))
    if m.group(3):
        return "PERCENT", float(m.group(3))
    return "ALL", 0.0


def selected(selection: str, population: int) -> int:
    """How many of ``population`` instances a selection mode picks. PERCENT rounds down, but
    picks at least one of a non-empty population (an assumption: FIS does not say)."""
    mode, n = parse_selection(selection)
    if mode == "ALL":
        return population
    if mode == "COUNT":
        return min(int(n), population)
    return min(population, max(1 if population and n > 0 else 0, math.floor(population * n / 100)))


def param_text(value: object) -> str:
    """A parameter value as the string FIS takes (booleans lower-case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def param(f: Fault, name: str) -> Any:
    """The parsed value of parameter ``name`` of FIS fault ``f`` (its default when not given):
    seconds for durations, a number for percentages and integers, a bool, or the text."""
    act = action_of(f.fis or "")
    assert act is not None
    p = act.params[name]
    raw = f.parameters.get(name, p.default)
    if raw is None:
        return None
    return _parse(p, raw)


def _parse(p: Param, raw: object) -> Any:
    if p.kind == "duration":
        v = parse_iso_duration(raw)
        if not p.lo <= v <= p.hi:
            raise ValueError(f"must be between {iso_duration(p.lo)} and {iso_duration(p.hi)}, got {raw!r}")
        return v
    if p.kind in ("percent", "int"):
        try:
            v = float(str(raw).strip())
        except ValueError:
            raise ValueError(f"expected a number, got {raw!r}") from None
        if p.kind == "int" and not v.is_integer():
            raise ValueError(f"expected a whole number, got {raw!r}")
        if not p.lo <= v <= p.hi:
            raise ValueError(f"must be between {p.lo:g} and {p.hi:g}, got {raw!r}")
        return v
    if p.kind == "bool":
        text = param_text(raw).lower()
        if text not in ("true", "false"):
            raise ValueError(f"expected true or false, got {raw!r}")
        return text == "true"
    if p.kind == "scope":
        if raw not in SCOPES:
            raise ValueError(f"expected one of {', '.join(SCOPES)}, got {raw!r}")
        if raw != "all":
            raise ValueError(f"scope {raw!r} is not modelled; cloudtwin models scope `all` (the zone's "
                             "subnets cut off from everything)")
        return raw
    return param_text(raw)


def zone_of(text: str, arch: Architecture) -> str | None:
    """A spec zone from a zone letter (``a``) or a zone name (``us-east-1a``)."""
    t = text.strip()
    if t in arch.zones:
        return t
    if t.startswith(arch.region) and t[len(arch.region):] in arch.zones:
        return t[len(arch.region):]
    return None


def closest(fis: str) -> list[str]:
    known = [*ACTIONS, *SCENARIO_ALIASES]
    return difflib.get_close_matches(fis, known, n=3, cutoff=0.5)


def check(arch: Architecture) -> list[tuple[Path, str]]:
    """The problems of the spec's FIS faults and ``startAfter`` order, as ``(path, message)``."""
    out: list[tuple[Path, str]] = []
    names: dict[str, int] = {}
    for i, f in enumerate(arch.faults):
        if f.name is not None:
            if f.name in names:
                out.append((("faults", i, "name"), f"{f.name!r} already names fault {names[f.name]}"))
            names.setdefault(f.name, i)
        if f.fis is not None:
            out.extend(_check_one(arch, f, ("faults", i)))
    for i, f in enumerate(arch.faults):
        for k, n in enumerate(f.start_after):
            if n not in names:
                close = difflib.get_close_matches(n, list(names), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                out.append((("faults", i, "start_after", k), f"no fault is named {n!r}{hint} "
                            f"(named: {', '.join(sorted(names)) or 'none'})"))
            elif names[n] == i:
                out.append((("faults", i, "start_after", k), f"fault {n!r} cannot start after itself"))
    if not out:
        cycle = _cycle(arch.faults, names)
        if cycle is not None:
            out.append((("faults", cycle[0], "start_after"), "startAfter goes round in a circle: "
                        + " -> ".join(arch.faults[c].name or str(c) for c in cycle)))
    return out


def _check_one(arch: Architecture, f: Fault, base: Path) -> list[tuple[Path, str]]:
    out: list[tuple[Path, str]] = []
    fis = f.fis or ""
    act = action_of(fis)
    if act is None:
        close = closest(fis)
        why = " (an action id is aws:service:action-type)" if not ACTION_ID_RE.match(fis) else ""
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        out.append(((*base, "fis"), f"unknown or unmodelled FIS action {fis!r}{why}{hint} "
                    f"(modelled: {', '.join(ACTIONS)}, and the scenario {SCENARIO!r})"))
        return out
    for k, v in f.parameters.items():
        if k not in act.params:
            close = difflib.get_close_matches(k, list(act.params), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            valid = ", ".join(act.params) or "none"
            out.append(((*base, "parameters", k), f"{fis} has no parameter {k!r}{hint} (its parameters: {valid})"))
            continue
        try:
            _parse(act.params[k], v)
        except ValueError as exc:
            out.append(((*base, "parameters", k), str(exc)))
    for k, p in act.params.items():
        if p.required and p.default is None and k not in f.parameters:
            out.append(((*base, "parameters"), f"{fis} needs the parameter {k!r}"))
    prevent = f.parameters.get("preventExecution")
    if fis == "aws:lambda:invocation-error" and prevent is not None and param_text(prevent).lower() == "false":
        out.append(((*base, "parameters", "preventExecution"), "preventExecution: false (run the code, then "
                    "fail) is not modelled; cloudtwin models true (the error without running the code)"))
    out.extend(_check_targets(arch, f, act, base))
    if act.zone == "required" and f.zone is None:
        out.append(((*base, "zone"), f"{fis} acts on one Availability Zone: give `zone:`"))
    if act.zone == "none" and f.zone is not None:
        out.append(((*base, "zone"), f"{fis} takes no `zone:`"))
    if f.zone is not None and f.zone not in arch.zones:
        out.append(((*base, "zone"), f"zone {f.zone!r} is not in {sorted(arch.zones)}"))
    if "availabilityZoneIdentifiers" in f.parameters:
        for z in str(f.parameters["availabilityZoneIdentifiers"]).split(","):
            if zone_of(z, arch) is None:
                out.append(((*base, "parameters", "availabilityZoneIdentifiers"),
                            f"{z.strip()!r} is not a zone of the spec ({', '.join(arch.zones)}, or "
                            f"{arch.region}{arch.zones[0]}...)"))
    if f.selection is not None:
        try:
            parse_selection(f.selection)
        except ValueError as exc:
            out.append(((*base, "selection"), str(exc)))
        else:
            if not act.selectable and f.selection != "ALL":
                out.append(((*base, "selection"), f"{fis} acts on whole resources; only ALL applies"))
    return out


def _check_targets(arch: Architecture, f: Fault, act: Action, base: Path) -> list[tuple[Path, str]]:
    out: list[tuple[Path, str]] = []
    fis = f.fis or ""
    comps = arch.components
    if act.role is None or not act.kinds:
        if f.targets:
            out.append(((*base, "targets"), f"{fis} takes no `targets:`" +
                        (" (it acts on the subnets of `zone:`)" if act.role == "Subnets" else "")))
        return out
    if not f.targets:
        out.append(((*base, "targets"), f"{fis} needs `targets: {{{act.role}: <component>}}`"))
        return out
    for role, name in f.targets.items():
        if role != act.role:
            out.append(((*base, "targets", role), f"{fis} targets {act.role!r}, not {role!r}"))
            continue
        if name not in comps:
            close = difflib.get_close_matches(name, list(comps), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            out.append(((*base, "targets", role), f"no component is named {name!r}{hint}"))
        elif act.kinds == ("*",):
            from cloudtwin.spec.references import _operations

            if comps[name].type not in _operations():
                out.append(((*base, "targets", role), f"{fis}: {name!r} ({comps[name].type}) has no API "
                            "that is called"))
        elif comps[name].type not in act.kinds:
            out.append(((*base, "targets", role), f"{fis} acts on {' or '.join(act.kinds)}; "
                        f"{name!r} is {comps[name].type}"))
    return out


def _cycle(faults: list[Fault], names: dict[str, int]) -> list[int] | None:
    state: dict[int, int] = {}

    def visit(i: int, trail: list[int]) -> list[int] | None:
        state[i] = 1
        for n in faults[i].start_after:
            j = names[n]
            if state.get(j) == 1:
                return [*trail[trail.index(j):], j] if j in trail else [i, j]
            if j not in state and (c := visit(j, [*trail, j])) is not None:
                return c
        state[i] = 2
        return None

    for i in range(len(faults)):
        if i not in state and (c := visit(i, [i])) is not None:
            return c
    return None


def length(f: Fault) -> float:
    """How long fault ``f`` lasts once started, in seconds: its ``duration`` (legacy form), or
    its FIS action's: ``duration``, ``startInstancesAfterDuration`` (stop-instances),
    ``durationBeforeInterruption`` (spot interruptions); 0 for one-shot actions."""
    if f.fis is None:
        return f.duration or 0.0
    act = action_of(f.fis)
    assert act is not None
    for key in ("duration", "startInstancesAfterDuration", "durationBeforeInterruption"):
        if key in act.params:
            v = param(f, key)
            if v is not None:
                return float(v)
    return 0.0


def start_times(faults: list[Fault]) -> list[float]:
    """When each fault starts: ``at`` (FIS form: 0 when not given), or, with ``startAfter``, when
    the last of the named faults has completed. The spec check has ruled out cycles."""
    names = {f.name: i for i, f in enumerate(faults) if f.name is not None}
    memo: dict[int, float] = {}

    def start(i: int) -> float:
        if i not in memo:
            f = faults[i]
            if f.start_after:
                memo[i] = max(start(names[n]) + length(faults[names[n]]) for n in f.start_after)
            else:
                memo[i] = f.at or 0.0
        return memo[i]

    return [start(i) for i in range(len(faults))]
