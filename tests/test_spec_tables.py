"""Names looked up in the data tables (EC2 instance types, DB instance classes, cache node
types) are checked with the rest of the spec: an unknown one is a spec error at its
``file:line`` naming the closest known names, reported in the same pass as other errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudtwin import SpecError, load_spec, parse_spec
from cloudtwin.sizes import instance_vcpus


@pytest.mark.parametrize("text, path, needle", [
    ("app: {type: ec2, instance_type: c7gn.xlarge}", "components.app.instance_type", "'c7g.xlarge'"),
    ("app: {type: asg, instance_type: m5.larg}", "components.app.instance_type", "'m5.large'"),
    ("db: {type: rds, instance_class: db.m5.larg}", "components.db.instance_class", "'db.m5.large'"),
    ("c: {type: elasticache, node_type: cache.m5.larg}", "components.c.node_type", "'cache.m5.large'"),
])
def test_an_unknown_table_name_is_a_located_error_with_the_closest_names(text: str, path: str, needle: str,
                                                                         tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(f"name: t\ncomponents:\n  {text}\n", encoding="utf-8")
    with pytest.raises(SpecError) as e:
        load_spec(str(f))
    issue = next(i for i in e.value.issues if path in str(i))
    assert needle in str(issue) and "did you mean" in str(issue)
    assert f"{f.name}:3" in str(issue)  # the line of the component


def test_an_unknown_instance_type_with_workers_is_accepted() -> None:
    """The workers say what the vCPUs would have: the type is then only unpriced."""
    arch = parse_spec("name: t\ncomponents:\n  app: {type: ec2, instance_type: x2iedn.xlarge, workers: 4}\n")
    assert arch.components["app"].workers == 4


def test_current_graviton_types_are_known_with_their_vcpus() -> None:
    """c7g.xlarge has 4 vCPUs (AWS EC2 instance type specifications) and so 4 worker slots."""
    assert instance_vcpus("c7g.xlarge") == 4 and instance_vcpus("m7g.2xlarge") == 8


def test_table_errors_come_in_one_pass_with_other_reference_errors() -> None:
    with pytest.raises(SpecError) as e:
        parse_spec("name: t\ncomponents:\n  app: {type: ec2, instance_type: zz.large}\n"
                   "  db: {type: rds, instance_class: db.zz}\n"
                   "workloads:\n  w: {entry: nowhere, rate: 1/s}\n")
    paths = {str(i).split(":")[0] for i in e.value.issues}
    text = str(e.value)
    assert "components.app.instance_type" in text and "components.db.instance_class" in text
    assert "workloads.w.entry" in text, paths


def test_validate_reports_schema_and_reference_errors_in_one_pass(tmp_path: Path) -> None:
    """A component's own error, a data-table error, a dangling call and a dangling entry: all
    four in one SpecError, in the file's order; a reference to the component that failed its
    own checks is not reported twice."""
    f = tmp_path / "s.yaml"
    f.write_text("""name: t
components:
  app: {type: ec2, workerz: 3}
  db: {type: rds, instance_class: db.zz}
  fn: {type: lambda, handler: [{call: app}, {call: nothing}]}
workloads:
  w: {entry: fn, rate: 1/s}
  v: {entry: nowhere, rate: 1/s}
""", encoding="utf-8")
    with pytest.raises(SpecError) as e:
        load_spec(str(f))
    got = [(i.line, i.path) for i in e.value.issues]
    assert got == [(3, "components.app.workerz"), (4, "components.db.instance_class"),
                   (5, "components.fn.handler[1].call"), (8, "workloads.v.entry")]
