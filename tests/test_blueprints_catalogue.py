"""Every built-in blueprint is valid, documented, claimed, and exercised by a test."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cloudtwin
from cloudtwin.blueprints import catalogue, names
from cloudtwin.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "blueprints.md").read_text(encoding="utf-8")
TESTS = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_blueprints_row*.py"))


def test_there_are_blueprints() -> None:
    assert len(names()) >= 9


@pytest.mark.parametrize("name", names())
def test_blueprint_is_valid_and_claimed(name: str) -> None:
    arch = cloudtwin.load_spec(name)
    assert arch.name == name
    assert arch.blueprint is not None and arch.blueprint.section and len(arch.blueprint.claim) > 30
    jobs = any(getattr(c, "jobs", None) for c in arch.components.values())  # batch jobs are its own traffic
    assert arch.workloads or arch.flows or jobs, \
        "a blueprint needs traffic (requests, network flows or batch jobs) to demonstrate anything"


@pytest.mark.parametrize("bp", catalogue(), ids=lambda b: b["name"])
def test_blueprint_is_documented_with_its_claim(bp: dict[str, str]) -> None:
    assert f"## `{bp['name']}`" in DOC
    assert bp["claim"].strip() in DOC


@pytest.mark.parametrize("name", names())
def test_blueprint_has_a_test_that_runs_it(name: str) -> None:
    assert f'"{name}"' in TESTS or f"'{name}'" in TESTS or f"{name}.yaml" in TESTS


def test_cli_lists_every_blueprint_with_its_section_and_claim() -> None:
    out = CliRunner().invoke(app, ["blueprints", "--json"])
    assert out.exit_code == 0
    rows = json.loads(out.stdout)
    assert [r["name"] for r in rows] == names()
    assert all(r["section"] and r["claim"] for r in rows)
