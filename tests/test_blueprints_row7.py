"""DESIGN row 7, "Elastic Beanstalk": single instance vs load-balanced HA, and the deployment
policies' downtime, capacity dip, failed requests and extra cost [aws-facts §15].

Both blueprints deploy v2 at 10 min with a 30 s deploy per instance. The HA environment has 4
instances; each other policy is run on it by changing its spec here."""

from __future__ import annotations

from typing import Any

import pytest

import cloudtwin
from cloudtwin.simulation import Simulation

AT = 600.0
DEPLOY = 30.0  # deploy_time in both blueprints
N = 4  # instances of beanstalk-ha
TTL = 60.0  # the environment CNAME's TTL (default cname_ttl)
SECTION = "Elastic Beanstalk"


def run(name: str, **deployment: Any) -> cloudtwin.Results:
    arch = cloudtwin.load_spec(name)
    assert arch.blueprint is not None and arch.blueprint.section == SECTION
    if deployment:
        data = arch.to_dict()
        data["components"]["env"]["deployments"] = [{"at": AT, **deployment}]
        arch = cloudtwin.from_dict(data)
    return Simulation(arch).run()


def outcome(r: cloudtwin.Results) -> dict[str, Any]:
    [d] = r.component("env")["deployments"]
    assert d["status"] == "completed", d
    w = r.workload("users")
    assert w["requests"] == w["succeeded"] + w["failed"] + w["in_flight"]  # every request accounted for
    assert d["failed_requests"] == w["failed"]  # no failure outside the deployment
    return d  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def policies() -> dict[str, tuple[dict[str, Any], cloudtwin.Results]]:
    out = {}
    for p in ("all_at_once", "rolling", "rolling_with_additional_batch", "immutable", "traffic_splitting",
              "blue_green"):
        r = run("beanstalk-ha", policy=p, version="v2")
        out[p] = (outcome(r), r)
    return out


def test_single_instance_all_at_once_is_down_for_the_deploy(failures: list[float]) -> None:
    r = run("beanstalk-single")
    env = r.component("env")
    assert env["made_of"] == {"instance": "env.instance", "cname": "env.cname"}
    assert r.component("env.instance")["type"] == "ec2" and r.component("env.cname")["type"] == "route53"
    assert "env.alb" not in r["components"]  # no load balancer
    d = outcome(r)
    assert d["policy"] == "all_at_once" and env["version"] == "v2"
    assert d["duration_s"] == pytest.approx(DEPLOY)
    assert DEPLOY - 1 <= d["downtime_s"] <= DEPLOY + 1  # watched every second
    assert (d["capacity_before"], d["min_capacity"]) == (1, 0)
    assert d["extra_instance_hours"] == 0.0
    # every request during the deploy fails: 20/s x 30 s = 600 (Poisson, +-4 sd)
    assert 500 <= d["failed_requests"] <= 700
    assert r.workload("users")["errors"]["unavailable"] == d["failed_requests"]
    assert min(failures) >= AT and max(failures) <= AT + DEPLOY
    # the Elastic IP is billed for the whole window; the CNAME (AWS's zone) is not
    assert r["cost"]["by_component"].get("env.cname", 0.0) == 0.0
    assert r["cost"]["by_component"]["env.instance"] > 0


def test_ha_rolling_keeps_serving_with_one_batch_less() -> None:
    r = run("beanstalk-ha")
    env = r.component("env")
    assert env["made_of_types"] == {"env.asg": "asg", "env.alb": "alb", "env.cname": "route53"}
    d = outcome(r)
    assert d["policy"] == "rolling" and d["batch"] == 1  # 25 % of 4, rounded up
    assert d["downtime_s"] == 0.0 and d["failed_requests"] == 0
    assert (d["capacity_before"], d["min_capacity"]) == (N, N - 1)
    assert d["extra_instance_hours"] == 0.0 and d["max_instances"] == N
    # four batches, each out for the deploy and then one health check (15 s) at most
    assert N * DEPLOY <= d["duration_s"] <= N * (DEPLOY + 15 + 2)
    batches = [e for e in r["timeline"] if e["kind"] == "deployment" and "out of service" in e["detail"]]
    assert len(batches) == N
    assert env["version"] == "v2"


def test_all_at_once_on_ha_fails_every_request_for_the_deploy(policies: Any) -> None:
    d, r = policies["all_at_once"]
    assert DEPLOY - 1 <= d["downtime_s"] <= DEPLOY + 1
    assert d["min_capacity"] == 0
    assert 2600 <= d["failed_requests"] <= 3400  # 100/s x 30 s = 3000 (+-4 sd and in-flight ones)
    assert d["extra_instance_hours"] == 0.0


