"""Templates given where a spec is expected: run, review, diagram and sweep import them at once
and report problems at the template's lines."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cloudtwin.cli import app
from cloudtwin.importers.direct import load_input

DATA = Path(__file__).parent / "data"
runner = CliRunner()
TIER = str(DATA / "cfn" / "three-tier.yaml")


def test_a_template_is_imported_with_its_own_lines() -> None:
    arch, located, note = load_input(TIER)
    assert note is not None and "a template, imported (4 components" in note and "1 stub workload)" in note
    assert set(arch.components) == {"load-balancer", "web-server-group", "database", "cache"}
    text = Path(TIER).read_text().splitlines()
    # a path under a component is at the line of the resource it came from
    assert text[located.line_of(("components", "database", "encrypted")) - 1].strip() == "Database:"
    assert text[located.line_of(("workloads", "load-balancer-traffic", "rate")) - 1].strip() == "LoadBalancer:"
    assert located.file == TIER


def test_a_spec_and_a_blueprint_go_to_the_spec_loader(tmp_path: Path) -> None:
    assert load_input("simple-web-app")[2] is None
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncomponents: {a: {type: nope}}\n")
    r = runner.invoke(app, ["validate", str(bad)])
    assert r.exit_code == 2 and "bad.yaml:2" in r.stderr


def test_review_run_and_diagram_take_a_template() -> None:
    r = runner.invoke(app, ["review", TIER, "-f", "json"])
    assert r.exit_code == 0, r.stderr
    findings = json.loads(r.stdout)["findings"]
    enc = [f for f in findings if f["rule"] == "CT-SEC-001"]
    assert {f["location"]["line"] for f in enc} == {94, 109}  # the Database and Cache resources
    assert all(f["location"]["file"] == TIER for f in enc)
    r = runner.invoke(app, ["run", TIER, "--duration", "1m", "-f", "json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["workloads"]["load-balancer-traffic"]["succeeded"] > 0
    assert "a template, imported" in r.stderr
    r = runner.invoke(app, ["diagram", TIER])
    assert r.exit_code == 0 and "web-server-group" in r.stdout


def test_a_sam_template_runs_directly() -> None:
    r = runner.invoke(app, ["run", str(DATA / "sam" / "http-api.yaml"), "--duration", "1m", "-f", "json"])
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["components"]["fn"]["invocations"] > 0


def test_a_broken_template_is_reported_as_a_template(tmp_path: Path) -> None:
    t = tmp_path / "t.yaml"
    t.write_text("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties: {RedrivePolicy: !Ref Nope}\n")
    for cmd in ("run", "review", "diagram"):
        r = runner.invoke(app, [cmd, str(t)])
        assert r.exit_code == 2 and f"{t}:4: Resources.Q.Properties.RedrivePolicy.Ref: Ref to 'Nope'" in r.stderr
        assert "Traceback" not in r.stderr


def test_terraform_plans_and_tf_files_run_and_review_directly() -> None:
    plan = str(DATA / "terraform" / "webapp-plan.json")
    arch, located, note = load_input(plan)
    assert note is not None and "a template, imported" in note and "orders" in arch.components
    assert located.file == plan and located.line_of(("components", "orders", "dlq")) > 1
    r = runner.invoke(app, ["review", plan, "-f", "json"])
    assert r.exit_code == 0, r.stderr
    assert {f["location"]["file"] for f in json.loads(r.stdout)["findings"]} == {plan}
    r = runner.invoke(app, ["run", str(DATA / "terraform" / "webapp"), "--duration", "1m", "-q"])
    assert r.exit_code == 0, r.stderr
