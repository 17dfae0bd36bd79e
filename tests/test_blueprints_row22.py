"""Blueprint row 22, "API Gateway and KDS": API Gateway -> Kinesis Data Streams -> Lambda.

Doubling the producers for a minute, past the shards' write capacity (2 shards, 2,000
records/s [aws-facts §9]), raises ``throttled`` (the puts over the limit, answered through
the API) and the end-to-end delay (put to processed), but no record is lost: delivered +
dead-lettered + expired + in flight still equals published, every put the API answered
with success is a published record, and ``messages.lost`` is 0.
"""

from __future__ import annotations

import pytest

from cloudtwin import Results, Simulation, load_spec

NAME = "apigw-kinesis"


def run_blueprint(spike: bool = True) -> Results:
    arch = load_spec(NAME)
    if not spike:
        w = arch.workloads["devices"]
        arch = arch.model_copy(update={"workloads": {"devices": w.model_copy(
            update={"profile": w.profile.model_copy(update={"factor": 1.0})})}})
    return Simulation(arch).run()


@pytest.fixture(scope="module")
def runs() -> tuple[Results, Results]:
    return run_blueprint(spike=False), run_blueprint()


def accounted(res: Results) -> None:
    m = res["messages"]
    assert m["delivered"] + m["dead_lettered"] + m["expired"] + m["in_flight"] == m["published"]
    assert m["lost"] == 0 and m["lost_by_cause"] == {}
    w, st = res.workload("devices"), res.component("clickstream")
    assert m["published"] == st["accepted"]
    # one record per successful put; a few puts were still on their way back at the end
    assert w["succeeded"] <= st["accepted"] <= w["succeeded"] + w["in_flight"]
    assert w["failed"] == w["errors"]["throttled"]  # the only failure is throttling


def test_below_the_shard_limit_nothing_is_throttled(runs: tuple[Results, Results]) -> None:
    base, _ = runs
    accounted(base)
    assert base.workload("devices")["requests"] == pytest.approx(1500 * 180, rel=0.02)
    assert base.component("clickstream")["throttled"] == 0


def test_doubling_the_producers_throttles_the_excess_and_loses_nothing(runs: tuple[Results, Results]) -> None:
    """During the spike 3,000 puts/s meet 2,000 records/s of shard capacity (plus one second's
    burst per shard): about 58,000 of the minute's 180,000 puts are throttled."""
    _, spike = runs
    accounted(spike)
    st = spike.component("clickstream")
    assert st["throttled"] == pytest.approx(180_000 - 120_000 - 2_000, rel=0.05)
    assert spike.workload("devices")["errors"]["throttled"] == st["throttled"]
    assert spike.component("ingest")["integration_errors"] == st["throttled"]  # passed through the API
    assert spike["messages"]["dead_lettered"] == st["consumers"][0]["on_failure"] > 0  # the poison records


def test_doubling_the_producers_raises_the_end_to_end_delay(runs: tuple[Results, Results]) -> None:
    base, spike = runs
    e_base = base.component("clickstream")["consumers"][0]["end_to_end_ms"]
    e_spike = spike.component("clickstream")["consumers"][0]["end_to_end_ms"]
    assert e_spike["p99"] > 3 * e_base["p99"] and e_spike["mean"] > 3 * e_base["mean"]
    # the consumer's iterator age (the largest per minute): under a second below the limit,
    # seconds behind from the spike on
    age_base = base["series"]["components"]["clickstream"]["iterator_age_s"]
    age_spike = spike["series"]["components"]["clickstream"]["iterator_age_s"]
    assert len(age_spike) == 3 and max(age_base) < 1.0
    assert age_spike[1] > 2.0 and age_spike[1] > 4 * age_base[1]
