"""Blueprint row 13, "Serverless architecture 2": ``serverless-global``.

CloudFront (4 edges) in front of static files in S3, a cached REST API and an uncached
per-user HTTP API; sign-ups write a DynamoDB table whose stream sends welcome emails
through SES; photo uploads notify a thumbnailer Lambda. The claims, with numbers:

(a) static content is served from the edge: S3 sees exactly the static misses, a small
    fraction of the static requests;
(b) the dynamic API is cached where allowed: the public catalog reaches its API only on
    edge misses and its Lambda only on the API cache's misses, while the personal
    ``/api/me/*`` behavior forwards every request;
(c) every new user gets exactly one welcome email although 30 % of the welcome
    function's invocations fail for two minutes (the failure comes before the send, and
    the stream retries the record); a failure after the send, or a batch of several
    records, would mail some users twice (at-least-once delivery), as the variants show;
(d) every uploaded photo gets exactly one thumbnail despite injected errors (Lambda
    retries the async event a minute later); writing thumbnails back into the notified
    prefix would loop;
(e) nothing is lost, and every message is accounted for.
"""

from __future__ import annotations

from importlib.resources import files

import pytest

from cloudtwin import Results, Simulation, load_spec, parse_spec

NAME = "serverless-global"


def blueprint_text() -> str:
    return (files("cloudtwin") / "blueprints" / f"{NAME}.yaml").read_text(encoding="utf-8")


def variant(old: str, new: str, faults: bool = True) -> Results:
    text = blueprint_text()
    changed = text.replace(old, new)
    assert changed != text
    arch = parse_spec(changed)
    if not faults:
        arch = arch.model_copy(update={"faults": []})
    return Simulation(arch).run()


@pytest.fixture(scope="module")
def res() -> Results:
    return Simulation(load_spec(NAME)).run()


def behavior(res: Results, path: str) -> dict:
    return next(b for b in res.component("site")["behaviors"] if b["path"] == path)


def test_static_content_is_served_from_the_edge(res: Results) -> None:
    viewers = res.workload("viewers")
    assert viewers["requests"] == pytest.approx(1000 * 180, rel=0.02)
    assert viewers["failed"] == 0
    static = behavior(res, "/static/*")
    assert static["requests"] == pytest.approx(0.7 * viewers["requests"], rel=0.02)
    assert static["hit_ratio"] > 0.85
    # the bucket serves exactly the edges' misses, and nothing else
    assets = res.component("assets")
    assert static["origin_requests"] == static["misses"] == assets["gets"] == assets["requests"]
    assert assets["gets"] < 0.15 * static["requests"]


def test_the_dynamic_api_is_cached_where_allowed(res: Results) -> None:
    catalog = behavior(res, "/api/catalog/*")
    api = res.component("catalog-api")
    fn = res.component("catalog")
    # edge cache (30 s): only misses reach the API ...
    assert catalog["cached"] and catalog["hit_ratio"] > 0.7
    assert api["requests"] == catalog["origin_requests"] == catalog["misses"] < 0.3 * catalog["requests"]
    # ... and the API's own cache (5 min) absorbs the other edges' misses for the same URL
    assert api["cache"]["hit_ratio"] > 0.75
    assert fn["invocations"] == api["cache"]["misses"] < 0.06 * catalog["requests"]
    # the personal behavior is not cached: every request reaches its API and function
    me = behavior(res, "/api/me/*")
    account_api, account = res.component("account-api"), res.component("account")
    assert not me["cached"] and me["hits"] == 0
    assert me["requests"] > 8000
    assert me["origin_requests"] == me["requests"] == account_api["requests"] == account["invocations"]
    assert account_api["authorizer"] == {"unauthenticated": 0, "invalid_tokens": 0}  # viewers carry tokens


