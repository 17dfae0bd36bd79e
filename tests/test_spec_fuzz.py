"""Fuzzing the spec loader: whatever the input, the answer is an Architecture or a SpecError.

Three sources of input: arbitrary text, text built from YAML's own tokens (anchors,
tags, flow collections, merge keys...), and valid specs mutated key by key.
Any other exception (a KeyError, a RecursionError, a pydantic error leaking out)
is a bug.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudtwin import Architecture, SpecError, parse_spec
from cloudtwin.blueprints import blueprint_path

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ROOT = Path(__file__).resolve().parents[1]
SEEDS: list[dict[str, Any]] = []
for _design in (ROOT / "DESIGN.md", ROOT / "docs" / "DESIGN.md", Path("/work/shared/DESIGN.md")):
    if _design.is_file() and (m := re.search(r"## The spec \(YAML\), v1.*?```yaml\n(.*?)```",
                                             _design.read_text(encoding="utf-8"), re.S)):
        SEEDS.append(yaml.safe_load(m.group(1)))
        break
for _name in ("simple-web-app", "web-app-cache", "web-app-sticky", "alb-alias", "web-app-efs"):
    if (_bp := blueprint_path(_name)) is not None:
        SEEDS.append(yaml.safe_load(_bp.read_text(encoding="utf-8")))
assert SEEDS, "no valid spec to mutate"


def check(text: str) -> None:
    try:
        arch = parse_spec(text, file="fuzz.yaml")
    except SpecError as exc:
        assert exc.issues, "a SpecError must carry at least one issue"
        for i in exc.issues:
            assert i.file == "fuzz.yaml" and i.line >= 1 and i.message and "\n" not in i.message
    else:
        assert isinstance(arch, Architecture)


TOKENS = ["name: t", "components:", "web:", "type: ec2", "type: alb", "targets: web", "handler:", "- cpu: exp(1ms)",
          "- call: web", "key: zipf(s=1.1, n=10)", "workloads:", "entry: web", "rate: 1/s", "faults:",
          "simulate:", "duration: 1m", "&a", "*a", "*b", "<<: *a", "!!python/object:os.system", "!!binary",
          "!!set", "!x", "[", "]", "{", "}", ",", ":", "-", "'", '"', "#", "---", "...", "%YAML 1.1", "?", "|",
          ">", "~", ".inf", ".nan", "1e999", "-1", "0x1F", "2020-01-01", "1:30", "yes", "on", "\t", "\x00",
          "\n", "\n  ", "\n    ", " ", "é", "\ufeff"]
yamlish = st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "web", "lb", "a", "z", "250ms", "-5s", "1e999s", "400/s", "1e12/s", "4KB", "exp(8ms)",
                     "lognormal(median=1ms, p99=0.5ms)", "uniform(5ms, 1ms)", "zipf(s=1.1, n=100000)",
                     "zipf(s=0, n=0)", "replay(/nonexistent.csv)", "diurnal", "ec2", "asg", "alb", "route53",
                     "elasticache", "rds", "cache.get", "db.query", "36500d", "poisson", "constant"]),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def _containers(node: Any, out: list[Any]) -> list[Any]:
    if isinstance(node, dict | list):
        out.append(node)
        for v in node.values() if isinstance(node, dict) else node:
            _containers(v, out)
    return out


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    data = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        boxes = _containers(data, [])
        box = boxes[draw(st.integers(0, len(boxes) - 1))]
        keys = list(box) if isinstance(box, dict) else list(range(len(box)))
        action = draw(st.sampled_from(["delete", "replace", "insert"]))
        if action == "insert" or not keys:
            if isinstance(box, dict):
                key = draw(st.one_of(st.sampled_from(["type", "zones", "count", "handler", "on_miss", "ttl", "rate",
                                                      "sessions", "profile", "stickiness", "records"]),
                                     st.text(max_size=8)))
                box[key] = draw(values)
            else:
                box.insert(draw(st.integers(0, len(box))), draw(values))
        elif action == "delete":
            del box[keys[draw(st.integers(0, len(keys) - 1))]]
        else:
            box[keys[draw(st.integers(0, len(keys) - 1))]] = draw(values)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def test_seed_specs_are_valid() -> None:
    for data in SEEDS:
        check(yaml.safe_dump(data, sort_keys=False))
        parse_spec(yaml.safe_dump(data, sort_keys=False))


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    check(text)


@FUZZ
@given(yamlish)
def test_yaml_token_soup(text: str) -> None:
    check(text)


@FUZZ
@given(mutated_specs())
def test_mutated_valid_specs(text: str) -> None:
    check(text)
