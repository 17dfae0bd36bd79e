"""`cloudtwin import` of SAM templates (expanded by aws-sam-translator) and of API Gateway APIs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cloudtwin.cli import app
from cloudtwin.errors import SpecError
from cloudtwin.importers.convert import import_template
from cloudtwin.spec import parse_spec_located

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def imported(path: Path, **params: str) -> tuple[dict[str, Any], Any]:
    got = import_template(str(path), params)
    parse_spec_located(got.text, file=path.name)  # the output validates
    return yaml.safe_load(got.text), got


def unmapped(got: Any) -> dict[str, tuple[str, int]]:
    return {n: (t, line) for n, t, line, _ in got.unmapped}


def test_sam_functions_api_and_queue_worker() -> None:
    spec, got = imported(DATA / "sam" / "api-worker.yaml")
    comps = spec["components"]
    # one API with routes to two functions: two components with the stage's throttle (MethodSettings /* *)
    assert comps["api"]["integration"] == {"target": "get-item", "op": "invoke"}
    assert comps["api-put-item"]["integration"] == {"target": "put-item", "op": "invoke"}
    for api in ("api", "api-put-item"):
        assert comps[api]["api"] == "rest" and comps[api]["throttle"] == {"rate": "100/s", "burst": 200}
    assert any("routes reach 2 components" in a for a in got.ctx.assumptions)
    # Globals apply (Timeout 10), MemorySize where set, AWS's default 128 MB where not
    assert comps["get-item"] == {"type": "lambda", "memory": 512, "timeout": "10s"}
    assert comps["put-item"]["memory"] == 128 and comps["put-item"]["timeout"] == "10s"
    assert comps["worker"]["event_sources"] == [{"queue": "queue", "batch_size": 5}]
    assert comps["queue"] == {"type": "sqs", "visibility_timeout": "60s"}
    assert comps["table"] == {"type": "dynamodb", "capacity": "on_demand"}  # SimpleTable: PAY_PER_REQUEST
    # the generated roles are listed at the lines of the SAM functions they came from
    assert unmapped(got) == {"GetItemRole": ("AWS::IAM::Role", 18), "PutItemRole": ("AWS::IAM::Role", 31),
                             "WorkerRole": ("AWS::IAM::Role", 43)}
    assert set(spec["workloads"]) == {"api-traffic", "api-put-item-traffic", "queue-traffic"}
    assert "AWS SAM, expanded to CloudFormation by aws-sam-translator" in got.text.splitlines()[0]


def test_sam_http_api() -> None:
    spec, _ = imported(DATA / "sam" / "http-api.yaml")
    assert spec["components"]["http"] == {"type": "apigateway", "api": "http",
                                          "throttle": {"rate": "50/s", "burst": 100},
                                          "integration": {"target": "fn", "op": "invoke"}}


def test_plain_cloudformation_rest_api_with_stage_cache_and_mock_method() -> None:
    spec, got = imported(DATA / "cfn" / "rest-api.yaml")
    api = spec["components"]["api"]
    assert api["integration"] == {"target": "fn", "op": "invoke"}
    assert api["throttle"] == {"rate": "500/s", "burst": 1000}
    assert api["cache"] == {"size_gb": 1.6, "ttl": "60s"}
    folded = {lg for lg, comp in got.ctx.folded.items() if comp == "api"}
    assert folded == {"GetItems", "Items", "Deployment", "Stage", "Permission"}
    assert unmapped(got) == {"Mock": ("AWS::ApiGateway::Method", 33)}
    assert "MOCK" in next(why for n, _, _, why in got.unmapped if n == "Mock")


def test_imported_sam_spec_runs(tmp_path: Path) -> None:
    out = tmp_path / "out.yaml"
    r = runner.invoke(app, ["import", str(DATA / "sam" / "api-worker.yaml"), "-o", str(out)])
    assert r.exit_code == 0, r.stderr
    r = runner.invoke(app, ["run", str(out), "--duration", "1m", "--json", str(tmp_path / "r.json"), "-q"])
    assert r.exit_code == 0, r.stderr
    import json

    res = json.loads((tmp_path / "r.json").read_text())
    assert res["workloads"]["api-traffic"]["succeeded"] > 0
    assert res["components"]["get-item"]["invocations"] == res["workloads"]["api-traffic"]["succeeded"]


@pytest.mark.parametrize(("text", "expect"), [
    ("Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
     "    Properties:\n      Runtime: python3.12\n      Handler: a.b\n      CodeUri: s3://b/k.zip\n"
     "      Events:\n        Bad: {Type: Nope}\n",
     "t.yaml:3: Resources.Fn: the SAM transform refused the template: Resource with id [Fn] is invalid. "
     "Event with id [Bad] is invalid."),
    ("Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]\nResources:\n  Q: {Type: AWS::SQS::Queue}\n",
     "t.yaml:1: Transform: transform 'AWS::LanguageExtensions' is not supported"),
    ("Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
     "    Properties: {Runtime: [1, 2]}\n",
     "t.yaml:3: Resources.Fn: the SAM transform refused the template"),
])
def test_bad_sam_templates_exit_2_with_file_line(tmp_path: Path, text: str, expect: str) -> None:
    t = tmp_path / "t.yaml"
    t.write_text(text)
    r = runner.invoke(app, ["import", str(t)])
    assert r.exit_code == 2, (r.stdout, r.stderr)
    assert expect.replace("t.yaml", str(t)) in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_sam_without_the_translator_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "samtranslator.translator.translator", None)
    with pytest.raises(SpecError) as e:
        import_template(str(DATA / "sam" / "http-api.yaml"))
    assert "pip install 'cloudtwin[templates]'" in str(e.value)
    assert "http-api.yaml:1" in str(e.value)
