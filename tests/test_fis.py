"""Faults written as AWS FIS actions do what the FIS actions reference says, with numbers."""

from __future__ import annotations

import json

import pytest

import cloudtwin
from cloudtwin.errors import SpecError
from cloudtwin.spec.fis import iso_duration, parse_iso_duration, selected

FLEET = """
name: f
zones: [a, b]
components:
  lb: {type: alb, targets: web}
  web: {type: asg, zones: [a, b], capacity: {min: 4, max: 8}, handler: [{cpu: exp(10ms)}]}
workloads:
  u: {entry: lb, rate: 40/s, arrivals: constant}
faults:
  FAULTS
simulate: {duration: DURATION}
"""


def run(spec: str, faults: str, duration: str = "20m") -> dict:
    text = spec.replace("FAULTS", faults.strip().replace("\n", "\n  ")).replace("DURATION", duration)
    return cloudtwin.Simulation(cloudtwin.parse_spec(text)).run().data


def faults_at(data: dict) -> list[tuple[float, str]]:
    return [(e["t"], e["detail"]) for e in data["timeline"] if e["kind"] == "fault"]


def test_iso_8601_durations_read_and_write() -> None:
    assert parse_iso_duration("PT5M") == 300
    assert parse_iso_duration("PT1H30M") == 5400
    assert parse_iso_duration("PT90S") == 90
    assert parse_iso_duration("P1D") == 86_400
    assert parse_iso_duration("PT0.5S") == 0.5
    for bad in ("5m", "PT", "P", "PT5", "T5M", 300):
        with pytest.raises(ValueError, match="ISO 8601"):
            parse_iso_duration(bad)
    for s in (60, 300, 5400, 90, 43_200, 30):
        assert parse_iso_duration(iso_duration(s)) == s
    assert iso_duration(600) == "PT10M" and iso_duration(5400) == "PT1H30M"


def test_selection_modes_pick_as_fis_documents() -> None:
    assert selected("ALL", 4) == 4
    assert selected("COUNT(3)", 4) == 3 and selected("COUNT(9)", 4) == 4
    assert selected("PERCENT(50)", 4) == 2
    assert selected("PERCENT(10)", 4) == 1  # at least one of a non-empty population (assumption)
    assert selected("PERCENT(50)", 0) == 0


def test_the_power_interruption_scenario_is_the_zone_outage() -> None:
    """The scenario takes zone a down for its duration (default PT30M), as az_outage does: the
    same requests fail, at the same times."""
    legacy = run(FLEET, "- {at: 5m, az_outage: a, duration: 8m}")
    fis = run(FLEET, '- {fis: "AZ Availability: Power Interruption", zone: a, at: 5m, parameters: {duration: PT8M}}')
    assert fis["workloads"]["u"] == legacy["workloads"]["u"]
    assert fis["workloads"]["u"]["failed"] > 0
    assert faults_at(fis)[0][0] == 300.0
    slug = run(FLEET, "- {fis: az-availability-power-interruption, zone: a, at: 5m}", "40m")
    assert slug["timeline"][0]["duration_s"] == 1800.0  # the scenario's default: 30 minutes
    cut = run(FLEET, "- {fis: aws:network:disrupt-connectivity, zone: a, at: 5m, "
                     "parameters: {scope: all, duration: PT8M}}")
    assert cut["workloads"]["u"] == legacy["workloads"]["u"]


@pytest.mark.parametrize(("selection", "zone", "killed"), [
    ("COUNT(2)", None, 2), ("PERCENT(75)", None, 3), ("ALL", "a", 2), (None, None, 4)])
def test_terminate_instances_takes_the_selection(selection: str | None, zone: str | None, killed: int) -> None:
    extra = (f", selection: {selection}" if selection else "") + (f", zone: {zone}" if zone else "")
    data = run(FLEET, f"- {{fis: aws:ec2:terminate-instances, targets: {{Instances: web}}, at: 2m{extra}}}")
    detail = faults_at(data)[0][1]
    gone = detail.split("terminated ", 1)[1].split(", ")
    assert len(gone) == killed, detail
    if zone == "a":
        assert sorted(gone) == ["web-1", "web-3"]  # the group's zone-a instances (round robin a, b, a, b)
    assert data["components"]["web"]["terminated"] >= killed  # the group found and replaced them


