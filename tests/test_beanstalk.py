"""Elastic Beanstalk: option defaults and batch sizes against aws-facts §15, the spec's
errors, the worker tier's daemon, and determinism. The policies themselves are tested on
the blueprints in tests/test_blueprints_row7.py."""

from __future__ import annotations

from typing import Any

import pytest

import cloudtwin
from cloudtwin.errors import SpecError
from cloudtwin.simulation import Simulation
from cloudtwin.spec import parse_spec
from cloudtwin.spec.beanstalk import Beanstalk, batch_count

WORKER = """\
name: jobs
components:
  env:
    type: beanstalk
    tier: worker
    capacity: {min: 2, max: 4}
    deploy_time: 30s
    handler:
      - cpu: exp(200ms)
    deployments:
      - {at: 5m, policy: rolling, batch_size: 50}
workloads:
  producers: {entry: env, rate: 5/s}
simulate: {duration: 15m, seed: 3}
"""


def test_option_defaults_are_the_documented_ones() -> None:
    """aws-facts §15 Option defaults and Traffic splitting."""
    env = Beanstalk.model_validate({"type": "beanstalk"})
    assert env.deployment_policy == "all_at_once"  # DeploymentPolicy AllAtOnce
    assert (env.batch_size_type, env.batch_size) == ("percentage", 100)  # BatchSizeType Percentage, BatchSize 100
    assert env.command_timeout == 600.0  # command Timeout 600 s
    assert env.health_timeout == 1800.0  # PT30M
    assert env.traffic_split.new_version_percent == 10  # NewVersionPercent 10 %
    assert env.traffic_split.evaluation_time == 300.0  # EvaluationTime 5 min


@pytest.mark.parametrize(("kind", "size", "instances", "batch"), [
    ("percentage", 100, 4, 4),  # the default: one batch of everything
    ("percentage", 25, 4, 1),
    ("percentage", 30, 4, 2),  # 1.2 rounds up
    ("percentage", 1, 4, 1),  # at least one instance
    ("percentage", 50, 7, 4),
    ("fixed", 3, 4, 3),
    ("fixed", 10, 4, 4),  # never more than there are
])
def test_batch_sizes(kind: str, size: int, instances: int, batch: int) -> None:
    assert batch_count(kind, size, instances) == batch


@pytest.mark.parametrize(("extra", "path", "needle"), [
    ("    environment_type: single_instance\n    deployments: [{at: 1m, policy: rolling}]\n",
     "components.env.deployments[0].policy", "single-instance"),
    ("    batch_size: 150\n", "components.env", "percentage"),
    ("    environment_type: single_instance\n    capacity: {min: 2}\n", "components.env.capacity",
     "exactly one instance"),
    ("    tier: worker\n    deployments: [{at: 1m, policy: blue_green}]\n", "components.env.deployments[0].policy",
     "worker"),
    ("    traffic_split: {new_version_percent: 0}\n", "components.env.traffic_split.new_version_percent",
     "greater than or equal to 1"),
    ("    deployments: [{at: 1m, policy: canary}]\n", "components.env.deployments[0].policy", "all_at_once"),
    ("    deployment_policy: blue_green\n    deployments: [{at: 1m}, {at: 20m, policy: traffic_splitting}]\n",
     "components.env.deployments", "not modelled together"),
    ("    tier: worker\n    environment_type: single_instance\n", "components.env.environment_type",
     "not modelled"),
])
def test_bad_specs_are_located_errors(extra: str, path: str, needle: str) -> None:
    text = "name: x\ncomponents:\n  env:\n    type: beanstalk\n" + extra
    with pytest.raises(SpecError) as info:
        parse_spec(text, file="env.yaml")
    issues = info.value.issues
    assert any(i.path == path and needle in i.message and i.file == "env.yaml" and i.line > 0 for i in issues), issues


def run(text: str) -> cloudtwin.Results:
    return Simulation(parse_spec(text)).run()