def test_every_new_user_gets_exactly_one_welcome_email_despite_errors(res: Results) -> None:
    signups, pool = res.workload("signups"), res.component("users")
    table, welcome, mailer = res.component("profiles"), res.component("welcome"), res.component("mailer")
    stream = table["stream"]
    consumer = stream["consumers"][0]
    n = pool["sign_ups"]
    assert n == pytest.approx(2 * 150, rel=0.2) and signups["failed"] == 0 and signups["in_flight"] == 0
    # one profile write, one stream record, one delivered record and one email per sign-up
    assert n == signups["succeeded"] == table["writes"] == stream["records"] == consumer["delivered"]
    assert mailer["sent"] == mailer["unique_recipients"] == n
    assert mailer["duplicates"] == 0 and mailer["max_per_recipient"] == 1 and mailer["throttled"] == 0
    # the injected errors happened and were retried by the stream: 30 % of the attempts
    # during two of the minutes, so roughly 0.3/0.7 retries per record then
    assert consumer["failed_batches"] == consumer["retries"] == welcome["function_errors"] > 60
    assert welcome["invocations"] == n + consumer["retries"]
    assert consumer["lost"] == consumer["on_failure"] == 0 and consumer["backlog"] == 0


def test_a_failure_after_the_send_mails_the_user_again() -> None:
    """At-least-once: a function error drawn after the handler (``error_rate``), once the
    email went out, makes the stream retry the record, so that user is mailed twice."""
    after = variant(
        "  welcome:\n    type: lambda\n", "  welcome:\n    type: lambda\n    error_rate: 0.1\n", faults=False
    )
    mailer, welcome = after.component("mailer"), after.component("welcome")
    n = after.component("users")["sign_ups"]
    assert mailer["unique_recipients"] == n  # everyone still got the email ...
    assert mailer["duplicates"] == welcome["function_errors"] > 15  # ... and each late failure one more
    assert mailer["sent"] == n + mailer["duplicates"]


def test_batches_of_several_records_resend_other_users_emails() -> None:
    """The same fault as the blueprint's, with batches of 10: a failure on one record makes
    the stream resend the whole batch, so users earlier in it get a second email."""
    batched = variant("batch_size: 1 ", "batch_size: 10 ")
    mailer = batched.component("mailer")
    assert mailer["unique_recipients"] == batched.component("users")["sign_ups"]
    assert mailer["duplicates"] > 5 and mailer["max_per_recipient"] > 1


def test_every_uploaded_photo_gets_exactly_one_thumbnail(res: Results) -> None:
    uploads, photos = res.workload("uploads"), res.component("photos")
    thumb, thumbs = res.component("thumbnailer"), res.component("thumbs")
    n = uploads["succeeded"]
    assert n == pytest.approx(3 * 150, rel=0.1) and uploads["failed"] == 0
    assert photos["puts"] == n and photos["notifications"] == {"sent": n, "refused": 0, "pending": 0}
    a = thumb["async"]
    assert a["accepted"] == a["succeeded"] == thumbs["puts"] == n
    # the 30 s errors fault failed some events; each was retried once, a minute later, and succeeded
    assert a["retries"] == thumb["function_errors"] > 5
    assert thumb["invocations"] == n + a["retries"]
    assert a["dead_lettered"] == a["lost"] == a["waiting"] == 0 and a["failed_after_attempts"] == {}
    assert 60_000 < a["end_to_end_ms"]["max"] < 65_000
    assert res.component("missed-thumbnails")["requests"] == 0


@pytest.mark.slow
def test_thumbnails_written_back_into_the_notified_prefix_loop() -> None:
    """The recursion trap: thumbnails written into the uploader's folder of `photos` match the
    notification's prefix, so each thumbnail triggers another, for as long as the run lasts."""
    loop = variant("      - call: thumbs.put", "      - call: photos.put")
    uploads = loop.workload("uploads")["succeeded"]
    photos, thumb = loop.component("photos"), loop.component("thumbnailer")
    assert loop.component("thumbs")["puts"] == 0
    assert photos["puts"] > 50 * uploads
    assert thumb["invocations"] > 50 * uploads


def test_nothing_is_lost_and_every_message_is_accounted_for(res: Results) -> None:
    m = res["messages"]
    assert m["lost"] == 0 and m["lost_by_cause"] == {}
    assert m["delivered"] + m["dead_lettered"] + m["expired"] + m["in_flight"] == m["published"]
    # the messages are the stream records and the S3 notifications, all delivered
    records = res.component("profiles")["stream"]["records"]
    notes = res.component("photos")["notifications"]["sent"]
    assert m["published"] == m["delivered"] == records + notes
