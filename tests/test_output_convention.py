"""One output convention (issue 12 item 6) and parallel runs with progress (item 3).

Every command takes ``--format``/``-f`` and ``--output``/``-o``; each format of each command
is parsed here; the old spellings still work; runs done in parallel processes give the same
results as one after the other, and print nothing on stderr when it is not a terminal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FAST = ("--duration", "5m")


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([sys.executable, "-m", "cloudtwin", *args], capture_output=True, text=True, timeout=300,
                       env={**os.environ, **(env or {})})
    assert "Traceback" not in p.stderr, p.stderr
    return p


COMMANDS = [
    ("run", "simple-web-app", *FAST),
    ("cost", "simple-web-app"),
    ("compare", "simple-web-app", "simple-web-app-single-az", *FAST),
    ("review", "simple-web-app"),
    ("blueprints",),
    ("diagram", "simple-web-app"),
    ("export-fis", "simple-web-app"),
]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: c[0])
def test_every_command_speaks_json_and_text_to_stdout_or_a_file(cmd: tuple[str, ...], tmp_path: Path) -> None:
    p = cli(*cmd, "--format", "json")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data
    out = tmp_path / "o.json"
    p = cli(*cmd, "-f", "json", "-o", str(out))
    assert p.returncode == 0 and p.stdout == ""
    assert json.loads(out.read_text()) == data or cmd[0] in ("run", "compare")  # wall_s differs between runs
    text = tmp_path / "o.txt"
    p = cli(*cmd, "-o", str(text))
    assert p.returncode == 0 and text.read_text().strip()
    assert cli(*cmd).stdout.strip()


def test_review_sarif_and_old_spellings(tmp_path: Path) -> None:
    sarif = json.loads(cli("review", "simple-web-app", "-f", "sarif").stdout)
    assert sarif["version"] == "2.1.0"
    assert json.loads(cli("blueprints", "--json").stdout)[0]["name"]
    assert json.loads(cli("compare", "simple-web-app", "simple-web-app", *FAST, "--json").stdout)["seed"] == 1
    out = tmp_path / "r.json"
    p = cli("run", "simple-web-app", *FAST, "-q", "--json", str(out))
    assert p.returncode == 0 and json.loads(out.read_text())["spec"] == "simple-web-app"


def _strip(x: object) -> object:
    if isinstance(x, dict):
        return {k: _strip(v) for k, v in x.items() if k != "wall_s"}
    if isinstance(x, list):
        return [_strip(v) for v in x]
    return x


def test_parallel_runs_equal_sequential_runs_and_are_silent_off_a_terminal() -> None:
    args = ("compare", "simple-web-app", "simple-web-app-single-az", *FAST, "-f", "json")
    par = cli(*args, env={"CLOUDTWIN_JOBS": "2"})
    seq = cli(*args, env={"CLOUDTWIN_JOBS": "1"})
    assert par.returncode == seq.returncode == 0
    assert _strip(json.loads(par.stdout)) == _strip(json.loads(seq.stdout))
    assert par.stderr == "" and seq.stderr == ""


def test_run_many_reports_refusals_per_job() -> None:
    import cloudtwin
    from cloudtwin.runs import Job, run_many

    arch = cloudtwin.load_spec("simple-web-app")
    out = run_many([Job(arch, {"duration": 60.0}), Job(arch, {"duration": 60.0, "max_events": 10})])
    assert out[0][0] == "ok" and out[0][1]["spec"] == "simple-web-app"
    assert out[1][0] == "refused" and "--max-events" in out[1][1]
