"""Every example in README.md and docs/ runs as written.

Each fenced block is collected by language: ``yaml`` blocks are specs (parsed, then run
for a minute of simulated time), ``python`` blocks are executed, ``sh`` blocks are
commands (each ``cloudtwin ...`` line is invoked; ``make`` lines are what CI itself runs;
``.venv/bin/python benchmarks/X.py ARGS`` lines must name a benchmark whose parser takes
ARGS). Blocks without a language are output or fragments, not run. The README's tiny spec is written
as ``my-app.yaml`` in the folder the examples run in, as a reader following along would.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cloudtwin
from cloudtwin.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
# commands that take minutes; they still run in `make test` (marked slow)
SLOW = ("compare", "big-data-pipeline")


def blocks(lang: str) -> list[tuple[str, str]]:
    """(``file:line``, text) of every ``lang`` block."""
    out = []
    for doc in DOCS:
        if doc.name == "rules.md":  # its examples are the rules' own tests (test_review_rules.py)
            continue
        text = doc.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            if m.group(1) == lang:
                out.append((f"{doc.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}", m.group(2)))
    return out


def readme_spec() -> str:
    return next(t for where, t in blocks("yaml") if where.startswith("README.md") and "name: my-app" in t)


@pytest.fixture
def follow_along(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "my-app.yaml").write_text(readme_spec(), encoding="utf-8")
    # the tour's CloudFormation template: one of the import tests' classic templates
    (tmp_path / "stack.yaml").write_text((ROOT / "tests" / "data" / "cfn" / "three-tier.yaml").read_text("utf-8"),
                                         encoding="utf-8")
    # the tour's Terraform plan (`terraform show -json`): the Terraform import tests' plan
    (tmp_path / "plan.json").write_text((ROOT / "tests" / "data" / "terraform" / "webapp-plan.json")
                                        .read_text("utf-8"), encoding="utf-8")
    # a results JSON for the examples that read one (made by `cloudtwin run ... --json out.json`)
    (tmp_path / "out.json").write_text((ROOT / "tests" / "golden" / "simple-web-app.json").read_text("utf-8"),
                                       encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_language_is_known() -> None:
    for doc in DOCS:
        for m in FENCE.finditer(doc.read_text(encoding="utf-8")):
            assert m.group(1) in ("", "yaml", "python", "sh", "json"), f"{doc.name}: ```{m.group(1)}"


@pytest.mark.parametrize(("where", "text"), blocks("yaml"), ids=[w for w, _ in blocks("yaml")])
def test_yaml_example_is_a_valid_spec_that_runs(where: str, text: str) -> None:
    arch = cloudtwin.parse_spec(text, file=where)
    res = cloudtwin.Simulation(arch, duration=60).run()
    assert sum(w["requests"] for w in res["workloads"].values()) > 0, where


@pytest.mark.parametrize(("where", "text"), blocks("python"), ids=[w for w, _ in blocks("python")])
def test_python_example_runs(where: str, text: str, follow_along: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(text, where, "exec"), {"__name__": "__example__"})  # our own docs, not a spec
    assert capsys.readouterr().out, f"{where} printed nothing"


def commands() -> list[tuple[str, list[str]]]:
    out = []
    for where, text in blocks("sh"):
        for line in text.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                out.append((where, words))
    return out


def _id(c: tuple[str, list[str]]) -> str:
    return " ".join(c[1])


def _marks(words: list[str]) -> list[pytest.MarkDecorator]:
    return [pytest.mark.slow] if any(w in SLOW for w in words) else []


@pytest.mark.parametrize(
    ("where", "words"),
    [pytest.param(w, c, marks=_marks(c), id=_id((w, c))) for w, c in commands()],
)
def test_command_example_runs(where: str, words: list[str], follow_along: Path) -> None:
    prog, args = words[0], words[1:]
    if prog == "make":
        assert args[0] in ("demo", "test", "bench", "lint", "test-quick", "golden", "fast", "test-compiled") \
            or args[0].startswith("PY=")
        assert re.search(rf"^{re.escape(args[0])}:", (ROOT / "Makefile").read_text(), re.M), words
        return
    if prog.endswith("python"):
        script = ROOT / args[0]
        spec = importlib.util.spec_from_file_location(script.stem, script)
        assert spec and spec.loader, where
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mod.parse_args(args[1:])  # argparse exits on an unknown option
        return
    assert prog == "cloudtwin", f"{where}: unknown command {prog}"
    r = CliRunner().invoke(app, args)
    ok = (0, 1) if "--fail-on" in args else (0,)  # a CI gate exits 1 when it finds something
    assert r.exit_code in ok, f"{where}: {' '.join(words)} -> {r.exit_code}\n{r.output[-2000:]}"
