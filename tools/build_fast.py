"""Compile cloudtwin's hot modules with mypyc: the fast path's station loop, and (opt-in) the layer.

    python tools/build_fast.py             # the station loop (make's dev install runs it)
    python tools/build_fast.py --layer     # the compiled service layer too (make fast; ~6 min, once
                                           # per change of its sources)
    python tools/build_fast.py --clean     # remove both

The station loop (src/cloudtwin/engine/station.py) is compiled in place: ``station.*.so`` sits
beside ``station.py`` (git-ignored) and Python imports it in preference to the source.

The layer is the engine, the request path and the service modules listed in
``benchmarks/compiled/modules.txt``, compiled together as one group from a copy of the source
into ``src/cloudtwin/_compiled/`` (git-ignored), with a stamp of every source it compiled.
:mod:`cloudtwin.compiled` uses it only while every stamped source is unchanged, so an edit
never runs stale compiled code: the edited tree runs as pure Python until the next build.

Without mypyc (the dev extras) or a C compiler this prints one line and exits 0: the
pure-Python modules run, with the same results, more slowly. Building in a temporary folder
keeps ``build/`` out of the work tree; the layer replaces the old one in one rename.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PKG = SRC / "cloudtwin"
MODULE = Path("cloudtwin") / "engine" / "station.py"
MODULES = ROOT / "benchmarks" / "compiled" / "modules.txt"
LAYER = PKG / "_compiled"
GROUP = "cloudtwin.layer"  # the group's shared library: cloudtwin.layer__mypyc, found in the layer's folder


def built() -> list[Path]:
    """The compiled files of the station module (and mypyc's runtime library, if it made one)."""
    engine = PKG / "engine"
    return sorted([*engine.glob("station.*.so"), *engine.glob("station.*.pyd"), *engine.glob("station__mypyc*"),
                   *SRC.glob("*__mypyc*")])


def clean() -> None:
    for p in built():
        p.unlink()
    shutil.rmtree(LAYER, ignore_errors=True)


def compiler() -> str | None:
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(os.environ.get("CC", cc).split()[0]) or shutil.which("cc") or shutil.which("gcc")


def layer_modules() -> list[str]:
    """The layer's modules, as paths under ``src/`` (comments and blank lines skipped)."""
    lines = (ln.split("#", 1)[0].strip() for ln in MODULES.read_text(encoding="utf-8").splitlines())
    return [ln for ln in lines if ln]


def ready(what: str) -> bool:
    try:
        import mypyc.build  # noqa: F401
        import setuptools  # noqa: F401
    except ImportError:
        print(f"build_fast: mypyc not installed (dev extras); {what} runs as pure Python")
        return False
    if compiler() is None:
        print(f"build_fast: no C compiler found; {what} runs as pure Python")
        return False
    return True


@contextmanager
def cwd(path: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def compile_in(src: Path, paths: list[str], tmp: Path, **options: object) -> None:
    """mypyc-compile ``paths`` (under ``src``) in place there; ``tmp`` takes the C and objects."""
    from mypyc.build import mypycify
    from setuptools import Distribution

    with cwd(src):
        exts = mypycify(["--config-file", str(ROOT / "pyproject.toml"), *paths], opt_level="3",
                        target_dir=str(tmp / "ir"), **options)  # type: ignore[arg-type]
        dist = Distribution({"name": "cloudtwin-fast", "ext_modules": exts})
        dist.script_name = "build_fast"
        dist.script_args = ["-q", "build_ext", "--inplace", "--build-temp", str(tmp / "tmp")]
        dist.parse_command_line()
        dist.run_commands()


def build() -> int:
    if not ready("the fast path"):
        return 0
    for p in built():
        p.unlink()
    with tempfile.TemporaryDirectory(prefix="cloudtwin-mypyc-") as tmp:
        try:
            compile_in(SRC, [str(MODULE)], Path(tmp))
        except (Exception, SystemExit) as exc:  # a failed build leaves the pure-Python module in use
            print(f"build_fast: mypyc build failed ({type(exc).__name__}: {exc}); the fast path runs as pure Python")
            for p in built():
                p.unlink()
            return 0
    print("build_fast: compiled " + ", ".join(str(p.relative_to(ROOT)) for p in built()))
    return 0


def stamp_text(paths: list[str]) -> str:
    """The stamp of ``paths`` (under src/), made by :func:`cloudtwin.compiled.stamp_text`, the
    module that reads it (loaded from its file: importing the package is not needed)."""
    spec = importlib.util.spec_from_file_location("_cloudtwin_compiled", PKG / "compiled.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return str(mod.stamp_text([(SRC / p).relative_to(PKG).as_posix() for p in paths]))


def build_layer() -> int:
    """Compile the layer into a copy of ``src/`` and move its extension modules to ``_compiled/``."""
    if not ready("the service layer"):
        return 0
    paths = layer_modules()
    text = stamp_text(paths)
    stamp = LAYER / "stamp.txt"  # written last: present means the build finished
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == text:
        print(f"build_fast: the layer in {LAYER.relative_to(ROOT)} is current")
        return 0
    with tempfile.TemporaryDirectory(prefix="cloudtwin-layer-") as name:
        tmp = Path(name)
        shutil.copytree(SRC, tmp / "src", ignore=shutil.ignore_patterns(
            "__pycache__", "*.so", "*.pyd", "*.egg-info", "_compiled"))
        try:
            compile_in(tmp / "src", paths, tmp, group_name=GROUP)
        except (Exception, SystemExit) as exc:  # the old layer (if any) and the source stay as they were
            print(f"build_fast: mypyc build of the layer failed ({type(exc).__name__}: {exc}); "
                  "nothing was changed")
            return 1
        stage = LAYER.with_name("_compiled.new")
        shutil.rmtree(stage, ignore_errors=True)
        pkg = tmp / "src" / "cloudtwin"
        for so in sorted(pkg.rglob("*.so")) + sorted(pkg.rglob("*.pyd")):
            dest = stage / so.relative_to(pkg)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(so, dest)
        (stage / "stamp.txt").write_text(text, encoding="utf-8")
        shutil.rmtree(LAYER, ignore_errors=True)
        stage.rename(LAYER)
    count = sum(1 for _ in LAYER.rglob("*.so"))
    print(f"build_fast: compiled the layer, {len(paths)} modules ({count} extension files) in "
          f"{LAYER.relative_to(ROOT)}")
    return 0


def main(argv: list[str]) -> int:
    if argv == ["--clean"]:
        clean()
        return 0
    if argv == ["--layer"]:
        return build_layer()
    if argv:
        print(__doc__)
        return 2
    return build()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
