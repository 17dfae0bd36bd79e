"""The fluid engine's API Gateway -> Lambda entries and SQS -> Lambda backlogs (issue 18): the
pieces against known values, the refusals, and the results against the exact engine on the
same specs (availability and p50 within 5 %, p99 within 10 %, queue backlog peak within 10 %)."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from cloudtwin.fluid import run_fluid
from cloudtwin.fluid.backlog import batch_needed, esm_capacity, processed
from cloudtwin.fluid.serverless import bucket_step, expected_peak, loss_share, poisson_quantile
from cloudtwin.fluid.support import FluidRefused, check
from cloudtwin.simulation import Simulation
from cloudtwin.spec import from_dict
from cloudtwin.theory import erlang_b


def _api(**fn: Any) -> dict[str, Any]:
    """API Gateway (stage throttle 800/s) -> Lambda (reserved 50), 500 requests/s for 3 minutes."""
    f = {"type": "lambda", "memory": 1769, "timeout": "3s", "reserved_concurrency": 50,
         "handler": [{"cpu": "lognormal(median=20ms, p99=80ms)"}, {"sleep": "exp(mean=30ms)"}]}
    f.update(fn)
    return {"name": "api-lambda", "zones": ["a", "b"],
            "components": {"api": {"type": "apigateway", "throttle": {"rate": "800/s", "burst": 200},
                                   "integration": {"target": "fn", "op": "invoke"}},
                           "fn": f},
            "workloads": {"users": {"entry": "api", "rate": "500/s"}},
            "simulate": {"duration": "3m", "seed": 1}}


def _sqs(**fn: Any) -> dict[str, Any]:
    """300 sends/s to a queue drained by a Lambda event source (batch 10, at most 20 pollers)."""
    f = {"type": "lambda", "memory": 1769, "timeout": "5s", "reserved_concurrency": 20, "error_rate": 0.01,
         "handler": [{"cpu": "lognormal(median=20ms, p99=80ms)"}, {"sleep": "exp(mean=30ms)"}],
         "event_sources": [{"queue": "jobs", "batch_size": 10, "maximum_concurrency": 20}]}
    f.update(fn)
    return {"name": "sqs-lambda", "zones": ["a", "b"],
            "components": {"jobs": {"type": "sqs", "visibility_timeout": "30s", "max_receive_count": 5,
                                    "dlq": "jobs-dlq", "retention": "14d"},
                           "jobs-dlq": {"type": "sqs", "retention": "14d"}, "worker": f},
            "workloads": {"producers": {"entry": "jobs", "op": "send", "rate": "300/s"}},
            "simulate": {"duration": "5m", "seed": 1}}


def _both(d: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    exact = Simulation(from_dict(copy.deepcopy(d))).run().data
    fluid = run_fluid(from_dict(copy.deepcopy(d))).data
    return exact, fluid


def _close(exact: dict[str, Any], fluid: dict[str, Any], name: str) -> None:
    e, f = exact["workloads"][name], fluid["workloads"][name]
    assert f["availability"] == pytest.approx(e["availability"], rel=0.05)
    assert f["latency_ms"]["p50"] == pytest.approx(e["latency_ms"]["p50"], rel=0.05)
    assert f["latency_ms"]["p99"] == pytest.approx(e["latency_ms"]["p99"], rel=0.10)


# ---- the pieces ----------------------------------------------------------------------------
def test_token_bucket_admits_the_burst_then_the_rate() -> None:
    tokens, total = 100.0, 0.0
    for _ in range(100):  # 500/s offered to a 400/s bucket holding 100
        got, tokens = bucket_step(tokens, 400.0, 100.0, 500.0, 1.0)
        total += got
    assert total == pytest.approx(500.0 + 99 * 400.0)
    got, tokens = bucket_step(0.0, 400.0, 100.0, 100.0, 1.0)  # below the rate: all in, refilled to the burst
    assert got == 100.0 and tokens == 100.0


def test_loss_share_is_erlang_b() -> None:
    assert loss_share(1, 1.0) == pytest.approx(0.5)  # B(1, a) = a / (1 + a)
    assert loss_share(2, 1.0) == pytest.approx(0.2)  # (1/2) / (1 + 1 + 1/2)
    assert loss_share(0, 5.0) == 1.0 and loss_share(10, 0.0) == 0.0


def test_poisson_quantile_and_expected_peak() -> None:
    # Poisson(1): P(X > 1) = 0.264, P(X > 2) = 0.0803
    assert poisson_quantile(1.0, 0.1) == 2 and poisson_quantile(1.0, 0.3) == 1
    assert expected_peak(27.0, 90_000, 50) == 50  # capped by the limit
    assert expected_peak(0.0, 100, 50) == 0


def test_concurrency_is_littles_law_and_throttles_are_erlang_b() -> None:
    # 200/s x 100 ms = 20 concurrent on average; a limit of 20 throttles B(20, 20) of them
    d = _api(reserved_concurrency=20, handler=[{"sleep": "100ms"}])
    d["workloads"]["users"]["rate"] = "200/s"
    d["simulate"]["duration"] = "10m"
    r = run_fluid(from_dict(d)).data
    w = r["workloads"]["users"]
    assert w["errors"]["throttled"] / w["requests"] == pytest.approx(erlang_b(20, 20.0), rel=0.02)
    d["components"]["fn"]["reserved_concurrency"] = 100
    r = run_fluid(from_dict(d)).data
    assert r["components"]["fn"]["throttles"] == 0  # the ramp at the start is absorbed
    fn = r["components"]["fn"]
    # past the first minute's cold ramp the peak concurrency is Poisson(20)'s maximum (about 20 + 4.5 sigma;
    # the exact engine's minutes read 37-42 on this spec)
    assert all(abs(c - (20 + 4.5 * math.sqrt(20))) <= 3 for c in r["series"]["components"]["fn"]["concurrency"][1:])
    assert fn["gb_seconds"] == pytest.approx(fn["invocations"] * 0.1 * 1769 / 1024, rel=1e-3)  # 100 ms each


def test_mapping_capacity_and_batches() -> None:
    assert processed(1.0, 0.3, False) == pytest.approx(1.0)
    assert processed(2.0, 0.5, False) == pytest.approx(1.5)  # the first failure ends the batch
    assert processed(10.0, 0.5, True) == 10.0
    assert esm_capacity(20, 10, 0.005, 0.05) == pytest.approx(20 * 10 / 0.505)
    assert batch_needed(100.0, 20, 0.005, 0.05, 10) == 1.0  # pollers keep up one message at a time
    assert batch_needed(1000.0, 20, 0.005, 0.05, 10) == 10.0
    b = batch_needed(390.0, 20, 0.005, 0.05, 10)
    assert 1.0 < b < 10.0 and esm_capacity(20, b, 0.005, 0.05) == pytest.approx(390.0, rel=1e-6)


def test_message_accounting_balances() -> None:
    d = _sqs(error_rate=0.2)
    d["components"]["jobs"]["max_receive_count"] = 2
    r = run_fluid(from_dict(d)).data
    q, m = r["components"]["jobs"], r["messages"]
    assert q["sent"] == q["delivered"] + q["moved_to_dlq"] + q["visible"] + q["in_flight"]
    assert m["published"] == m["delivered"] + m["dead_lettered"] + m["in_flight"]
    assert q["moved_to_dlq"] > 0 and r["components"]["jobs-dlq"]["dead_letters_in"] == q["moved_to_dlq"]
    assert r["engine"] == "fluid" and any("backlog" in v for v in r["validity"])


# ---- refusals ------------------------------------------------------------------------------
@pytest.mark.parametrize(("change", "words"), [
    (lambda d: d["components"]["fn"]["handler"].append({"call": "db.get"}), "calls from a function"),
    (lambda d: d["components"]["api"].update(cache={"ttl": "60s"}), "cache"),
    (lambda d: d["components"]["api"].update(authorizer={"function": "fn"}), "authorizer"),
])
def test_api_lambda_refusals(change: Any, words: str) -> None:
    d = _api()
    if "call" in words:
        d["components"]["db"] = {"type": "dynamodb"}
    change(d)
    with pytest.raises(FluidRefused, match=words):
        check(from_dict(d))


def test_sqs_refusals() -> None:
    d = _sqs()
    d["components"]["worker"]["event_sources"][0]["maximum_concurrency"] = 50  # 50 pollers, 20 environments
    with pytest.raises(FluidRefused, match="throttled batches"):
        check(from_dict(d))
    d = _sqs()
    d["components"]["jobs"]["fifo"] = True
    d["components"]["jobs-dlq"]["fifo"] = True
    with pytest.raises(FluidRefused, match="fifo"):
        check(from_dict(d))


# ---- against the exact engine --------------------------------------------------------------
@pytest.mark.parametrize("variant", ["steady", "concurrency_throttle", "api_throttle", "spike", "direct"])
def test_api_lambda_matches_exact(variant: str) -> None:
    d = _api()
    if variant == "concurrency_throttle":
        d["components"]["fn"]["reserved_concurrency"] = 30  # a = 27: Erlang B throttles ~40 %
    elif variant == "api_throttle":
        d["components"]["api"]["throttle"] = {"rate": "400/s", "burst": 100}
    elif variant == "spike":
        d["components"]["fn"]["reserved_concurrency"] = 100
        d["workloads"]["users"]["profile"] = {"type": "spike", "at": "60s", "duration": "60s", "factor": 3}
    elif variant == "direct":
        d["workloads"]["users"]["entry"] = "fn"
        del d["components"]["api"]
    exact, fluid = _both(d)
    _close(exact, fluid, "users")
    e, f = exact["components"]["fn"], fluid["components"]["fn"]
    assert f["cold_starts"] == pytest.approx(e["cold_starts"], rel=0.10)


def test_lambda_timeouts_match_exact() -> None:
    d = _api(timeout="1s", reserved_concurrency=100, handler=[{"cpu": "lognormal(median=100ms, p99=1.5s)"}])
    d["workloads"]["users"]["rate"] = "200/s"
    exact, fluid = _both(d)
    _close(exact, fluid, "users")
    assert fluid["workloads"]["users"]["errors"]["timeout"] == pytest.approx(
        exact["workloads"]["users"]["errors"]["timeout"], rel=0.10)


@pytest.mark.parametrize("variant", ["steady", "spike", "partial_failures"])
def test_sqs_backlog_matches_exact(variant: str) -> None:
    d = _sqs()
    if variant == "spike":  # 150/s, 600/s for a minute: the backlog peaks near 14,000
        d["workloads"]["producers"].update(rate="150/s", profile={"type": "spike", "at": "60s", "duration": "60s",
                                                                   "factor": 4})
    elif variant == "partial_failures":
        d["components"]["worker"]["error_rate"] = 0.2
        d["components"]["worker"]["event_sources"][0]["report_batch_item_failures"] = True
        d["components"]["jobs"].update(max_receive_count=2, visibility_timeout="40s")
    exact, fluid = _both(d)
    _close(exact, fluid, "producers")
    e, f = exact["components"]["jobs"], fluid["components"]["jobs"]
    assert f["max_visible"] == pytest.approx(e["max_visible"], rel=0.10)
    assert f["delivered"] == pytest.approx(e["delivered"], rel=0.05)
    assert f["moved_to_dlq"] == pytest.approx(e["moved_to_dlq"], rel=0.10, abs=5)


@pytest.mark.xfail(strict=True, reason="without partial batch responses a failure returns the whole batch: the "
                   "exact engine's batches under returning messages are larger than the fluid's smallest batch "
                   "that keeps up, so it dead-letters about 26 % more (19,044 vs 15,112) and its backlog peaks "
                   "about 10 % higher (1,077 vs 969)")
def test_sqs_whole_batch_failures_match_exact() -> None:
    d = _sqs(error_rate=0.2)
    d["components"]["jobs"].update(max_receive_count=2, visibility_timeout="40s")
    exact, fluid = _both(d)
    e, f = exact["components"]["jobs"], fluid["components"]["jobs"]
    assert f["max_visible"] == pytest.approx(e["max_visible"], rel=0.10)
    assert f["moved_to_dlq"] == pytest.approx(e["moved_to_dlq"], rel=0.10)


def _sns() -> dict[str, Any]:
    """A topic fanned out to two queues, each drained by its own function; the second is slower
    (10 pollers of 40 ms messages: about 250 messages/s) and a x3 spike (600/s) backs it up."""
    def fn(queue: str, cpu: str, n: int) -> dict[str, Any]:
        return {"type": "lambda", "memory": 1769, "reserved_concurrency": n, "handler": [{"cpu": cpu}],
                "event_sources": [{"queue": queue, "batch_size": 10, "maximum_concurrency": n}]}
    return {"name": "sns-fanout", "zones": ["a", "b"],
            "components": {"events": {"type": "sns", "subscriptions": [{"target": "q1"}, {"target": "q2"}]},
                           "q1": {"type": "sqs", "retention": "14d"}, "q2": {"type": "sqs", "retention": "14d"},
                           "w1": fn("q1", "lognormal(median=20ms, p99=80ms)", 20),
                           "w2": fn("q2", "lognormal(median=40ms, p99=160ms)", 10)},
            "workloads": {"pub": {"entry": "events", "op": "publish", "rate": "200/s",
                                  "profile": {"type": "spike", "at": "60s", "duration": "60s", "factor": 3}}},
            "simulate": {"duration": "4m", "seed": 1}}


def test_sns_fans_out_a_copy_per_queue_and_matches_exact() -> None:
    exact, fluid = _both(_sns())
    _close(exact, fluid, "pub")
    subs = fluid["components"]["events"]["subscriptions"]
    assert [s["delivered"] for s in subs] == [fluid["components"]["events"]["publishes"]] * 2
    assert fluid["messages"]["published"] == 2 * fluid["workloads"]["pub"]["requests"]  # a copy per queue
    for q in ("q1", "q2"):
        c = fluid["components"][q]
        assert c["sent"] == c["delivered"] + c["moved_to_dlq"] + c["visible"] + c["in_flight"]
    e, f = exact["components"]["q2"], fluid["components"]["q2"]
    assert f["max_visible"] == pytest.approx(e["max_visible"], rel=0.10)  # 24,404 exact
    assert f["delivered"] == pytest.approx(e["delivered"], rel=0.05)
    assert fluid["components"]["q1"]["max_visible"] < 0.01 * f["max_visible"]  # the fast consumer keeps up


def test_sns_refusals() -> None:
    d = _sns()
    d["components"]["events"]["subscriptions"][0]["filter_policy"] = {"kind": ["a"]}
    with pytest.raises(FluidRefused, match="plain sqs and lambda subscriptions"):
        check(from_dict(d))


def _async(**fn: Any) -> dict[str, Any]:
    """200 asynchronous invokes/s (a x3 spike for a minute, which the function's own invoke rate,
    10 x its reserved 20, refuses) of a function failing 10 % of the time, its DLQ a queue."""
    f = {"type": "lambda", "memory": 1769, "reserved_concurrency": 20, "error_rate": 0.1, "dlq": "dead",
         "handler": [{"cpu": "lognormal(median=40ms, p99=160ms)"}, {"sleep": "exp(mean=30ms)"}]}
    f.update(fn)
    return {"name": "async", "zones": ["a", "b"],
            "components": {"fn": f, "dead": {"type": "sqs", "retention": "14d"}},
            "workloads": {"events": {"entry": "fn", "op": "invoke_async", "rate": "200/s",
                                     "profile": {"type": "spike", "at": "60s", "duration": "60s", "factor": 3}}},
            "simulate": {"duration": "10m", "seed": 1}}


def test_async_invokes_retry_then_dead_letter_and_balance() -> None:
    exact, fluid = _both(_async())
    _close(exact, fluid, "events")  # accepted at once; the spike's excess is refused by the invoke rate
    e, f = exact["components"]["fn"]["async"], fluid["components"]["fn"]["async"]
    assert f["accepted"] == f["succeeded"] + f["dead_lettered"] + f["lost"] + f["waiting"]
    assert f["succeeded"] == pytest.approx(e["succeeded"], rel=0.05)  # 118,176 exact
    assert f["retries"] == pytest.approx(e["retries"], rel=0.10)  # 11,655: errors retried 1 and 2 min later
    assert f["dead_lettered"] == pytest.approx(e["dead_lettered"], rel=0.10, abs=3)  # 84: failed 3 times (0.1^3)
    assert f["failed_after_attempts"] == {"3": f["dead_lettered"]}
    assert fluid["components"]["dead"]["dead_letters_in"] == f["dead_lettered"]
    assert f["waiting"] == pytest.approx(e["waiting"], rel=0.15)  # 1,604: throttled events backing off
    assert fluid["components"]["fn"]["throttles"] == pytest.approx(exact["components"]["fn"]["throttles"], rel=0.15)
    assert f["end_to_end_ms"]["p50"] == pytest.approx(e["end_to_end_ms"]["p50"], rel=0.05)


def test_async_without_concurrency_goes_straight_to_the_dlq() -> None:
    d = _async(reserved_concurrency=0)
    d["workloads"]["events"].pop("profile")
    d["simulate"]["duration"] = "1m"
    f = run_fluid(from_dict(d)).data["components"]["fn"]
    assert f["invocations"] == 0 and f["async"]["dead_lettered"] == f["async"]["accepted"] > 0


def test_event_processing_blueprint_matches_exact() -> None:
    """The `event-processing` blueprint (SQS -> Lambda with partial batch responses and a DLQ;
    SNS -> Lambda asynchronously with a DLQ; poison messages) on both engines."""
    from cloudtwin.blueprints import blueprint_path
    from cloudtwin.spec import load_spec

    exact = Simulation(load_spec(blueprint_path("event-processing"))).run().data
    fluid = run_fluid(load_spec(blueprint_path("event-processing"))).data
    for w in ("orders-api", "events"):
        _close(exact, fluid, w)
    e, f = exact["components"], fluid["components"]
    # poison messages (0.2 % of 24,000 orders, 0.5 % of 12,000 events) are the dead letters: the fluid
    # counts are expected values, the exact ones a draw (Poisson, sd ~ sqrt(n)), so within 3 sd
    for q in ("orders-dlq", "notifications-dlq"):
        n = e[q]["dead_letters_in"]
        assert abs(f[q]["dead_letters_in"] - n) <= 3 * math.sqrt(n)
    assert f["send-notification"]["async"]["failed_after_attempts"] == {"3": f["notifications-dlq"]["dead_letters_in"]}
    assert f["process-order"]["invocations"] == pytest.approx(e["process-order"]["invocations"], rel=0.05)
    m = fluid["messages"]
    assert m["published"] == m["delivered"] + m["dead_lettered"] + m["in_flight"] + m["lost"]


def test_same_spec_and_seed_give_identical_results() -> None:
    for d in (_api(), _sqs(error_rate=0.2), _sns(), _async()):
        one = run_fluid(from_dict(copy.deepcopy(d))).data
        two = run_fluid(from_dict(copy.deepcopy(d))).data
        one.pop("wall_s")
        two.pop("wall_s")
        assert one == two


def test_handler_send_step_feeds_a_queue_and_matches_exact() -> None:
    """API -> Lambda whose handler sends each request on to a queue drained by a second function."""
    d = _api(handler=[{"cpu": "lognormal(median=20ms, p99=80ms)"}, {"call": "jobs.send"}])
    q = _sqs()
    d["components"].update(jobs=q["components"]["jobs"], worker=q["components"]["worker"])
    d["components"]["jobs"].pop("dlq")
    d["workloads"]["users"]["rate"] = "300/s"
    exact, fluid = _both(d)
    _close(exact, fluid, "users")  # the SendMessage call's latency is part of the handler's
    e, f = exact["components"]["jobs"], fluid["components"]["jobs"]
    assert f["sent"] == pytest.approx(e["sent"], rel=0.01)  # one message per successful run
    assert f["delivered"] == pytest.approx(e["delivered"], rel=0.02)
    assert f["sent"] == f["delivered"] + f["moved_to_dlq"] + f["visible"] + f["in_flight"]