def test_worker_daemon_posts_every_message_and_redelivers_the_failed_ones() -> None:
    r = run(WORKER)
    env = r.component("env")
    assert env["made_of_types"] == {"env.asg": "asg", "env.dlq": "sqs", "env.queue": "sqs"}
    daemon = env["daemon"]
    [d] = env["deployments"]
    assert d["status"] == "completed" and d["batch"] == 1 and d["min_capacity"] == 1
    # POSTs to an instance whose application restarts fail; the message stays in flight and
    # comes back after the visibility timeout (300 s), so every message is still processed
    assert daemon["failed"] > 0
    queue = r.component("env.queue")
    m = r["messages"]
    assert daemon["posted"] == queue["received"]  # one message per receive, each POSTed
    assert daemon["succeeded"] == queue["delivered"] + queue["duplicates"]  # deleted after a 200
    assert 0 <= daemon["posted"] - daemon["succeeded"] - daemon["failed"] <= m["in_flight"]  # POSTs in progress
    assert m["lost"] == 0 and m["dead_lettered"] == 0
    assert m["published"] == m["delivered"] + m["dead_lettered"] + m["expired"] + m["in_flight"]
    # a message whose POST failed waits out the visibility timeout before it is received again
    assert 300.0 <= queue["end_to_end_ms"]["max"] / 1000.0 <= 300.0 + 60.0


def test_worker_queue_redrives_after_max_retries() -> None:
    """sqsd MaxRetries 10 is the queue's redrive maxReceiveCount to the environment's DLQ."""
    sim = Simulation(parse_spec(WORKER))
    queue: Any = sim.components["env.queue"]
    assert queue.spec.max_receive_count == 10
    assert queue.dlq is sim.components["env.dlq"]
    assert queue.spec.visibility_timeout == 300.0
    assert sim.components["env.dlq"].spec.retention == 1_209_600.0  # 14 days, the maximum [aws-facts §6]


def test_same_seed_same_results() -> None:
    a = cloudtwin.load_spec("beanstalk-ha")
    one = Simulation(a).run().data
    two = Simulation(a).run().data
    for d in (one, two):
        d.pop("wall_s")
    assert one == two


@pytest.mark.parametrize("policy", ["rolling", "traffic_splitting", "blue_green"])
def test_validate_names_the_parts_a_run_builds(policy: str) -> None:
    from cloudtwin.spec.beanstalk import parts

    data = cloudtwin.load_spec("beanstalk-ha").to_dict()
    data["components"]["env"]["deployments"] = [{"at": 60, "policy": policy}]
    data["simulate"] = {"duration": 120}
    arch = cloudtwin.from_dict(data)
    sim = Simulation(arch)
    built = {n: c.kind for n, c in sim.components.items() if n != "env"}
    assert parts("env", arch.components["env"]) == built  # type: ignore[arg-type]
    assert sim.run().component("env")["made_of_types"] == built


SINGLE = "name: s\ncomponents:\n  env: {type: beanstalk, environment_type: single_instance}\n"


@pytest.mark.parametrize("text", [WORKER, SINGLE])
def test_parts_of_worker_and_single_instance(text: str) -> None:
    from cloudtwin.spec.beanstalk import parts

    arch = parse_spec(text)
    built = {n: c.kind for n, c in Simulation(arch).components.items() if n != "env"}
    assert parts("env", arch.components["env"]) == built  # type: ignore[arg-type]


def test_a_deployment_during_another_is_refused() -> None:
    data = cloudtwin.load_spec("beanstalk-ha").to_dict()
    data["components"]["env"]["deployments"] = [{"at": 600, "version": "v2"}, {"at": 620, "version": "v3"}]
    r = Simulation(cloudtwin.from_dict(data)).run()
    first, second = r.component("env")["deployments"]
    assert first["status"] == "completed"
    assert second["status"] == "refused: the deployment of v2 is in progress"
    assert r.component("env")["version"] == "v2"


def test_immutable_through_an_az_outage_leaves_the_terminated_old_instances_alone() -> None:
    """Regression: old instances the group terminated during the deployment (their AZ went down)
    were marked leaving again and retired twice."""
    env = {"type": "beanstalk", "capacity": {"min": 5, "max": 10}, "handler": [{"cpu": "exp(20ms)"}],
           "deployments": [{"at": 300, "policy": "immutable"}]}
    data = {"name": "s", "components": {"env": env}, "workloads": {"u": {"entry": "env", "rate": "20/s"}},
            "faults": [{"at": 320, "az_outage": "a", "duration": "3m"}], "simulate": {"duration": "20m", "seed": 1}}
    r = Simulation(cloudtwin.from_dict(data)).run()
    [d] = r.component("env")["deployments"]
    assert d["status"] == "completed"
    assert r.component("env.asg")["instances"]["max"] >= 5
    w = r.workload("u")
    assert w["requests"] == w["succeeded"] + w["failed"] + w["in_flight"]
