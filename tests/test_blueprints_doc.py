"""docs/blueprints.md is what tools/blueprints_doc.py makes from the golden results, so the
measured figures it shows are the ones tests/test_golden.py checks against a run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_blueprints_doc_is_up_to_date() -> None:
    p = subprocess.run([sys.executable, str(ROOT / "tools" / "blueprints_doc.py"), "--check"], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