EC2 = """
name: one
components:
  app: {type: ec2, count: 1, boot_time: 60s, handler: [{cpu: 1ms}]}
workloads:
  u: {entry: app, rate: 10/s, arrivals: constant}
faults:
  FAULTS
simulate: {duration: DURATION}
"""


def test_stop_instances_restarts_after_the_duration_plus_a_boot() -> None:
    """Stopped at 2m, started again after PT5M, then a 60 s boot: 360 s without the instance."""
    data = run(EC2, "- {fis: aws:ec2:stop-instances, targets: {Instances: app}, at: 2m, "
                    "parameters: {startInstancesAfterDuration: PT5M}}", "12m")
    w = data["workloads"]["u"]
    assert w["failed"] == pytest.approx(10 * 360, abs=10)
    assert w["requests"] == w["succeeded"] + w["failed"] + w["in_flight"]
    stays = run(EC2, "- {fis: aws:ec2:stop-instances, targets: {Instances: app}, at: 2m}", "12m")
    assert stays["workloads"]["u"]["failed"] == pytest.approx(10 * 600, abs=10)  # never started again


def test_spot_interruption_lands_at_duration_before_interruption() -> None:
    """durationBeforeInterruption PT5M from minute 1: the notice at 4m (2 minutes before), the
    instance gone at 6m."""
    spec = EC2.replace("count: 1,", "count: 2, purchase: spot,")
    data = run(spec, "- {fis: aws:ec2:send-spot-instance-interruptions, targets: {SpotInstances: app}, "
                     "selection: COUNT(1), at: 1m, parameters: {durationBeforeInterruption: PT5M}}", "10m")
    times = [t for t, _ in faults_at(data)]
    assert times == [60.0, 240.0]
    series = data["series"]["workloads"]["u"]
    assert sum(series["errors"][:6]) == 0 < sum(series["errors"][6:])  # terminated at 6m: half fail


DB = """
name: db
zones: [a, b]
components:
  app: {type: ec2, count: 1, handler: [{call: db.query}]}
  db: {type: rds, multi_az: true}
workloads:
  u: {entry: app, rate: 20/s, arrivals: constant}
faults:
  FAULTS
simulate: {duration: 10m}
"""


def test_rds_reboot_with_and_without_failover() -> None:
    reboot = run(DB, "- {fis: aws:rds:reboot-db-instances, targets: {DBInstances: db}, at: 2m}")
    fo = run(DB, "- {fis: aws:rds:reboot-db-instances, targets: {DBInstances: db}, at: 2m, "
                 "parameters: {forceFailover: true}}")
    words = [e["detail"] for e in reboot["timeline"] if e["kind"] == "failover"]
    assert "rebooting the primary in a (no failover)" in words[0]
    assert "failing over to the standby in b" in [e["detail"] for e in fo["timeline"] if e["kind"] == "failover"][0]
    assert reboot["workloads"]["u"]["failed"] > 0 and fo["workloads"]["u"]["failed"] > 0


LAMBDA = """
name: fn
components:
  fn: {type: lambda, handler: [{cpu: 20ms}]}
workloads:
  u: {entry: fn, rate: 20/s}
faults:
  FAULTS
simulate: {duration: 6m, seed: 3}
"""


