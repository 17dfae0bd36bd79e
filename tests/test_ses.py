"""SES: the maximum send rate, the rolling 24-hour quota, sandbox defaults, counts per
recipient (one welcome email per user), billing per recipient, and the sandbox warning."""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Simulation, SpecError, parse_spec
from cloudtwin.metering import bill
from cloudtwin.pricing.table import Price, PriceTable
from cloudtwin.request import THROTTLED, Request
from cloudtwin.spec import parse_spec_located, spec_warnings

SPEC = """
name: m
components:
  mailer: {{type: ses, {ses}}}
workloads:
  w: {{entry: mailer, rate: {rate}/s, arrivals: {arrivals}}}
simulate: {{duration: {seconds}s}}
"""


def send(ses: str, rate: float, seconds: float, arrivals: str = "constant") -> tuple[dict[str, Any], dict[str, Any]]:
    res = Simulation(parse_spec(SPEC.format(ses=ses, rate=rate, seconds=seconds, arrivals=arrivals))).run()
    return res.component("mailer"), res.workload("w")


def test_twice_the_max_send_rate_throttles_half() -> None:
    """20 emails/s at a 10/s maximum send rate for 120 s: the bucket passes one second's
    worth at once (10) then 10/s, so 1,210 are sent and 1,190 are "Maximum sending rate
    exceeded" (throttled, as AWS names it)."""
    m, w = send("sandbox: false, max_send_rate: 10/s", 20, 120)
    assert m["requests"] == pytest.approx(2_400, abs=1)
    assert m["sent"] == pytest.approx(1_210, abs=2)
    assert m["throttled"] == m["throttled_by"]["max_send_rate"] == m["requests"] - m["sent"]
    assert m["throttled"] / m["requests"] == pytest.approx(0.5, abs=0.01)
    assert w["errors"]["throttled"] == pytest.approx(m["throttled"], abs=w["in_flight"])
    # Poisson arrivals at twice the rate: still about half
    m, _ = send("sandbox: false, max_send_rate: 10/s", 20, 300, "poisson")
    assert m["throttled"] / m["requests"] == pytest.approx(0.5, abs=0.03)
    # below the rate nothing is throttled
    m, _ = send("sandbox: false, max_send_rate: 10/s", 8, 120)
    assert m["throttled"] == 0 and m["sent"] == m["requests"]


def test_the_daily_quota_stops_sending_at_exactly_the_quota() -> None:
    """10/s against a 500-email quota (rate limit 100/s, out of the way): exactly 500 sent,
    every later email "Daily message quota exceeded" (AWS answers it as throttling)."""
    m, w = send("sandbox: false, max_send_rate: 100/s, daily_quota: 500", 10, 120)
    assert m["sent"] == 500
    assert m["sent_last_24h"] == 500
    assert m["throttled_by"] == {"max_send_rate": 0, "daily_quota": m["requests"] - 500}
    assert w["errors"]["throttled"] == pytest.approx(m["requests"] - 500, abs=w["in_flight"])


def test_the_quota_is_a_rolling_24_hours() -> None:
    """One email every 100 s against a quota of 500 for 26 h: 500 go out in the first
    50,000 s, then nothing until the first of them is 24 h old; from then on one slot frees
    every 100 s, so about 72 more go out by 26 h, and no 24 h ever holds more than 500."""
    m, _ = send("sandbox: false, daily_quota: 500", 0.01, 26 * 3600)
    assert m["requests"] == pytest.approx(936, abs=1)
    assert m["sent"] == pytest.approx(572, abs=2)
    assert m["sent_last_24h"] <= 500
    assert m["throttled_by"]["daily_quota"] == m["requests"] - m["sent"]


def test_sandbox_and_production_defaults() -> None:
    """The sandbox sends 1 email/s and 200 per 24 h (SES quotas page): 2/s for 300 s sends
    exactly 200. Out of the sandbox the defaults are 14/s and 50,000 per 24 h (weak,
    third-party): 28/s for 60 s sends 14 x 60 + 14."""
    m, _ = send("sandbox: true", 2, 300)
    assert (m["max_send_rate"], m["daily_quota"]) == (1.0, 200)
    assert m["sent"] == 200
    assert m["throttled_by"]["max_send_rate"] == pytest.approx(200, abs=2)  # the first 200 s at half the rate
    assert m["throttled_by"]["daily_quota"] == pytest.approx(200, abs=2)
    m, _ = send("sandbox: false", 28, 60)
    assert (m["max_send_rate"], m["daily_quota"]) == (14.0, 50_000)
    assert m["sent"] == pytest.approx(14 * 60 + 14, abs=2)


