"""Lambda's account quotas as spec settings: the Invoke request rate (10 requests/s per unit of
concurrency, for the account and for a function's reserved concurrency), a raised account
concurrency (so that the 1,000-per-10-s scaling rate can bind), and async retries counted when
they run [aws-facts §5 Account concurrency, Invoke request rate, Scaling rate, Async retries]."""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Simulation, SpecError, parse_spec


def run(text: str) -> Any:
    return Simulation(parse_spec(text)).run()


def test_the_account_invoke_rate_is_ten_times_its_concurrency() -> None:
    """1 ms invocations at 12,000/s need only ~12 environments, yet the Invoke API accepts
    10 x 1,000 = 10,000 requests/s [aws-facts §5 Invoke request rate]. Measured over one
    second (a bucket of 10,000 starting full), 10 s of constant arrivals admit
    10,000 + 10 x 10,000 = 110,000 of 120,000: 10,000 are throttled (429)."""
    res = run("""
name: rate
components:
  fn: {type: lambda, init_duration: 0ms, handler: [{cpu: 1ms}], memory: 1769}
workloads:
  w: {entry: fn, rate: 12000/s, arrivals: constant}
simulate: {duration: 10s}
""")
    fn, w = res.component("fn"), res.workload("w")
    assert fn["rate_throttles"] == fn["throttles"] == w["errors"]["throttled"]
    assert w["errors"]["throttled"] == pytest.approx(10_000, abs=5)
    assert fn["max_concurrency"] < 100  # the concurrency quota is far from binding


def test_raising_account_concurrency_raises_the_invoke_rate() -> None:
    res = run("""
name: rate
account: {lambda_concurrency: 2000}
components:
  fn: {type: lambda, init_duration: 0ms, handler: [{cpu: 1ms}], memory: 1769}
workloads:
  w: {entry: fn, rate: 12000/s, arrivals: constant}
simulate: {duration: 10s}
""")
    assert res.component("fn")["throttles"] == 0  # 20,000/s allowed


def test_reserved_concurrency_gives_a_function_its_own_invoke_rate() -> None:
    """reserved_concurrency 5: the function's own rate is 5 x 10 = 50/s (reason
    ReservedFunctionInvocationRateLimitExceeded); at 80/s for 60 s it admits 50 + 50 x 60."""
    res = run("""
name: rate
components:
  fn: {type: lambda, init_duration: 0ms, reserved_concurrency: 5, handler: [{cpu: 1ms}], memory: 1769}
workloads:
  w: {entry: fn, rate: 80/s, arrivals: constant}
simulate: {duration: 60s}
""")
    fn, w = res.component("fn"), res.workload("w")
    assert w["succeeded"] == pytest.approx(50 + 50 * 60, abs=2)
    assert fn["rate_throttles"] == w["errors"]["throttled"] == pytest.approx(80 * 60 - 3050, abs=2)


def test_a_callers_async_invokes_count_against_the_rate_but_sns_pushes_do_not() -> None:
    """The Invoke API rate applies to asynchronous invokes from non-AWS sources
    (a handler's invoke_async) [aws-facts §5 Invoke request rate]."""
    res = run("""
name: rate
components:
  fn: {type: lambda, init_duration: 0ms, reserved_concurrency: 1, handler: [{cpu: 1ms}], memory: 1769}
  caller: {type: ec2, instance_type: c5.4xlarge, handler: [{call: fn.invoke_async, retries: 0}]}
workloads:
  w: {entry: caller, rate: 20/s, arrivals: constant}
simulate: {duration: 60s}
""")
    fn, w = res.component("fn"), res.workload("w")
    assert w["errors"]["throttled"] == fn["rate_throttles"] == pytest.approx(20 * 60 - (10 + 10 * 60), abs=2)
    assert fn["async"]["accepted"] == w["succeeded"]


def test_a_raised_account_concurrency_lets_the_scaling_rate_bind() -> None:
    """With 5,000 concurrency, 10 s invocations at 400/s need 4,000 environments; a function
    gets 1,000 at once then 100/s [aws-facts §5 Scaling rate], so at 20 s it has 1,000 + 2,000
    (a little under: the bucket refills while the first burst is taken). At the default 1,000
    the concurrency quota binds first."""
    spec = """
name: scale
{account}
components:
  fn: {{type: lambda, timeout: 30s, init_duration: 0ms, handler: [{{sleep: 10s}}]}}
workloads:
  w: {{entry: fn, rate: 400/s, arrivals: constant}}
simulate: {{duration: 20s}}
"""
    raised = run(spec.format(account="account: {lambda_concurrency: 5000}")).component("fn")
    assert raised["environments"] == pytest.approx(1000 + 100 * 20, abs=5)
    default = run(spec.format(account="")).component("fn")
    assert default["environments"] == default["max_concurrency"] == 1000


def test_async_retries_count_the_retries_that_ran() -> None:
    """An event a second for 10 min, each failing, 2 retries, max_event_age 90 s: the first
    retry runs 60 s after the event; the second is due at 180 s, past the event age, so it
    never runs [aws-facts §5 Async retries, Maximum event age]. Within the 600 s run the
    first retry runs for the ~540 events older than 60 s, and the second is dropped for the
    ~420 older than 180 s."""
    res = run("""
name: retries
components:
  fn: {type: lambda, error_rate: 1, retries: 2, max_event_age: 90s, handler: [{cpu: 1ms}]}
  caller: {type: ec2, handler: [{call: fn.invoke_async}]}
workloads:
  w: {entry: caller, rate: 1/s, arrivals: constant}
simulate: {duration: 10m}
""")
    fn = res.component("fn")
    a = fn["async"]
    assert fn["invocations"] == a["accepted"] + a["retries"]  # each run is a first attempt or a retry
    assert a["retries"] == pytest.approx(540, abs=2) and a["retries_dropped"] == pytest.approx(420, abs=2)
    assert a["failed_after_attempts"] == {"2": a["retries_dropped"]} == {"2": a["lost"]}


@pytest.mark.parametrize("text, path, needle", [
    ("account: {lambda_concurrency: 2000}\ncomponents:\n  fn: {type: lambda, reserved_concurrency: 1901}",
     "components.fn.reserved_concurrency", "above 1900"),
    ("components:\n  fn: {type: lambda, provisioned_concurrency: 901}", "components.fn.provisioned_concurrency",
     "above 900"),
    ("account: {lambda_concurrency: 99}\ncomponents:\n  fn: {type: lambda}", "account.lambda_concurrency", "100"),
    ("components:\n  s: {type: kinesis, shards: 300}\n  t: {type: kinesis, shards: 201}", "components.s.shards",
     "501 shards"),
    ("region: eu-central-1\ncomponents:\n  s: {type: kinesis, shards: 201}", "components.s.shards",
     "quota in eu-central-1 is 200"),
])
def test_account_quotas_are_checked(text: str, path: str, needle: str) -> None:
    with pytest.raises(SpecError) as e:
        parse_spec("name: q\n" + text)
    assert any(path in str(i) and needle in str(i) for i in e.value.issues), str(e.value)


def test_raised_quotas_are_legal_with_a_warning() -> None:
    from cloudtwin.spec import spec_warnings

    arch = parse_spec("name: q\naccount: {lambda_concurrency: 3000, kinesis_shards: 1000}\n"
                      "components:\n  fn: {type: lambda, reserved_concurrency: 2500}\n"
                      "  s: {type: kinesis, shards: 800}")
    text = " ".join(str(w) for w in spec_warnings(arch))
    assert "lambda_concurrency" in text and "kinesis_shards" in text