def test_lambda_delay_reaches_its_invocation_percentage() -> None:
    """startupDelayMilliseconds 500 on 40% of invocations for minutes 2-4: the mean latency of
    those minutes rises by 0.4 x 500 ms = 200 ms."""
    base = run(LAMBDA, "[]")
    data = run(LAMBDA, "- {fis: aws:lambda:invocation-add-delay, targets: {Functions: fn}, at: 2m, "
                       "parameters: {duration: PT2M, startupDelayMilliseconds: 500, invocationPercentage: 40}}")
    p50, p99 = data["series"]["workloads"]["u"]["p50_ms"], data["series"]["workloads"]["u"]["p99_ms"]
    assert p99[2] > 500 > p99[1] and p99[4] < 500  # the delay is there in minutes 2-3 only
    assert p50[2] < 500  # most invocations (60%) are not delayed
    added = data["workloads"]["u"]["latency_ms"]["mean"] - base["workloads"]["u"]["latency_ms"]["mean"]
    assert added == pytest.approx(0.4 * 500 * 2 / 6, rel=0.1)  # 2 of the 6 minutes


@pytest.mark.parametrize(("action", "kind"), [
    ("aws:lambda:invocation-error", "server_error"),
    ("aws:fis:inject-api-throttle-error", "throttled"),
    ("aws:fis:inject-api-unavailable-error", "unavailable"),
])
def test_injected_errors_have_the_action_s_kind_and_share(action: str, kind: str) -> None:
    key = "invocationPercentage" if "lambda" in action else "percentage"
    role = "Functions" if "lambda" in action else "Roles"
    extra = ", preventExecution: true" if "lambda" in action else ""
    data = run(LAMBDA, f"- {{fis: {action}, targets: {{{role}: fn}}, at: 1m, "
                       f"parameters: {{duration: PT4M, {key}: 25{extra}}}}}")
    w = data["workloads"]["u"]
    assert w["errors"][kind] == w["failed"]
    assert w["failed"] / w["requests"] == pytest.approx(0.25 * 4 / 6, rel=0.08)


def test_elasticache_power_interruption_promotes_a_replica_for_one_group() -> None:
    data = run("""
name: c
zones: [a, b]
components:
  app: {type: ec2, count: 1, zones: [b], handler: [{call: cache.get, key: "uniform(1, 100)"}]}
  cache: {type: elasticache, engine: redis, replicas: 1}
workloads:
  u: {entry: app, rate: 10/s}
faults:
  FAULTS
simulate: {duration: DURATION}
""", "- {fis: aws:elasticache:replicationgroup-interrupt-az-power, targets: {ReplicationGroups: cache}, "
     "zone: a, at: 1m, parameters: {duration: PT2M}}", "5m")
    notes = " ".join(e["detail"] for e in data["timeline"])
    assert "primary in a lost" in notes and "promoting the replica in b" in notes
    assert "cache: power back in zone a" in notes
    assert all(e["detail"] != "zone a back" for e in data["timeline"])  # the zone itself never went down


def test_asg_capacity_error_sends_launches_to_the_other_zone() -> None:
    """Launches in zone a fail for PT20M; the two instances terminated in zone a come back in b."""
    data = run(FLEET, """
- {fis: aws:ec2:asg-insufficient-instance-capacity-error, targets: {AutoScalingGroups: web}, name: ice,
   parameters: {duration: PT20M, availabilityZoneIdentifiers: us-east-1a}}
- {fis: aws:ec2:terminate-instances, targets: {Instances: web}, zone: a, at: 1m}
""", "10m")
    launches = [e["detail"] for e in data["timeline"] if e["detail"].startswith("launching")]
    assert launches and all("(a)" not in d for d in launches) and "(b)" in launches[0]


def test_start_after_starts_when_the_last_named_action_completes() -> None:
    data = run(FLEET, """
- {fis: aws:fis:wait, name: settle, at: 1m, parameters: {duration: PT3M}}
- {fis: aws:network:disrupt-connectivity, zone: a, name: cut, start_after: [settle],
   parameters: {scope: all, duration: PT2M}}
- {fis: aws:ec2:terminate-instances, targets: {Instances: web}, selection: COUNT(1), startAfter: [cut, settle]}
""")
    assert [t for t, _ in faults_at(data)] == [60.0, 240.0, 360.0]


