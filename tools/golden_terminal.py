"""Regenerate the golden terminal summaries: ``python tools/golden_terminal.py``.

Each blueprint of :data:`BLUEPRINTS` has its summary rendered from its golden results
(``tests/golden/<name>.json``) as a plain (no colour) terminal of 80 and of 120 columns,
into ``tests/golden_terminal/<name>-<width>.txt``. ``tests/test_golden_terminal.py`` fails
on any difference, so a change of layout shows up as a diff of these files.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from rich.console import Console

from cloudtwin.render.summary import print_summary

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
OUT = ROOT / "tests" / "golden_terminal"
BLUEPRINTS = ("simple-web-app", "big-data-pipeline", "apigw-kinesis", "web-app-cache", "serverless-rest")
WIDTHS = (80, 120)


def summary(name: str, width: int) -> str:
    """Blueprint ``name``'s summary, from its golden results, at ``width`` columns."""
    results = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    buf = io.StringIO()
    print_summary(results, Console(file=buf, width=width, force_terminal=False, color_system=None))
    return buf.getvalue()


def main(argv: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in argv or BLUEPRINTS:
        for width in WIDTHS:
            path = OUT / f"{name}-{width}.txt"
            new = summary(name, width)
            old = path.read_text(encoding="utf-8") if path.exists() else None
            path.write_text(new, encoding="utf-8")
            print(f"{path.name}: {'unchanged' if old == new else 'written'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
