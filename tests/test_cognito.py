"""Cognito: sign-up and sign-in under the account's rate quotas, the post-confirmation trigger,
and API Gateway's Cognito authorizer."""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Simulation, SpecError, parse_spec
from cloudtwin.spec.references import warnings

POOL = """
name: pool
components:
  users: {type: cognito, users: 100}
workloads:
  signups: {entry: users, rate: 20/s, op: sign_up}
  signins: {entry: users, rate: 50/s, op: sign_in, clients: 200}
simulate: {duration: 1m}
"""


def run(text: str) -> tuple[Simulation, Any]:
    sim = Simulation(parse_spec(text))
    return sim, sim.run()


def test_sign_up_adds_users_and_sign_in_needs_a_known_one() -> None:
    sim, res = run(POOL)
    c = res.component("users")
    assert c["users"] == 100 + c["sign_ups"] and c["sign_ups"] == pytest.approx(1200, rel=0.1)
    # clients 0..199 sign in; the pool knows 0..99 at first and grows past 199 within 5 s
    assert 0 < c["unknown_users"] < 0.1 * res.workload("signins")["requests"]
    assert res.workload("signins")["errors"]["rejected"] <= c["unknown_users"]
    assert c["throttled"] == {"sign_in": 0, "sign_up": 0}
    assert sim.components["users"].usage()["Cognito-MAU"] == c["active_users"] > 1300


@pytest.mark.parametrize("op, rate, quota", [("sign_in", 300, 120), ("sign_up", 100, 50)])
def test_requests_above_the_account_quota_are_throttled(op: str, rate: int, quota: int) -> None:
    text = f"""
name: busy
components:
  users: {{type: cognito, users: 100000}}
  other: {{type: cognito}}
workloads:
  a: {{entry: users, rate: {rate / 2}/s, op: {op}, clients: 1000, arrivals: constant}}
  b: {{entry: other, rate: {rate / 2}/s, op: {op}, clients: 1000, arrivals: constant}}
simulate: {{duration: 20s}}
"""
    _, res = run(text)
    ok = sum(res.component(p)["sign_ins" if op == "sign_in" else "sign_ups"] for p in ("users", "other"))
    assert ok == pytest.approx(quota * 21, rel=0.01)  # shared by both pools: the quota plus 1 s of burst
    throttled = sum(res.component(p)["throttled"][op] for p in ("users", "other"))
    assert throttled == pytest.approx(rate * 20 - quota * 21, rel=0.02)


TRIGGER = """
name: trigger
components:
  users: {type: cognito, users: 0, post_confirmation: welcome}
  welcome: {type: lambda, error_rate: 0.2, handler: [{cpu: 20ms}]}
workloads:
  signups: {entry: users, rate: 10/s, op: sign_up}
simulate: {duration: 5m}
"""


def test_a_failing_post_confirmation_trigger_fails_the_call_but_the_user_stays_confirmed() -> None:
    """Cognito runs the trigger after confirming the user: the caller sees an error, the user
    exists, and what the trigger was to do never happened (confirmed_without_trigger)."""
    _, res = run(TRIGGER)
    c, w = res.component("users"), res.workload("signups")
    assert w["errors"]["server_error"] == c["trigger_failures"] == c["confirmed_without_trigger"]
    assert c["trigger_failures"] / w["requests"] == pytest.approx(0.2, abs=0.025)
    assert c["users"] == c["sign_ups"]
    # every finished sign-up left a user, failed trigger or not
    assert 0 <= c["sign_ups"] - (w["succeeded"] + w["failed"]) <= w["in_flight"]


def test_a_trigger_slower_than_5s_is_tried_3_times_then_fails() -> None:
    text = TRIGGER.replace("error_rate: 0.2, handler: [{cpu: 20ms}]", "timeout: 10s, handler: [{sleep: 6s}]")
    text = text.replace("rate: 10/s", "rate: 1/s").replace("5m", "2m")
    _, res = run(text)
    c, w = res.component("users"), res.workload("signups")
    assert w["errors"]["server_error"] == c["trigger_failures"] == c["sign_ups"] > 90
    assert c["trigger_timeouts"] >= 3 * c["trigger_failures"]
    assert w["succeeded"] == 0
    assert res.component("welcome")["invocations"] >= 3 * c["trigger_failures"]


API = """
name: api
components:
  users: {type: cognito, users: 500}
  api:
    type: apigateway
    api: http
    authorizer: {cognito: users}
    integration: {target: fn}
  fn: {type: lambda, handler: [{cpu: 5ms}]}
workloads:
  anonymous: {entry: api, rate: 20/s}
  members: {entry: api, rate: 20/s, clients: 1000, auth: {pool: users}}
simulate: {duration: 2m}
"""


def test_an_api_with_a_cognito_authorizer_rejects_anonymous_requests() -> None:
    _, res = run(API)
    anon, members = res.workload("anonymous"), res.workload("members")
    au = res.component("api")["authorizer"]
    assert anon["succeeded"] == 0 and anon["errors"]["rejected"] + anon["in_flight"] == anon["requests"] > 2000
    assert au["unauthenticated"] == anon["requests"]  # counted as they arrive
    # members 0..499 are pool users; 500..999 hold no token the pool issued
    assert members["errors"]["rejected"] / members["requests"] == pytest.approx(0.5, abs=0.04)
    assert au["invalid_tokens"] >= members["errors"]["rejected"]
    assert members["succeeded"] > 1000
    assert res.component("users")["requests"] == 0  # JWTs are validated by API Gateway, not by calls to Cognito


@pytest.mark.parametrize("edit, needle", [
    (("authorizer: {cognito: users}", "authorizer: {cognito: fn}"), "must be a cognito user pool"),
    (("authorizer: {cognito: users}", "authorizer: {cognito: users, function: fn}"), "exactly one of"),
    (("users: {type: cognito, users: 500}", "users: {type: cognito, users: 500, post_confirmation: api}"),
     "must be a lambda"),
    (("auth: {pool: users}", "auth: {pool: fn}"), "must be a cognito"),
    (("rate: 20/s}", "rate: 20/s, op: sign_in}"), "no operation 'sign_in'"),
])
def test_bad_specs_are_refused(edit: tuple[str, str], needle: str) -> None:
    with pytest.raises(SpecError, match=needle):
        parse_spec(API.replace(*edit))


def test_warnings_for_raised_quotas_and_clients_beyond_the_pool() -> None:
    msgs = [m for _, m in warnings(parse_spec(API.replace("users: 500}", "users: 500, auth_rate: 500/s}")))]
    assert any("above the default quota 120/s" in m for m in msgs)
    assert any("1000 clients but pool 'users' starts with 500 users" in m for m in msgs)
