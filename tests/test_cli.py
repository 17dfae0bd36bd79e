"""The command line: exit codes 0/2, `file:line: path: message` errors, never a traceback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudtwin.cli import app

GOOD = """\
name: shop
components:
  web:
    type: ec2
    workers: 2
    handler:
      - cpu: exp(10ms)
workloads:
  users: {entry: web, rate: 20/s}
simulate: {duration: 2m, seed: 3}
"""
LINE = re.compile(r"^\S+:\d+: \S+: .+$")  # file:line: path: message
runner = CliRunner()


def spec(tmp_path: Path, text: str, name: str = "spec.yaml") -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def cli(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stdout, r.stderr


def test_validate_ok(tmp_path: Path) -> None:
    code, out, err = cli("validate", spec(tmp_path, GOOD))
    assert (code, out.strip(), err) == (0, "ok: shop (1 components, 1 workloads)", "")


@pytest.mark.parametrize(("old", "new", "line", "path", "needle"), [
    ("workers: 2", "wrokers: 2", 5, "components.web.wrokers", "did you mean 'workers'?"),
    ("entry: web", "entry: wbe", 9, "workloads.users.entry", "is not a component"),
    ("workers: 2", "workers: [2]", 5, "components.web.workers", "expected an integer"),
    ("seed: 3", "seed: -3", 10, "simulate.seed", "greater than or equal to 0"),
    ("duration: 2m", "duration: -1h", 10, "simulate.duration", ">= 0"),
    ("    workers: 2\n", "    workers: 2\n    workers: 4\n", 6, "components.web.workers", "duplicate key"),
    ("name: shop", "name: !!python/object/apply:os.system [\"echo pwned\"]", 1, "name", "is not allowed"),
])
def test_validate_reports_file_line_path_message(tmp_path: Path, old: str, new: str, line: int, path: str,
                                                 needle: str) -> None:
    f = spec(tmp_path, GOOD.replace(old, new))
    code, out, err = cli("validate", f)
    assert code == 2 and out == "" and "pwned" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and LINE.match(lines[0]), lines
    assert lines[0].startswith(f"{f}:{line}: {path}: ") and needle in lines[0]


def test_several_problems_give_one_line_each(tmp_path: Path) -> None:
    f = spec(tmp_path, GOOD.replace("workers: 2", "workers: 0").replace("rate: 20/s", "rate: many"))
    code, _, err = cli("validate", f)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 2 and all(LINE.match(x) for x in lines)
    assert [x.split(": ")[1] for x in lines] == ["components.web.workers", "workloads.users.rate"]


def test_bad_files(tmp_path: Path) -> None:
    empty = spec(tmp_path, "", "empty.yaml")
    binary = tmp_path / "img.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    syntax = spec(tmp_path, "name: t\ncomponents: [\n", "syntax.yaml")
    for target, needle in ((empty, "the spec is empty"), (str(binary), "not UTF-8"),
                           (syntax, "invalid YAML"), (str(tmp_path), "is a directory"),
                           ("no-such-blueprint", "no blueprint of that name")):
        code, out, err = cli("validate", target)
        assert code == 2 and out == "" and needle in err and len(err.strip().splitlines()) == 1, (target, err)


def test_run_writes_json_and_report(tmp_path: Path) -> None:
    f = spec(tmp_path, GOOD)
    out_json, out_html = tmp_path / "out" / "r.json", tmp_path / "out" / "r.html"
    code, out, err = cli("run", f, "--json", str(out_json), "--report", str(out_html))
    assert code == 0, err
    data = json.loads(out_json.read_text())
    w = data["workloads"]["users"]
    assert (data["spec"], data["seed"], data["simulated_s"]) == ("shop", 3, 120.0)
    assert w["requests"] == pytest.approx(20 * 120, rel=0.15)  # Poisson at 20/s for 2 min
    assert w["availability"] == 1.0
    assert out_html.read_text().lstrip().lower().startswith("<!doctype html")
    assert f"JSON: {out_json}" in out


def test_run_options_override_the_spec(tmp_path: Path) -> None:
    f = spec(tmp_path, GOOD)
    out_json = tmp_path / "r.json"
    code, _, err = cli("run", f, "--duration", "30s", "--seed", "9", "--json", str(out_json), "-q")
    assert code == 0, err
    data = json.loads(out_json.read_text())
    assert (data["simulated_s"], data["seed"]) == (30.0, 9)


@pytest.mark.parametrize(("args", "needle"), [
    (("--duration", "3650d"), "--max-events"),
    (("--duration", "36500d"), "at most 1e+09 s"),
    (("--duration", "-5s"), ">= 0"),
    (("--duration", "forever"), "expected a duration"),
    (("--max-events", "10"), "the limit is 10"),
])
def test_run_refuses_absurd_sizes(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    code, out, err = cli("run", spec(tmp_path, GOOD), *args)
    assert code == 2 and out == "" and needle in err


def test_run_refuses_a_hundred_million_per_second(tmp_path: Path) -> None:
    code, _, err = cli("run", spec(tmp_path, GOOD.replace("rate: 20/s", "rate: 1e8/s")))
    assert code == 2 and ": workloads.users.rate: refused: " in err and "--max-events" in err


def test_blueprints_json_lists_name_section_claim() -> None:
    code, out, _ = cli("blueprints", "--json")
    rows = json.loads(out)
    assert code == 0 and rows == sorted(rows, key=lambda r: r["name"])
    assert all(set(r) == {"name", "section", "claim"} and r["claim"] for r in rows)
    assert "simple-web-app" in {r["name"] for r in rows}


def test_a_bare_blueprint_name_validates() -> None:
    code, out, _ = cli("validate", "simple-web-app")
    assert code == 0 and out.startswith("ok: simple-web-app")


# ---------------------------------------------------------------- the real process
def _proc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cloudtwin.cli", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_process_exit_codes_and_no_traceback(tmp_path: Path) -> None:
    bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    bomb += [f"{chr(98 + k)}: &{chr(98 + k)} [" + ",".join([f"*{chr(97 + k)}"] * 9) + "]" for k in range(9)]
    cases = {
        "bomb.yaml": "name: t\n" + "\n".join(bomb) + "\n",
        "tag.yaml": GOOD.replace("name: shop", f"name: !!python/object/apply:os.system [\"touch {tmp_path}/x\"]"),
        "deep.yaml": "[" * 5000 + "]" * 5000,
    }
    for name, text in cases.items():
        p = _proc("validate", spec(tmp_path, text, name))
        assert p.returncode == 2, (name, p.stderr)
        assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, (name, p.stderr)
        assert LINE.match(p.stderr.strip()), p.stderr
    assert not (tmp_path / "x").exists()
    ok = _proc("validate", spec(tmp_path, GOOD))
    assert ok.returncode == 0 and ok.stderr == ""
    refused = _proc("run", spec(tmp_path, GOOD), "--duration", "3650d")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr and "--max-events" in refused.stderr


def test_validate_refuses_an_absurd_run_with_file_line_of_the_culprit(tmp_path: Path) -> None:
    """A spec that is well-formed but would never finish fails validate too (exit 2),
    pointing at the value responsible: here the workload's rate."""
    f = tmp_path / "huge.yaml"
    f.write_text("name: huge\ncomponents:\n  app: {type: ec2, handler: [{cpu: 1ms}]}\n"
                 "workloads:\n  users: {entry: app, rate: 1e8/s}\n")
    for cmd in (["validate", str(f)], ["run", str(f), "-q"]):
        out = CliRunner().invoke(app, cmd)
        assert out.exit_code == 2
        assert f"{f}:5: workloads.users.rate: refused:" in out.stderr
        assert "--max-events" in out.stderr and "Traceback" not in out.stderr


def test_a_binary_price_file_is_bad_input_not_a_traceback(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\ncomponents:\n  app: {type: ec2, handler: [{cpu: 1ms}]}\n"
                    "workloads:\n  users: {entry: app, rate: 1/s}\nsimulate: {duration: 1m}\n")
    prices = tmp_path / "p.csv"
    prices.write_bytes(b"region,service\n\xf0\x9f\x00\xff\xfe garbage\n")
    out = CliRunner().invoke(app, ["run", str(spec), "-q", "--prices", str(prices)])
    assert out.exit_code == 2
    assert "UTF-8" in out.stderr and "Traceback" not in out.stderr
