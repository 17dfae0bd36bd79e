"""Auto Scaling lifecycle hooks against aws-facts §2: heartbeat timeout (default 3,600 s, range
30-7,200 s), default result ABANDON (on launch it terminates and replaces the instance; on
termination both results terminate), and the Elastic IP a launch hook or user data attaches."""

from __future__ import annotations

import pytest

import cloudtwin
from cloudtwin.errors import SpecError
from cloudtwin.services.eip import ASSOCIATE_S
from cloudtwin.simulation import Simulation
from cloudtwin.spec import parse_spec

SPEC = """
name: hooks
components:
  web:
    type: asg
    capacity: {{min: 1, max: 1}}
    boot_time: 60s
    elastic_ip: true
    lifecycle_hooks:
{hooks}
    handler: [{{cpu: 10ms}}]
faults:
  - {{at: 100s, terminate: web}}
simulate: {{duration: {duration}}}
"""


def run(hooks: str, duration: str = "20m") -> cloudtwin.Results:
    return Simulation(parse_spec(SPEC.format(hooks=hooks, duration=duration), file="hooks.yaml")).run()


def lifecycle(r: cloudtwin.Results, text: str) -> list[float]:
    return [e["t"] for e in r["timeline"] if e["kind"] == "lifecycle" and text in e["detail"]]


def test_defaults_are_the_documented_ones() -> None:
    arch = parse_spec(SPEC.format(hooks="      - {transition: launching}", duration="1m"))
    [hook] = arch.components["web"].lifecycle_hooks
    assert hook.heartbeat_timeout == 3600.0  # aws-facts §2 Lifecycle-hook timeout
    assert hook.default_result == "ABANDON"  # aws-facts §2 Lifecycle-hook default result


@pytest.mark.parametrize("timeout", ["29s", "7201s"])
def test_heartbeat_timeout_outside_30_to_7200_s_is_refused(timeout: str) -> None:
    with pytest.raises(SpecError) as e:
        parse_spec(SPEC.format(hooks=f"      - {{transition: launching, heartbeat_timeout: {timeout}}}",
                               duration="1m"), file="hooks.yaml")
    assert "heartbeat_timeout" in str(e.value) and "hooks.yaml:" in str(e.value)


def test_an_uncompleted_launch_hook_abandons_after_its_timeout_and_replaces() -> None:
    r = run("      - {transition: launching, action: none, heartbeat_timeout: 120s}")
    found = lifecycle(r, "unhealthy")[0]  # the terminated instance, at the next health check
    timeouts = lifecycle(r, "launch hook timed out")
    # launched at `found`, abandoned exactly 120 s later, replaced at once, and again...
    assert timeouts[0] == pytest.approx(found + 120.0, abs=1e-6)
    assert timeouts[1] == pytest.approx(found + 240.0, abs=1e-6)
    assert lifecycle(r, "in service") == []  # never in service: ABANDON on launch terminates it
    web = r.component("web")
    # every launch but the last (still in Pending:Wait at the end) was abandoned
    assert web["lifecycle_hooks"]["abandoned"] == len(timeouts) == web["launched"] - 1
    assert r.component("web")["instances"]["min"] == 0


def test_continue_as_default_result_lets_it_in_service_at_the_timeout() -> None:
    r = run("      - {transition: launching, action: none, heartbeat_timeout: 90s, default_result: CONTINUE}")
    found = lifecycle(r, "unhealthy")[0]
    [up] = lifecycle(r, "in service")
    assert up == pytest.approx(found + 90.0, abs=1e-6)  # booted at 60 s, held until the timeout


def test_a_completed_launch_hook_waits_for_the_boot_and_attaches_the_address() -> None:
    r = run("      - {transition: launching, action: associate_address, action_time: 5s}")
    found = lifecycle(r, "unhealthy")[0]
    [moved] = [e["t"] for e in r["timeline"] if e["kind"] == "address"]
    [up] = lifecycle(r, "in service")
    assert moved == pytest.approx(found + 5.0 + ASSOCIATE_S, abs=1e-6)
    assert up == pytest.approx(found + 60.0, abs=1e-6)  # the boot, not the hook, is the longer
    assert r.component("web")["lifecycle_hooks"] == {"completed": 1, "abandoned": 0, "timed_out": 0}


def test_a_slow_hook_holds_a_booted_instance() -> None:
    r = run("      - {transition: launching, action: complete, action_time: 100s}")
    found = lifecycle(r, "unhealthy")[0]
    [up] = lifecycle(r, "in service")
    assert up == pytest.approx(found + 100.0, abs=1e-6)


def test_a_terminating_hook_delays_the_termination_not_the_replacement() -> None:
    text = SPEC.format(hooks="      - {transition: terminating, action: none, heartbeat_timeout: 45s}",
                       duration="10m").replace("  - {at: 100s, terminate: web}", "  - {at: 100s, replace: web}")
    r = Simulation(parse_spec(text)).run()
    [wait] = lifecycle(r, "Terminating:Wait")
    [up] = lifecycle(r, "in service")
    assert wait == pytest.approx(up, abs=1e-6)  # the old one leaves once its replacement serves
    assert r.component("web")["lifecycle_hooks"] == {"completed": 0, "abandoned": 0, "timed_out": 1}
    hours = sum(i["quantity"] for i in r["cost"]["items"] if i["usage_type"].startswith("BoxUsage"))
    # old instance billed to 100 + 60 + 45 s, the new one from 100 s
    assert hours * 3600.0 == pytest.approx((100.0 + 60.0 + 45.0) + (600.0 - 100.0), abs=1.0)


def test_user_data_attach_needs_an_instance_role() -> None:
    text = SPEC.format(hooks="      []", duration="5m")
    warned = cloudtwin.spec.references.warnings(parse_spec(text))
    assert any(p == ("components", "web", "instance_role") for p, _ in warned)
    r = Simulation(parse_spec(text)).run()
    assert any("AssociateAddress refused" in e["detail"] for e in r["timeline"])
    ok = Simulation(parse_spec(text.replace("elastic_ip: true", "elastic_ip: true\n    instance_role: true"))).run()
    [up] = lifecycle(ok, "in service")
    [moved] = [e["t"] for e in ok["timeline"] if e["kind"] == "address"]
    assert moved == pytest.approx(up + ASSOCIATE_S, abs=1e-6)


def test_associate_address_hook_needs_an_elastic_ip() -> None:
    text = SPEC.format(hooks="      - {transition: launching, action: associate_address}", duration="1m")
    with pytest.raises(SpecError) as e:
        parse_spec(text.replace("    elastic_ip: true\n", ""), file="hooks.yaml")
    assert "needs `elastic_ip: true`" in str(e.value) and "hooks.yaml:" in str(e.value)
    with pytest.raises(SpecError) as e:
        parse_spec(text.replace("transition: launching", "transition: terminating"), file="hooks.yaml")
    assert "needs transition: launching" in str(e.value)
