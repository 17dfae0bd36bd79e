"""The catalogue is bound to the classes it names and to docs/spec.md, so none of them can drift."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from cloudtwin import catalogue
from cloudtwin.component import Component
from cloudtwin.pricing import meters
from cloudtwin.spec.base import ComponentSpec

DOC = Path(__file__).resolve().parents[1] / "docs" / "spec.md"
ROWS = sorted(catalogue.ROWS.values(), key=lambda r: r.type)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.type)
def test_row_names_real_models(row: catalogue.ComponentType) -> None:
    spec, live = catalogue.resolve(row.spec_model), catalogue.resolve(row.live_model)
    assert issubclass(spec, ComponentSpec)
    assert row.type in typing.get_args(spec.model_fields["type"].annotation), "the model must accept its type"
    assert issubclass(live, Component) and live.kind == row.type
    # the live model serves requests if it lists operations or is a workload entry, else takes none
    serves = live.serve is not Component.serve or live.handle is not Component.handle
    assert serves == bool(row.operations or row.entry)
    assert row.group in catalogue.GROUPS
    assert row.family in ("", "load_balancer", "compute", "database")
    assert row.meter is None or callable(getattr(meters, f"_{row.meter}"))
    assert all(re.fullmatch(r"AWS::\w+::\w+", c) for c in row.cfn)


def test_string_references_are_module_colon_class() -> None:
    for row in ROWS:
        for ref in (row.spec_model, row.live_model):
            assert isinstance(ref, str) and re.fullmatch(r"cloudtwin\.(spec|services)\.\w+:\w+", ref)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.type)
def test_spec_mirrors_services(row: catalogue.ComponentType) -> None:
    """A type's schema lives in the spec module named after its service's live module."""
    spec_mod = str(row.spec_model).split(":")[0].rsplit(".", 1)[1]
    live_mod = str(row.live_model).split(":")[0].rsplit(".", 1)[1]
    assert spec_mod == live_mod


def test_spec_package_holds_services_and_shared_modules_only() -> None:
    """Every module of cloudtwin/spec is a service's schema or one of the shared modules."""
    spec_dir = Path(catalogue.__file__).parent / "spec"
    services = {str(r.live_model).split(":")[0].rsplit(".", 1)[1] for r in ROWS}
    shared = {"__init__", "base", "units", "loader", "references", "schema", "steps", "message", "schedule",
              "graph", "flows", "account", "links", "netflows", "transfer", "backups",  # backups: ebs and rds share it
              "fis", "hypothesis", "failures",
              "cloudfront_behavior"}  # the cloudfront schema's cache policy, kept apart from its distribution keys
    modules = {p.stem for p in spec_dir.glob("*.py")}
    assert modules - services == shared


def test_each_cloudformation_type_maps_to_one_component_type_or_a_family() -> None:
    seen: dict[str, set[str]] = {}
    for row in ROWS:
        for c in row.cfn:
            seen.setdefault(c, set()).add(row.type)
    shared = {c: ts for c, ts in seen.items() if len(ts) > 1}
    # one ELBv2 resource type is an ALB or an NLB (its Type property says which)
    assert shared == {"AWS::ElasticLoadBalancingV2::LoadBalancer": {"alb", "nlb"}}


def test_families_are_what_the_review_and_pricing_use() -> None:
    assert catalogue.family("load_balancer") == ("alb", "clb", "nlb")
    assert catalogue.family("compute") == ("asg", "ec2")
    assert catalogue.family("database") == ("aurora", "rds")


def doc_table() -> dict[str, list[str]]:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index("| `type:` | model | operations | entry | CloudFormation | what it is |")
    out: dict[str, list[str]] = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        out[cells[0].strip("`")] = cells
    return out


def test_docs_component_table_is_the_catalogue() -> None:
    table = doc_table()
    assert sorted(table) == [r.type for r in ROWS]
    for row in ROWS:
        cells = table[row.type]
        assert cells[1] == f"`{catalogue.resolve(row.spec_model).__name__}`", row.type
        ops = ", ".join("(request)" if o == "" else f"`{o}`" for o in row.operations) or "—"
        assert cells[2] == ops, row.type
        assert cells[3] == ("yes" if row.entry else "no"), row.type
        assert cells[4] == (", ".join(f"`{c}`" for c in row.cfn) or "—"), row.type