@pytest.mark.parametrize(("fault", "where", "words"), [
    ("{fis: aws:ec2:terminate-instance, targets: {Instances: web}}", "faults[0].fis",
     "did you mean 'aws:ec2:terminate-instances'"),
    ("{fis: aws:eks:pod-delete}", "faults[0].fis", "unknown or unmodelled FIS action"),
    ("{fis: aws:ec2:stop-instances, targets: {Instance: web}}", "faults[0].targets.Instance", "targets 'Instances'"),
    ("{fis: aws:lambda:invocation-error, targets: {Functions: web}, parameters: {duration: PT1M, "
     "preventExecution: true}}", "faults[0].targets.Functions", "acts on lambda"),
    ("{fis: aws:network:disrupt-connectivity, zone: a, parameters: {duration: 5m, scope: all}}",
     "faults[0].parameters.duration", "ISO 8601"),
    ("{fis: aws:network:disrupt-connectivity, zone: a, parameters: {duration: PT5M, scope: s3}}",
     "faults[0].parameters.scope", "not modelled"),
    ("{fis: aws:network:disrupt-connectivity, parameters: {duration: PT5M, scope: all}}", "faults[0].zone",
     "give `zone:`"),
    ("{fis: aws:ec2:stop-instances, targets: {Instances: web}, parameters: {startInstancesAfterDuration: PT30S}}",
     "faults[0].parameters.startInstancesAfterDuration", "between PT1M and PT12H"),
    ("{fis: aws:fis:wait}", "faults[0].parameters", "needs the parameter 'duration'"),
    ("{fis: aws:fis:wait, parameters: {duraton: PT1M}}", "faults[0].parameters.duraton", "did you mean 'duration'"),
    ("{fis: aws:ec2:terminate-instances, targets: {Instances: web}, selection: SOME}", "faults[0].selection",
     "ALL, COUNT(n) or PERCENT(n)"),
    ("{fis: aws:ec2:terminate-instances, targets: {Instances: web}, start_after: [x]}", "faults[0].start_after[0]",
     "no fault is named 'x'"),
    ("{fis: aws:ec2:terminate-instances, targets: {Instances: web}, duration: 5m}", "faults[0]", "not an FIS key"),
    ("{at: 1m, terminate: web, parameters: {a: b}}", "faults[0]", "belongs to the FIS form"),
    ("{terminate: web}", "faults[0]", "terminate needs `at:`"),
])
def test_bad_fis_faults_are_located_spec_errors(fault: str, where: str, words: str) -> None:
    with pytest.raises(SpecError) as e:
        cloudtwin.parse_spec(FLEET.replace("FAULTS", "- " + fault).replace("DURATION", "5m"))
    assert f"{where}: " in str(e.value) and words in str(e.value), str(e.value)
    assert "<spec>:10: " in str(e.value)  # the fault's line


def test_a_circle_of_start_after_is_refused() -> None:
    with pytest.raises(SpecError, match="round in a circle"):
        cloudtwin.parse_spec(FLEET.replace("FAULTS", """
  - {fis: aws:fis:wait, name: x, start_after: [y], parameters: {duration: PT1M}}
  - {fis: aws:fis:wait, name: y, start_after: [x], parameters: {duration: PT1M}}""").replace("DURATION", "5m"))


def test_fis_faults_are_deterministic_and_round_trip() -> None:
    faults = ('- {fis: aws:ec2:terminate-instances, targets: {Instances: web}, selection: "PERCENT(50)", at: 1m}\n'
              "- {fis: aws:fis:inject-api-unavailable-error, targets: {Roles: web}, at: 2m, "
              "parameters: {duration: PT1M, percentage: 30}}")
    a, b = run(FLEET, faults, "5m"), run(FLEET, faults, "5m")
    a.pop("wall_s"), b.pop("wall_s")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    arch = cloudtwin.parse_spec(FLEET.replace("FAULTS", faults.replace("\n", "\n  ")).replace("DURATION", "5m"))
    assert cloudtwin.from_dict(arch.to_dict()) == arch
