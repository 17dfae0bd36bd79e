"""cloudtwin.compiled: the compiled layer is used only when built for this Python and current."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from cloudtwin import compiled


@pytest.fixture
def layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package folder with one source and a layer stamped from it (no extension files needed)."""
    pkg = tmp_path / "cloudtwin"
    (pkg / "_compiled" / "services").mkdir(parents=True)
    src = pkg / "services" / "sqs.py"
    src.parent.mkdir()
    src.write_text("x = 1\n")
    st = src.stat()
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    (pkg / "_compiled" / compiled.STAMP).write_text(
        f"python {sys.implementation.cache_tag}\nservices/sqs.py {st.st_size} {st.st_mtime_ns} {digest}\n")
    monkeypatch.setattr(compiled, "DIR", str(pkg / "_compiled"))
    monkeypatch.setattr(compiled, "_state", None)
    monkeypatch.delenv("CLOUDTWIN_COMPILED", raising=False)
    return pkg


def test_a_current_layer_goes_first_on_the_package_path(layer: Path) -> None:
    path = [str(layer / "services")]
    compiled.extend(path, "cloudtwin.services")
    assert compiled.state() == "active" and compiled.active()
    assert path == [str(layer / "_compiled" / "services"), str(layer / "services")]
    top = [str(layer)]
    compiled.extend(top, "cloudtwin")
    assert top == [str(layer / "_compiled"), str(layer)]
    compiled.extend(top, "cloudtwin")  # once only
    assert len(top) == 2


def test_a_touched_but_unchanged_source_keeps_it(layer: Path) -> None:
    src = layer / "services" / "sqs.py"
    os.utime(src, ns=(1, 1))
    assert compiled.state() == "active"


@pytest.mark.parametrize("edit", ["x = 2\n", "x = 10\n"])  # same size, and not
def test_an_edited_source_stands_the_whole_layer_aside(layer: Path, edit: str) -> None:
    (layer / "services" / "sqs.py").write_text(edit)
    path = [str(layer / "services")]
    compiled.extend(path, "cloudtwin.services")
    assert path == [str(layer / "services")]
    assert compiled.state().startswith("stale: services/sqs.py changed")


@pytest.mark.parametrize("line", ["services/sqs.py 12", "services/sqs.py x 1 abc", ""])
def test_a_damaged_stamp_is_not_used_and_does_not_break_the_import(layer: Path, line: str) -> None:
    stamp = layer / "_compiled" / compiled.STAMP
    stamp.write_text(stamp.read_text().splitlines()[0] + "\n" + line + "\n")
    assert compiled.state() == "unreadable stamp (make fast rebuilds it)"
    path = [str(layer)]
    compiled.extend(path, "cloudtwin")
    assert path == [str(layer)]


def test_a_removed_source_too(layer: Path) -> None:
    (layer / "services" / "sqs.py").unlink()
    assert compiled.state().startswith("stale: services/sqs.py is gone")


def test_another_python_or_the_switch_or_no_build(layer: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stamp = layer / "_compiled" / compiled.STAMP
    stamp.write_text(stamp.read_text().replace(sys.implementation.cache_tag, "cpython-399"))
    assert compiled.state().startswith("built for another Python")
    monkeypatch.setattr(compiled, "_state", None)
    monkeypatch.setenv("CLOUDTWIN_COMPILED", "0")
    assert compiled.state().startswith("off")
    monkeypatch.setattr(compiled, "_state", None)
    monkeypatch.delenv("CLOUDTWIN_COMPILED")
    stamp.unlink()
    assert compiled.state().startswith("not built")
    path = [str(layer)]
    compiled.extend(path, "cloudtwin")
    assert path == [str(layer)]


def test_the_imported_modules_are_the_layers_exactly_when_it_is_active() -> None:
    import cloudtwin.component
    import cloudtwin.services.sqs

    for mod in (cloudtwin.component, cloudtwin.services.sqs):
        assert str(mod.__file__).startswith(compiled.DIR) == compiled.active(), mod.__file__


def test_the_stamp_make_fast_writes_is_the_one_that_is_read(layer: Path) -> None:
    (layer / "_compiled" / compiled.STAMP).write_text(compiled.stamp_text(["services/sqs.py"]))
    assert compiled.state() == "active"
    (layer / "services" / "sqs.py").write_text("x = 22\n")
    compiled._state = None
    assert compiled.state() == "stale: services/sqs.py changed since the build (make fast rebuilds it)"