WELCOME = """
name: welcome
components:
  mailer: {type: ses, sandbox: false, max_send_rate: 50/s}
workloads:
  idle: {entry: mailer, rate: 0/s}
simulate: {duration: 120s}
"""


def _welcome(users: int, again: int) -> dict[str, Any]:
    """``users`` sign up within one second; each gets a welcome email, retried after 0.5 s
    while throttled; the first ``again`` users get a second email a minute later."""
    sim = Simulation(parse_spec(WELCOME))
    ses = sim.components["mailer"]
    eng = sim.engine

    def mail(uid: int) -> None:
        req = Request(eng.now, None, None)
        req.user = (uid, uid)

        def done(r: Request, err: str | None) -> None:
            if err == THROTTLED:
                eng.after(0.5, mail, uid)

        ses.handle(req, "send", done)

    for u in range(users):
        eng.at(u / users, mail, u)
    for u in range(again):
        eng.at(60.0 + u / 100, mail, u)
    return sim.run().component("mailer")


def test_one_welcome_email_per_new_user_despite_throttling() -> None:
    """1,000 sign-ups in one second at a 50/s send rate: most first attempts are throttled
    and retried, yet each user gets exactly one email (a refused email is not sent, so its
    retry is no duplicate)."""
    m = _welcome(1_000, 0)
    assert m["throttled"] > 900
    assert m["sent"] == 1_000
    assert m["unique_recipients"] == 1_000
    assert m["duplicates"] == 0 and m["max_per_recipient"] == 1


def test_a_second_email_to_the_same_user_is_a_duplicate() -> None:
    m = _welcome(1_000, 30)
    assert m["sent"] == 1_030
    assert m["unique_recipients"] == 1_000
    assert m["duplicates"] == 30 and m["max_per_recipient"] == 2


def test_recipients_drawn_when_requests_carry_no_user() -> None:
    """1,200 emails to recipients drawn from 100 addresses: all 100 reached, 1,100 duplicates."""
    m, _ = send('sandbox: false, max_send_rate: 100/s, recipients: "uniform(0, 100)"', 10, 120)
    assert m["sent"] == pytest.approx(1_200, abs=1)
    assert m["unique_recipients"] == 100
    assert m["duplicates"] == m["sent"] - 100
    m, _ = send("sandbox: false", 10, 10)
    assert m["unaddressed"] == m["sent"] and m["unique_recipients"] == 0


def test_each_sent_email_is_billed_per_recipient() -> None:
    """$0.10 per 1,000 emails (a-la-carte, weak source): throttled emails are not billed."""
    sim = Simulation(parse_spec(SPEC.format(ses="sandbox: false, max_send_rate: 10/s", rate=20, seconds=60,
                                            arrivals="constant")))
    m = sim.run().component("mailer")
    table = PriceTable([Price("us-east-1", "ses", "Recipients", "recipient", 0.0001, "test", "", "weak")])
    cost = bill(sim, table)
    item = next(i for i in cost["items"] if i["component"] == "mailer")
    assert item["quantity"] == m["sent"] < m["requests"]
    assert item["usd"] == pytest.approx(m["sent"] * 0.0001)


def test_a_sandboxed_sender_is_warned_and_bad_limits_refused() -> None:
    arch, loc = parse_spec_located(SPEC.format(ses="sandbox: true", rate=1, seconds=1, arrivals="constant"))
    warns = [w for w in spec_warnings(arch, loc) if "mailer" in w.path]
    assert len(warns) == 1 and "sandbox" in warns[0].message and "200 emails per 24 h" in warns[0].message
    arch, loc = parse_spec_located(SPEC.format(ses="sandbox: false", rate=1, seconds=1, arrivals="constant"))
    assert not [w for w in spec_warnings(arch, loc) if "mailer" in w.path]
    for bad in ("max_send_rate: 0/s", "daily_quota: 0", "sandbox: maybe", "send_rate: 5/s"):
        with pytest.raises(SpecError):
            parse_spec(SPEC.format(ses=bad, rate=1, seconds=1, arrivals="constant"))
