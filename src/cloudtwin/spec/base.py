"""Shared pieces of the spec schema: the strict base model and the unit types."""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from cloudtwin.engine.sampling import Distribution
from cloudtwin.spec.units import (
    parse_bandwidth,
    parse_distribution,
    parse_duration,
    parse_key_distribution,
    parse_rate,
    parse_size,
)


class Model(BaseModel):
    """A frozen model that rejects unknown keys, suggesting the closest valid one."""

    # defer_build: a model's validator is built the first time it validates, so a run builds
    # only the models its spec uses (start-up stays flat as component types are added)
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False,
                              defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = {n for n, f in cls.model_fields.items()} | {
                f.alias for f in cls.model_fields.values() if f.alias
            }
            for key in data:
                if key not in allowed:
                    close = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.6)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    if any(ch in str(key) for ch in "=()"):
                        hint = ("; a value with commas inside a YAML flow mapping {...} must be quoted, "
                                'e.g. {call: cache.get, key: "zipf(s=1.1, n=100000)"}')
                    msg = f"unknown key {key!r}{hint} (valid keys: {', '.join(sorted(allowed))})"
                    raise PydanticCustomError("unknown_key", "{msg}", {"msg": msg, "key": key})
        elif data is not None and not isinstance(data, BaseModel):
            msg = f"expected a mapping of keys, got {data!r}"
            raise PydanticCustomError("expected_mapping", "{msg}", {"msg": msg})
        return data


class ComponentSpec(Model):
    """The spec of one component: every type's model derives from this and narrows ``type``
    to its own name(s) (the catalogue, :mod:`cloudtwin.catalogue`, maps one to the other)."""

    type: str


def _dist(of: str) -> Any:
    def parse(v: Any) -> Distribution:
        return v if isinstance(v, Distribution) else parse_distribution(v, of=of)

    return PlainValidator(parse)


def _ser(d: Distribution) -> str:
    return d.text or str(d)


Duration = Annotated[float, BeforeValidator(parse_duration)]
Rate = Annotated[float, BeforeValidator(parse_rate)]
Size = Annotated[float, BeforeValidator(parse_size)]
Bandwidth = Annotated[float, BeforeValidator(parse_bandwidth)]  # bits per second
Dist = Annotated[Distribution, _dist("duration"), PlainSerializer(_ser)]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]
"""A component or workload name (also its key in the spec)."""
Zone = Annotated[str, Field(pattern=r"^[a-z]$")]


def _cidr(v: Any) -> str:
    """An IPv4 CIDR block (``203.0.113.0/24``; a bare address is its /32), normalised."""
    import ipaddress

    try:
        net = ipaddress.IPv4Network(str(v).strip(), strict=False)
    except ValueError:
        raise ValueError(f"{v!r} is not an IPv4 CIDR block such as 203.0.113.0/24") from None
    return str(net)


# an IPv4 CIDR block: traffic sources, WAF IP sets, network ACL rules
Cidr = Annotated[str, BeforeValidator(_cidr)]
# a country as WAF's geo match and CloudFront's geo restriction name it: ISO 3166 alpha-2
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
"""An Availability Zone, by its letter."""
Prefix = Annotated[str, Field(pattern=r"^[A-Za-z0-9!_.*'()/=-]*$", max_length=512)]
"""An S3 key prefix written by a delivery stream or a query engine."""

KeyDist = Annotated[
    Distribution,
    PlainValidator(lambda v: v if isinstance(v, Distribution) else parse_key_distribution(v)),
    PlainSerializer(_ser),
]


def what_is(comps: Any, name: str) -> str:
    """How a reference names something: "a lambda", or "not a component; did you mean 'x'?
    (have: ...)" for a dangling one. For cross-reference messages."""
    c = comps.get(name)
    if c is not None:
        kind = str(c.type)
        return f"{'an' if kind[:1] in 'aeinrsx' and kind != 'route53' else 'a'} {kind}"
    close = difflib.get_close_matches(name, list(comps), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"not a component{hint} (have: {', '.join(sorted(comps))})"


def must_be(out: list[tuple[Any, str]], comps: Any, path: Any, name: str | None, kinds: tuple[str, ...],
            what: str) -> None:
    """Report at ``path`` unless ``name`` (when given) is a component of one of ``kinds``."""
    if name is None:
        return
    c = comps.get(name)
    if c is None or c.type not in kinds:
        got = "not a component" if c is None else f"a {c.type}"
        out.append((path, f"{what} {name!r} must be {' or '.join(kinds)}; it is {got}"))


def expect(out: list[tuple[Any, str]], comps: Any, path: Any, name: str, kinds: tuple[str, ...], what: str) -> Any:
    """The component ``name`` if it is one of ``kinds``; else report at ``path`` and return None."""
    c = comps.get(name)
    if c is None:
        out.append((path, f"{what} {name!r} is not a component (have: {', '.join(sorted(comps))})"))
    elif c.type not in kinds:
        article = "an" if c.type[0] in "aeiou" else "a"
        out.append((path, f"{what} {name!r} is {article} {c.type}; expected {' or '.join(kinds)}"))
    else:
        return c
    return None


def known_row(out: list[tuple[Any, str]], path: Any, table: str, key: str, what: str, hint: str = "") -> bool:
    """Report at ``path`` unless ``key`` is a row of data table ``table`` (a CSV of
    ``cloudtwin/data``), naming the closest known keys; True when it is."""
    from cloudtwin.sizes import data_keys, data_row

    if data_row(table, key) is not None:
        return True
    keys = data_keys(table)
    close = difflib.get_close_matches(key, keys, n=3, cutoff=0.5)
    near = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    out.append((path, f"unknown {what} {key!r}{near} ({len(keys)} known, listed in "
                f"cloudtwin/data/{table}){hint}"))
    return False
