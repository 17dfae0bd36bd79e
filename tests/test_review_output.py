"""Review output: SARIF 2.1.0 valid against the official schema, JSON, text, and the CLI's exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from cloudtwin.blueprints import names
from cloudtwin.cli import app
from cloudtwin.review import review
from cloudtwin.review.output import to_sarif, to_text
from cloudtwin.spec import load_spec_located
from test_review_rules import REFERENCE

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
runner = CliRunner()


def validate(doc: dict) -> None:
    jsonschema.Draft4Validator(SCHEMA).validate(doc)


def test_the_validator_rejects_broken_sarif() -> None:
    with pytest.raises(jsonschema.ValidationError):
        validate({"version": "2.1.0", "runs": [{"results": []}]})  # a run needs tool.driver


@pytest.mark.parametrize("name", names())
def test_every_blueprint_reviews_to_valid_sarif(name: str) -> None:
    arch, located = load_spec_located(name)
    rep = review(arch, located=located)
    doc = to_sarif(rep)
    validate(doc)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len(rules) == len(rep.rules) >= 30
    for r in rules:
        assert r["helpUri"].startswith("https://docs.aws.amazon.com/wellarchitected/2024-06-27/framework/")
        assert r["properties"]["pillar"] in r["properties"]["tags"] and r["properties"]["best_practices"]
    assert len(run["results"]) == len(rep.findings)
    for res, f in zip(run["results"], rep.findings, strict=True):
        loc = res["locations"][0]
        phys = loc["physicalLocation"]
        assert phys["artifactLocation"]["uri"].endswith(f"{name}.yaml")
        assert phys["region"]["startLine"] == f.line >= 1
        assert loc["logicalLocations"][0]["name"] == (f.component or f.path)  # a flow's finding names its path
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]


@pytest.mark.slow
def test_sarif_with_simulation_is_valid_and_carries_evidence(tmp_path: Path) -> None:
    out = tmp_path / "r.sarif"
    res = runner.invoke(app, ["review", "simple-web-app-single-az", "--simulate", "--format", "sarif",
                              "--output", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    validate(doc)
    ev = [e for r in doc["runs"][0]["results"] for e in r["properties"]["evidence"] if e["kind"] == "dynamic"]
    assert any("zone-a outage" in e["text"] for e in ev)


def test_fail_on_sets_the_exit_code(tmp_path: Path) -> None:
    assert runner.invoke(app, ["review", "instance-eip", "--fail-on", "high"]).exit_code == 1
    assert runner.invoke(app, ["review", "instance-eip"]).exit_code == 0  # no --fail-on: report only
    good = tmp_path / "reference.yaml"
    good.write_text(REFERENCE, encoding="utf-8")
    for level in ("low", "medium", "high"):
        assert runner.invoke(app, ["review", str(good), "--fail-on", level]).exit_code == 0
    # a medium finding fails --fail-on medium and low, not high
    medium = REFERENCE.replace("state: elasticache, store: cache", "state: instance")
    mid = tmp_path / "medium.yaml"
    mid.write_text(medium, encoding="utf-8")
    codes = [runner.invoke(app, ["review", str(mid), "--fail-on", lv]).exit_code for lv in ("low", "medium", "high")]
    assert codes == [1, 1, 0]


def test_bad_input_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncomponents:\n  web: {type: ec3}\n", encoding="utf-8")
    res = runner.invoke(app, ["review", str(bad)])
    assert res.exit_code == 2 and "bad.yaml:3" in res.output
    assert runner.invoke(app, ["review", "no-such-blueprint"]).exit_code == 2
    assert runner.invoke(app, ["review", "simple-web-app", "--format", "xml"]).exit_code == 2


def test_json_and_text_output() -> None:
    res = runner.invoke(app, ["review", "instance-eip", "--format", "json"])
    doc = json.loads(res.output)
    assert doc["framework"] == "2024-06-27" and doc["counts"]["high"] == len(doc["findings"]) >= 4
    eip = next(f for f in doc["findings"] if f["rule"] == "CT-REL-014")
    assert eip["location"] == {"path": "components.app.elastic_ip", "file": "instance-eip", "line": 22}
    assert eip["best_practices"] == ["REL02-BP01"]
    arch, located = load_spec_located("instance-eip")
    text = to_text(review(arch, located=located))
    assert "instance-eip:22: HIGH CT-REL-014 [REL02-BP01] Elastic IP used as the public endpoint" in text
    assert "reliability" in text and "Pillar scores:" in text