def test_rolling_with_additional_batch_keeps_full_capacity_for_one_batch_of_hours(policies: Any) -> None:
    d, _ = policies["rolling_with_additional_batch"]
    assert d["failed_requests"] == 0 and d["downtime_s"] == 0.0
    assert d["min_capacity"] == N  # never below full capacity
    assert d["max_instances"] == N + 1  # one extra batch of 1
    # one instance more for (about) the whole deployment
    assert d["extra_instance_hours"] == pytest.approx(d["duration_s"] / 3600.0, rel=0.05)


def test_immutable_doubles_the_instances_for_a_while(policies: Any) -> None:
    d, r = policies["immutable"]
    assert d["failed_requests"] == 0 and d["downtime_s"] == 0.0
    assert d["min_capacity"] == N and d["max_instances"] == 2 * N
    # the new set costs at least its boot (>= 40 s each) and at most the whole deployment
    assert N * 40 / 3600 <= d["extra_instance_hours"] <= N * d["duration_s"] / 3600.0
    assert r.component("env.asg")["launched"] == N


def test_traffic_splitting_sends_about_ten_percent_for_the_evaluation(policies: Any) -> None:
    d, r = policies["traffic_splitting"]
    assert d["failed_requests"] == 0 and d["downtime_s"] == 0.0 and d["min_capacity"] == N
    assert d["new_version_share"] == pytest.approx(0.10, abs=0.01)  # NewVersionPercent 10 [aws-facts §15]
    assert d["duration_s"] >= 300.0 + 40.0  # EvaluationTime 5 min [aws-facts §15] after the boot
    assert d["extra_instance_hours"] >= N * 300.0 / 3600.0  # a full new set through the evaluation
    assert d["max_instances"] == 2 * N
    assert r.component("env")["made_of"]["asg-b"] == "env.asg-b"


def test_blue_green_fails_nothing_but_pays_a_second_environment_until_the_ttl(policies: Any) -> None:
    d, r = policies["blue_green"]
    assert d["failed_requests"] == 0 and d["downtime_s"] == 0.0 and d["min_capacity"] == N
    swap = d["swap_at"] - AT
    assert swap >= 40.0  # the clone's instances boot first
    assert d["duration_s"] >= swap + TTL  # the old environment is kept until the TTL has passed
    assert d["extra_instance_hours"] >= N * (swap + TTL) / 3600.0 * 0.9
    assert d["extra_lb_hours"] == pytest.approx(d["duration_s"] / 3600.0, rel=0.02)
    assert r["cost"]["by_component"]["env.green.alb"] > 0


def test_blue_green_terminating_before_the_ttl_fails_the_cached_clients() -> None:
    early = outcome_loose(run("beanstalk-ha", policy="blue_green", terminate_after=0))
    assert early["failed_requests"] > 100
    half = outcome_loose(run("beanstalk-ha", policy="blue_green", terminate_after=TTL / 2))
    assert 0 < half["failed_requests"] < early["failed_requests"]


def outcome_loose(r: cloudtwin.Results) -> dict[str, Any]:
    [d] = r.component("env")["deployments"]
    assert d["status"] == "completed"
    assert d["failed_requests"] == r.workload("users")["failed"]
    return d  # type: ignore[no-any-return]


def test_the_policies_order_as_the_docs_say(policies: Any) -> None:
    d = {p: v[0] for p, v in policies.items()}
    cost = {p: v[1]["cost"]["window_usd"] for p, v in policies.items()}
    assert [p for p in d if d[p]["downtime_s"] > 0] == ["all_at_once"]
    assert [p for p in d if d[p]["failed_requests"] > 0] == ["all_at_once"]
    assert [p for p in d if d[p]["min_capacity"] < N] == ["all_at_once", "rolling"]
    assert d["rolling"]["min_capacity"] > d["all_at_once"]["min_capacity"]
    for p in ("rolling_with_additional_batch", "immutable", "traffic_splitting", "blue_green"):
        assert d[p]["extra_instance_hours"] > 0 and cost[p] > cost["rolling"], p
    assert cost["rolling"] == cost["all_at_once"]


def test_default_batch_size_makes_rolling_one_batch_of_everything() -> None:
    """BatchSize 100 (percentage) is the option default [aws-facts §15]: rolling then takes all
    four instances out together, and the environment is down for the deploy."""
    d = outcome_loose(run("beanstalk-ha", policy="rolling", batch_size=100))
    assert d["batch"] == N and d["min_capacity"] == 0
    assert d["downtime_s"] >= DEPLOY - 1 and d["failed_requests"] > 0


def test_a_deploy_beyond_the_command_timeout_fails_the_deployment() -> None:
    arch = cloudtwin.load_spec("beanstalk-single")
    data = arch.to_dict()
    data["components"]["env"]["deploy_time"] = "700s"  # command Timeout 600 s [aws-facts §15]
    r = Simulation(cloudtwin.from_dict(data)).run()
    [d] = r.component("env")["deployments"]
    assert d["status"].startswith("failed: command timed out")
    assert d["duration_s"] == pytest.approx(600.0)
    assert r.component("env")["version"] == "v1"  # the instance keeps the old version
