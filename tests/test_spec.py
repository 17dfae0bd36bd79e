"""The spec loader: units, defaults, and one clear error (path + file:line) for every kind of bad input."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import pytest

import cloudtwin
from cloudtwin import RunRefused, Simulation, SpecError, load_spec, parse_spec
from cloudtwin.errors import Issue
from cloudtwin.spec.loader import MAX_NODES
from cloudtwin.spec.units import parse_distribution, parse_duration, parse_key_distribution, parse_rate, parse_size

ROOT = Path(__file__).resolve().parents[1]
DESIGN = next((p for p in (ROOT / "DESIGN.md", ROOT / "docs" / "DESIGN.md", Path("/work/shared/DESIGN.md"))
               if p.is_file()), None)

GOOD = """\
name: shop
components:
  web:
    type: ec2
    workers: 2
    handler:
      - cpu: exp(10ms)
workloads:
  users: {entry: web, rate: 10/s}
simulate: {duration: 1m}
"""


def issues(text: str, file: str = "spec.yaml") -> list[Issue]:
    with pytest.raises(SpecError) as info:
        parse_spec(text, file=file)
    assert str(info.value) == "\n".join(str(i) for i in info.value.issues)
    for i in info.value.issues:
        assert "\n" not in i.message and "Traceback" not in i.message
    return info.value.issues


def only(text: str) -> Issue:
    """The single issue ``text`` produces."""
    found = issues(text)
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------- the small languages
@pytest.mark.parametrize(("text", "seconds"), [
    ("250ms", 0.25), ("5s", 5.0), ("10m", 600.0), ("10min", 600.0), ("1h", 3600.0), ("1d", 86400.0),
    ("750us", 0.00075), (30, 30.0), ("1.5h", 5400.0), ("1e3ms", 1.0),
])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "per_s"), [("400/s", 400.0), ("1200/m", 20.0), ("7200/h", 2.0), (5, 5.0),
                                              ("86400/d", 1.0)])
def test_rates(text: object, per_s: float) -> None:
    assert parse_rate(text) == pytest.approx(per_s)


@pytest.mark.parametrize(("text", "size"), [("4KB", 4000), ("4KiB", 4096), ("1.5MB", 1.5e6), ("2GiB", 2 * 1024**3),
                                             (512, 512), ("10b", 10)])
def test_sizes(text: object, size: float) -> None:
    assert parse_size(text) == size


def test_distributions_have_the_documented_means() -> None:
    assert parse_distribution("8ms").mean == pytest.approx(0.008)
    assert parse_distribution("exp(8ms)").mean == pytest.approx(0.008)
    assert parse_distribution("uniform(1ms, 5ms)").mean == pytest.approx(0.003)
    ln = parse_distribution("lognormal(median=20ms, p99=200ms)")
    assert ln.params == pytest.approx((0.02, 0.2))
    assert ln.mean > 0.02  # right-skewed: the mean is above the median
    z = parse_key_distribution("zipf(s=1.1, n=1000)")
    assert (z.kind, z.params) == ("zipf", (1.1, 1000.0))
    assert 1 < z.mean < 500  # skewed towards the low ranks


@pytest.mark.parametrize(("bad", "why"), [
    ("-5s", ">= 0"), ("1e999s", "finite"), ("nan", "expected a duration"), ("5 parsecs", "expected a duration"),
    (True, "expected a duration"),
])
def test_bad_durations_are_refused(bad: object, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        parse_duration(bad)


@pytest.mark.parametrize(("bad", "why"), [
    ("lognormal(median=200ms, p99=20ms)", "median < p99"), ("uniform(5ms, 1ms)", "a <= b"),
    ("exp()", "missing mean"), ("gamma(1s)", "unknown distribution"), ("zipf(s=1, n=5)", "under `key:`"),
    ("exp(mean=1s, sd=2s)", "unknown argument"),
])
def test_bad_distributions_are_refused(bad: str, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        parse_distribution(bad)


# ---------------------------------------------------------------- valid specs and defaults
def test_defaults_of_a_minimal_spec() -> None:
    arch = parse_spec("name: tiny\ncomponents:\n  web: {type: ec2}\n")
    assert arch.region == "us-east-1" and arch.zones == ["a", "b"]
    assert arch.simulate.seed == 1 and arch.simulate.max_events == 500_000_000
    assert arch.simulate.stop_duration == 3600.0  # neither duration nor requests: one hour
    assert arch.network.cross_az.params == (0.0005,)
    web = arch.components["web"]
    assert (web.instance_type, web.count, web.backlog, web.purchase) == ("m5.large", 1, 1024, "on_demand")


def test_design_v1_example_is_a_valid_spec() -> None:
    """The spec example in DESIGN.md is the contract: it must load as written."""
    if DESIGN is None:
        pytest.skip("DESIGN.md is not available here")
    text = re.search(r"## The spec \(YAML\), v1.*?```yaml\n(.*?)```", DESIGN.read_text(), re.S)
    assert text is not None
    arch = parse_spec(text.group(1))
    assert list(arch.components) == ["dns", "lb", "web", "app", "cache", "db"]
    web = arch.components["web"]
    assert (web.capacity.min, web.capacity.desired, web.capacity.max) == (2, 4, 12)
    call = web.handler[1]
    assert call.key.kind == "zipf" and call.on_miss[1].ttl == 300.0
    assert arch.workloads["shoppers"].rate == 400.0
    assert [f.action for f in arch.faults] == ["az_outage", "terminate"]
    assert arch.faults[0].at == 1200.0 and arch.faults[0].duration == 900.0


def test_specs_are_frozen() -> None:
    arch = parse_spec(GOOD)
    with pytest.raises(ValueError):
        arch.components["web"].workers = 9  # type: ignore[misc]


def test_quoted_distribution_in_a_flow_mapping_works() -> None:
    arch = parse_spec(GOOD.replace("- cpu: exp(10ms)", '- {cpu: "uniform(1ms, 3ms)"}'))
    assert arch.components["web"].handler[0].cpu.params == (0.001, 0.003)


# ---------------------------------------------------------------- bad input: one clear message each
def test_unknown_key_suggests_the_closest() -> None:
    i = only(GOOD.replace("workers: 2", "wrokers: 2"))
    assert (i.path, i.file, i.line) == ("components.web.wrokers", "spec.yaml", 5)
    assert "did you mean 'workers'?" in i.message
    assert str(i).startswith("spec.yaml:5: components.web.wrokers: unknown key")


def test_unknown_top_level_key() -> None:
    i = only(GOOD + "simluate: {seed: 2}\n")
    assert (i.path, i.line) == ("simluate", 11) and "did you mean 'simulate'?" in i.message


def test_unquoted_comma_distribution_in_flow_mapping_gets_a_hint() -> None:
    i = only(GOOD.replace("- cpu: exp(10ms)", "- {call: web, key: zipf(s=1.1, n=100)}"))
    assert i.path == "components.web.handler[0].n=100)" and i.line == 7
    assert "must be quoted" in i.message


def test_dangling_reference_names_the_candidates() -> None:
    i = only(GOOD.replace("entry: web", "entry: wbe"))
    assert (i.path, i.line) == ("workloads.users.entry", 9)
    assert "'wbe' is not a component; did you mean 'web'? (have: web)" in i.message


def test_wrong_type_shows_the_value() -> None:
    i = only(GOOD.replace("workers: 2", "workers: lots"))
    assert (i.path, i.line) == ("components.web.workers", 5)
    assert i.message == "expected an integer, got 'lots'"


def test_union_errors_collapse_to_one_message() -> None:
    spec = "name: t\ncomponents:\n  web: {type: ec2}\n  lb: {type: alb, targets: web, stickiness: {type: x}}\n"
    i = only(spec)
    assert i.path == "components.lb.stickiness.type" and "'lb_cookie'" in i.message and "got 'x'" in i.message


def test_error_inside_a_call_step_points_at_the_key() -> None:
    i = only(GOOD.replace("- cpu: exp(10ms)", "- call: web\n        key: zipf(s=1.1, n=1e9)"))
    assert (i.path, i.line) == ("components.web.handler[0].key", 8)
    assert "10,000,000" in i.message


def test_missing_required_key() -> None:
    i = only("name: t\n")
    assert (i.path, i.message) == ("components", "required key is missing")


def test_unknown_component_type_suggests() -> None:
    i = only(GOOD.replace("type: ec2", "type: ec22"))
    assert (i.path, i.line) == ("components.web.type", 4) and "did you mean 'ec2'?" in i.message


@pytest.mark.parametrize(("old", "new", "path", "needle"), [
    ("duration: 1m", "duration: -5s", "simulate.duration", ">= 0"),
    ("duration: 1m", "duration: 1e999s", "simulate.duration", "finite"),
    ("exp(10ms)", "exp(-10ms)", "components.web.handler[0].cpu", ">= 0"),
    ("workers: 2", "workers: " + "9" * 400, "components.web.workers", "(400 digits) is too large"),
    ("workers: 2", "workers: 5000", "components.web.workers", "less than or equal to 4096"),
    ("rate: 10/s", "rate: " + "9" * 310, "workloads.users.rate", "(310 digits) is too large"),
    ("duration: 1m", "duration: 1e308", "simulate.duration", "at most 1e+09 s"),
    ("duration: 1m", "duration: 1e308s", "simulate.duration", "at most 1e+09 s"),
    ("exp(10ms)", "exp(" + "9" * 310 + "ms)", "components.web.handler[0].cpu", "finite"),
    ("rate: 10/s", "rate: 1e400", "workloads.users.rate", "expected a rate"),
    ("duration: 1m", "duration: 1m, seed: 99999999999999999999999", "simulate.seed", "is too large"),
    ("duration: 1m", "duration: 1m, seed: 9223372036854775808", "simulate.seed", "is too large"),
    ("rate: 10/s", "rate: 10/s, profile: {type: diurnal, high: .inf}", "workloads.users.profile.high", "finite"),
    ("duration: 1m", "duration: 2020-01-01", "simulate.duration", "got '2020-01-01'"),
])
def test_absurd_numbers_are_refused_with_the_path(old: str, new: str, path: str, needle: str) -> None:
    i = only(GOOD.replace(old, new))
    assert i.path == path and needle in i.message


def test_yaml_syntax_error_has_a_line() -> None:
    i = only("name: t\ncomponents:\n  web: {type: ec2\n")
    assert i.line >= 3 and i.message.startswith("invalid YAML:") and i.path == ""


def test_duplicate_keys_are_refused() -> None:
    i = only(GOOD.replace("    workers: 2\n", "    workers: 2\n    workers: 3\n"))
    assert (i.path, i.line) == ("components.web.workers", 6) and "first on line 5" in i.message


def test_empty_and_comment_only_specs() -> None:
    for text in ("", "   \n", "# nothing here\n"):
        i = only(text)
        assert (i.line, i.message) == (1, "the spec is empty")


def test_top_level_must_be_a_mapping() -> None:
    assert "expected a mapping of keys, got ['a']" in only("- a\n").message


def test_merge_keys_and_multiple_documents_are_refused() -> None:
    assert "merge keys" in only("name: t\nx: &x {type: ec2}\ncomponents:\n  w:\n    <<: *x\n").message
    assert "single document" in only("name: t\n---\nname: u\n").message


def test_keys_are_taken_as_written() -> None:
    i = only(GOOD + "on: 1\n")  # YAML 1.1 would make this key the boolean True
    assert i.path == "on" and "unknown key 'on'" in i.message


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system [\"touch {marker}\"]",
    "!!python/object:os.PathLike {{}}",
    "!!python/name:os.system",
    "!!binary aGVsbG8=",
    "!!set {{a, b}}",
    "!custom x",
])
def test_object_building_tags_are_refused(tag: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    i = only(GOOD.replace("name: shop", "name: " + tag.format(marker=marker)))
    assert (i.path, i.line) == ("name", 1)
    assert "is not allowed" in i.message
    assert not marker.exists()


def test_explicit_standard_tags_are_fine_but_must_parse() -> None:
    assert parse_spec(GOOD.replace("workers: 2", "workers: !!int 2")).components["web"].workers == 2
    i = only(GOOD.replace("workers: 2", "workers: !!int abc"))
    assert (i.path, i.message) == ("components.web.workers", "cannot read 'abc' as !!int")


def test_billion_laughs_is_refused_quickly() -> None:
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for k in range(1, 10):
        prev, cur = chr(ord("a") + k - 1), chr(ord("a") + k)
        rows.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    t0 = time.perf_counter()
    i = only("name: t\n" + "\n".join(rows) + "\n")  # would be 9**10 = 3.5e9 strings
    assert time.perf_counter() - t0 < 3.0
    assert f"more than {MAX_NODES:,} values" in i.message and i.line > 1


def test_an_alias_that_contains_itself_is_refused() -> None:
    i = only("name: t\ncomponents: &c\n  web: *c\n")
    assert "contains it" in i.message and i.path == "components.web"


@pytest.mark.parametrize("text", [
    "[" * 3000 + "]" * 3000, "a:\n" + "".join(" " * (k + 1) + "b:\n" for k in range(1000)), "a: " + "[" * 80 + "]" * 80,
])
def test_deep_nesting_is_refused(text: str) -> None:
    assert "nest" in only(text).message


def test_control_characters_are_refused_with_their_line() -> None:
    i = only("name: t\ncomponents: {}\nx: \x00\n")
    assert i.line == 3 and "binary" in i.message


# ---------------------------------------------------------------- files
def test_load_spec_from_a_file_reports_its_name(tmp_path: Path) -> None:
    p = tmp_path / "web.yaml"
    p.write_text(GOOD.replace("rate: 10/s", "rate: fast"))
    with pytest.raises(SpecError) as info:
        load_spec(p)
    assert str(info.value).startswith(f"{p}:9: workloads.users.rate: expected a rate like 400/s")


@pytest.mark.parametrize(("content", "needle", "line"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8", 1),
    (b"name: t\n\xff\xfe\n", "not UTF-8", 2),
])
def test_binary_files_are_refused(tmp_path: Path, content: bytes, needle: str, line: int) -> None:
    p = tmp_path / "bin.yaml"
    p.write_bytes(content)
    with pytest.raises(SpecError) as info:
        load_spec(p)
    (i,) = info.value.issues
    assert needle in i.message and i.line == line and i.file == str(p)


def test_directory_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="is a directory"):
        load_spec(tmp_path)
    with pytest.raises(SpecError, match="no such file, and no blueprint"):
        load_spec(tmp_path / "nope.yaml")


def test_yaml_text_or_an_overlong_name_given_as_a_path_is_a_clear_error() -> None:
    """cloudtwin.run/load_spec take a path or a blueprint name; YAML text or a name the file
    system cannot hold gets a SpecError, not an OSError traceback."""
    with pytest.raises(SpecError, match="use cloudtwin.parse_spec"):
        load_spec("name: x\ncomponents: {}\n")
    with pytest.raises(SpecError, match="cannot read the spec"):
        load_spec("x" * 5000)


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    p = tmp_path / "big.yaml"
    p.write_bytes(b"# " + b"x" * 6_000_000 + b"\n")
    with pytest.raises(SpecError, match="the limit is 1,048,576"):
        load_spec(p)


# ---------------------------------------------------------------- the run-size guard
def _refusal(text: str, **kw: object) -> str:
    sim = Simulation(parse_spec(text), **kw)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    with pytest.raises(RunRefused) as info:
        sim.run()
    assert time.perf_counter() - t0 < 1.0  # refused up front, not after running
    return str(info.value)


def test_a_hundred_million_requests_per_second_is_refused() -> None:
    msg = _refusal(GOOD.replace("rate: 10/s", "rate: 1e8/s"))
    assert "--max-events" in msg
    events = float(re.search(r"about ([0-9.e+]+) events", msg).group(1))  # type: ignore[union-attr]
    assert events >= 6e9  # at least one event per request: 1e8/s for 60 s


def test_ten_years_is_refused_even_without_traffic() -> None:
    for rate in ("10/s", "0/s"):
        msg = _refusal(GOOD.replace("duration: 1m", "duration: 3650d").replace("rate: 10/s", f"rate: {rate}"))
        assert "--duration" in msg and "--max-events" in msg


def test_requests_that_never_come_are_refused() -> None:
    msg = _refusal(GOOD.replace("rate: 10/s", "rate: 0/s"), requests=1000)
    assert "never stop" in msg


def test_the_limit_is_a_knob() -> None:
    msg = _refusal(GOOD, max_events=100)
    assert "the limit is 100" in msg
    r = Simulation(parse_spec(GOOD.replace("duration: 1m", "duration: 1m, max_events: 100000"))).run()
    assert r.workload("users")["requests"] == pytest.approx(600, rel=0.2)


def test_public_api_is_exported() -> None:
    assert cloudtwin.parse_spec is parse_spec and math.isfinite(parse_spec(GOOD).simulate.stop_duration or 0)
