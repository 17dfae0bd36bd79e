"""docs/spec.md documents every key of the spec: a drift test.

Every pydantic model reachable from :class:`Architecture` (components, steps, nested
mappings) has a section whose heading says ``(model `Name`)`` and holds a key table
(header ``| key | type | default | ...``). Every field must have a row there (or in the
section of the base class that declares it), every row must name a real field, and a
required field must say "required", a plain default must match the code. Adding a field
without documenting it fails this test.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from cloudtwin.catalogue import ROWS, resolve
from cloudtwin.spec.base import Model
from cloudtwin.spec.schema import Architecture

DOC = Path(__file__).resolve().parents[1] / "docs" / "spec.md"
HEADING = re.compile(r"^#+ .*\(model `(\w+)`\)\s*$")
ROW_KEY = re.compile(r"^\|\s*`([^`]+)`\s*\|")
COLUMNS = ["key", "type", "default", "range / allowed", "meaning", "source", "v1"]


def models() -> list[type[BaseModel]]:
    """Every model reachable from Architecture (and from each component type's model) through
    field types, plus their model bases."""
    found: list[type[BaseModel]] = []

    def walk(tp: Any) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            for cls in tp.__mro__:
                if isinstance(cls, type) and issubclass(cls, Model) and cls is not Model and cls not in found:
                    found.append(cls)
                    for f in cls.model_fields.values():
                        walk(f.annotation)
            return
        for arg in typing.get_args(tp):
            walk(arg)

    walk(Architecture)
    for row in ROWS.values():  # `components` is validated per type against the catalogue's models
        walk(resolve(row.spec_model))
    return found


def key_tables() -> dict[str, dict[str, list[str]]]:
    """Model name -> {key: row cells} from the first key table of its section."""
    out: dict[str, dict[str, list[str]]] = {}
    current: str | None = None
    in_table = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            m = HEADING.match(line)
            current = m.group(1) if m else None
            if current is not None:
                assert current not in out, f"two sections for model {current}"
                out[current] = {}
            in_table = False
            continue
        if current is None:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if cells[:1] == ["key"]:
            assert cells == COLUMNS, f"{current}: key table columns {cells}"
            in_table = not out[current]
        elif not line.startswith("|"):
            in_table = False
        elif in_table and (m := ROW_KEY.match(line)):
            assert len(cells) == len(COLUMNS), f"{current}.{m.group(1)}: {len(cells)} cells"
            out[current][m.group(1)] = cells
    return out


MODELS = models()
TABLES = key_tables()


def test_every_model_is_found() -> None:
    names = {m.__name__ for m in MODELS}
    # the walk itself must reach the deep corners, or the test below proves nothing
    assert {"Architecture", "Compute", "EC2", "ASG", "Capacity", "StepPolicy", "LoadBalancer", "Stickiness",
            "Record", "R53HealthCheck", "CallStep", "CpuStep", "SleepStep", "Profile", "Sessions", "Fault",
            "Simulate", "Network", "BlueprintMeta"} <= names


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_field_is_documented_in_its_section(model: type[BaseModel]) -> None:
    assert model.__name__ in TABLES, f"docs/spec.md has no section '(model `{model.__name__}`)'"
    for name, field in model.model_fields.items():
        owner = next(c for c in model.__mro__ if name in getattr(c, "__annotations__", {}))
        table = TABLES.get(owner.__name__, {}) if owner is not model and owner.__name__ in TABLES else {}
        row = TABLES[model.__name__].get(name) or table.get(name)
        assert row is not None, f"{model.__name__}.{name} is not documented in docs/spec.md"
        _check_default(model.__name__, name, field, row[2])
        assert row[6] in ("v1", "ext") or row[6].startswith(("v1 ", "ext ")), f"{model.__name__}.{name}: v1 column"


def _check_default(model: str, name: str, field: Any, cell: str) -> None:
    where = f"{model}.{name}: default cell {cell!r}"
    if field.is_required():
        assert cell == "required", where
        return
    assert cell != "required", where
    default = field.default
    if default is PydanticUndefined or default is None:
        return
    plain = cell.replace("`", "").replace(",", "")
    if isinstance(default, bool):
        assert str(default).lower() in plain, where
    elif isinstance(default, int | str) and default != "":
        assert str(default) in plain, where


def test_documented_keys_exist() -> None:
    """A row for a key the model does not have is drift too (a rename, a removal)."""
    by_name = {m.__name__: m for m in MODELS}
    for model, rows in TABLES.items():
        assert model in by_name, f"docs/spec.md documents model {model}, which the schema does not have"
        fields = set(by_name[model].model_fields)
        assert rows, f"section of {model} has no key table"
        assert set(rows) <= fields, f"{model}: documented but not in the schema: {sorted(set(rows) - fields)}"


def test_component_types_are_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for t in ROWS:
        assert f"`{t}`" in text


def test_the_drift_test_can_fail() -> None:
    """A model with an undocumented field must be caught."""

    class Undocumented(Model):
        brand_new_key: int = 1

    Undocumented.__name__ = "Capacity"
    with pytest.raises(AssertionError, match="brand_new_key"):
        test_every_field_is_documented_in_its_section(Undocumented)


def _yaml_blocks(path: Path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def test_yaml_examples_in_the_docs_are_valid_specs() -> None:
    from cloudtwin import parse_spec

    readme = DOC.parents[1] / "README.md"
    blocks = _yaml_blocks(DOC) + _yaml_blocks(readme)
    assert len(blocks) >= 2
    for text in blocks:
        parse_spec(text)


def test_readme_commands_exist() -> None:
    """The README shows only commands that exist (planned ones are named as planned)."""
    from cloudtwin.cli import app

    readme = (DOC.parents[1] / "README.md").read_text(encoding="utf-8")
    shell = "\n".join(re.findall(r"```sh\n(.*?)```", readme, re.S))
    used = set(re.findall(r"^cloudtwin (\w+)", shell, re.M))
    have = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    assert used and used <= have, used - have
    assert "make demo" in readme and "make test" in readme


def test_every_series_is_documented_with_the_metric_it_follows() -> None:
    """Each series name the results can hold has a row in docs/spec.md's series table, whose
    sampling agrees with results.SAMPLING."""
    from cloudtwin.results import SAMPLING

    text = (Path(__file__).resolve().parents[1] / "docs" / "spec.md").read_text(encoding="utf-8")
    table = text.split("## Series: what each per-minute series follows", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            samplings = [x.strip() for x in cells[2].split(",")]
            names = [n.strip(" `") for n in cells[0].split(",")]
            for i, n in enumerate(names):
                rows[n] = samplings[i] if len(samplings) == len(names) else samplings[0]
    assert set(rows) == set(SAMPLING)
    assert {n: rows[n] for n in SAMPLING} == SAMPLING
