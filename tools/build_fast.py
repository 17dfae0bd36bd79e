"""Compile the fast path's station loop (src/cloudtwin/engine/station.py) with mypyc, in place.

    python tools/build_fast.py           # build (make's dev install runs it)
    python tools/build_fast.py --clean   # remove the built module

Only that one module is compiled; the compiled ``station.*.so`` sits beside ``station.py``
(git-ignored) and Python imports it in preference to the source. Without mypyc (the dev
extras) or a C compiler this prints one line and exits 0: the pure-Python module runs,
with the same results, more slowly. Building into a temporary folder keeps ``build/`` out
of the work tree.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
MODULE = Path("cloudtwin") / "engine" / "station.py"


def built() -> list[Path]:
    """The compiled files of the station module (and mypyc's runtime library, if it made one)."""
    engine = SRC / "cloudtwin" / "engine"
    return sorted([*engine.glob("station.*.so"), *engine.glob("station.*.pyd"), *engine.glob("station__mypyc*"),
                   *SRC.glob("*__mypyc*")])


def clean() -> None:
    for p in built():
        p.unlink()


def compiler() -> str | None:
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(os.environ.get("CC", cc).split()[0]) or shutil.which("cc") or shutil.which("gcc")


def build() -> int:
    try:
        from mypyc.build import mypycify
        from setuptools import Distribution
    except ImportError:
        print("build_fast: mypyc not installed (dev extras); the fast path runs as pure Python")
        return 0
    if compiler() is None:
        print("build_fast: no C compiler found; the fast path runs as pure Python")
        return 0
    clean()
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="cloudtwin-mypyc-") as tmp:
        os.chdir(SRC)
        try:
            exts = mypycify([str(MODULE)], opt_level="3", target_dir=str(Path(tmp) / "ir"))
            dist = Distribution({"name": "cloudtwin-fast", "ext_modules": exts})
            dist.script_name = "build_fast"
            dist.script_args = ["-q", "build_ext", "--inplace", "--build-temp", str(Path(tmp) / "tmp")]
            dist.parse_command_line()
            dist.run_commands()
        except (Exception, SystemExit) as exc:  # a failed build leaves the pure-Python module in use
            print(f"build_fast: mypyc build failed ({type(exc).__name__}: {exc}); the fast path runs as pure Python")
            clean()
            return 0
        finally:
            os.chdir(cwd)
    print("build_fast: compiled " + ", ".join(str(p.relative_to(ROOT)) for p in built()))
    return 0


if __name__ == "__main__":
    sys.exit(clean() if sys.argv[1:] == ["--clean"] else build())
