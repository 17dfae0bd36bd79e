"""Blueprint row 12, "Serverless architecture 1": ``serverless-rest``.

API Gateway (HTTPS, Cognito authorizer) -> Lambda -> DAX -> DynamoDB, plus per-user S3
folders. Two claims, with numbers:

(a) reads scale because DAX absorbs them: through the 4x read spike the table serves only
    DAX's misses (its read units per API read fall by the DAX hit ratio) and nothing is
    throttled; the same design without DAX meets the hot partition's 3,000 RCU limit
    [aws-facts §11], so reads come back ``throttled`` and p99 rises;
(b) a user who tries another user's folder is ``rejected`` every time, and an owner never is.
"""

from __future__ import annotations

import pytest

from cloudtwin import Results, Simulation, load_spec

NAME = "serverless-rest"
NO_DAX = "serverless-rest-no-dax"
RRU_PER_READ = 3.0  # ceil(24 KB / 4 KB) = 6 units, halved for an eventually consistent read


def without_dax() -> Results:
    arch = load_spec(NO_DAX)  # the same design and traffic, reads straight to the table
    assert "catalog" not in arch.components and arch.components["reader"].handler[1].call == "items.get"
    return Simulation(arch).run()


@pytest.fixture(scope="module")
def runs() -> tuple[Results, Results]:
    return Simulation(load_spec(NAME)).run(), without_dax()


def test_dax_absorbs_the_read_spike(runs: tuple[Results, Results]) -> None:
    dax_run, direct = runs
    dax, table = dax_run.component("catalog"), dax_run.component("items")
    browse = dax_run.workload("browse")
    assert browse["errors"]["throttled"] == 0 and browse["availability"] == 1.0
    assert table["throttled"] == 0
    # the table serves exactly DAX's misses, 3 read units each
    assert table["reads"] == dax["misses"]
    assert table["consumed_rcu"] == pytest.approx(dax["misses"] * RRU_PER_READ)
    hit = dax["hit_ratio"]
    assert hit > 0.85
    # read units per API read fall by (at least) the hit ratio against the direct design
    d_table, d_browse = direct.component("items"), direct.workload("browse")
    with_dax_per_read = table["consumed_rcu"] / browse["requests"]
    direct_demand_per_read = RRU_PER_READ  # every direct read asks the table for 3 units
    assert with_dax_per_read <= direct_demand_per_read * (1 - hit) * 1.001
    assert d_table["consumed_rcu"] > 8 * table["consumed_rcu"]
    # without DAX the spike is throttled at the hot partition, and the tail latency rises
    assert d_table["throttled"] > 50_000
    assert d_browse["errors"]["throttled"] > 5_000
    assert d_browse["latency_ms"]["p99"] > 5 * browse["latency_ms"]["p99"]


def test_another_users_folder_is_rejected_every_time(runs: tuple[Results, Results]) -> None:
    res = runs[0]
    files_w, bucket = res.workload("my-files"), res.component("folders")
    foreign = files_w["foreign_requests"]
    assert foreign > 200  # 2 % of about 18,000 folder reads
    # the bucket denied exactly the requests for someone else's folder, as `other_user`
    assert bucket["denied"] == foreign == bucket["denied_by"]["other_user"]
    rejected = files_w["errors"]["rejected"]
    assert rejected <= foreign <= rejected + files_w["in_flight"]
    # owners are never refused: every other failure kind is zero, uploads all succeed
    assert files_w["failed"] == rejected
    assert res.workload("my-uploads")["failed"] == 0


def test_nothing_is_lost_and_the_api_stays_https_with_an_authorizer() -> None:
    arch = load_spec(NAME)
    api = arch.components["api"]
    assert api.protocol == "https" and api.authorizer is not None and api.authorizer.cognito == "users"
