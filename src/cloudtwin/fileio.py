"""Reading input files within a budget, and writing output files atomically.

Every file cloudtwin reads (a spec, a replay profile, a price file) comes
through :func:`read_bounded`: it must be a regular file (never a device, a FIFO
or a socket, which could hang or never end) and at most ``limit`` bytes, and it
is read no further than that, so ``/dev/zero`` or a huge file is refused in
milliseconds with bounded memory. Every file cloudtwin writes goes through
:func:`write_atomic`: the text is written to a temporary file beside the target
and renamed over it, so a full disk or a write error leaves the previous file
whole rather than a truncated one.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tempfile
from pathlib import Path

from cloudtwin.errors import Issue, SpecError

__all__ = ["open_bounded", "read_bounded", "read_text_bounded", "write_atomic"]


def _refuse(path: str | os.PathLike[str], message: str) -> SpecError:
    return SpecError([Issue("", message, str(path)[:300], 0)])


def _open_checked(path: str | os.PathLike[str], limit: int, what: str) -> int:
    """A read-only descriptor of ``path`` once it is known to be a regular file of at most
    ``limit`` bytes; :class:`SpecError` otherwise. Shared by every bounded reader."""
    try:
        st = os.stat(path)  # does not open: a FIFO cannot block here
    except OSError as exc:
        raise _refuse(path, f"cannot read the {what}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise _refuse(path, f"is a directory; the {what} must be a file")
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(path, f"is not a regular file (a device, FIFO or socket); the {what} must be a file")
    if st.st_size > limit:
        raise _refuse(path, f"the {what} is {st.st_size:,} bytes; the limit is {limit:,}")
    try:
        # O_NONBLOCK: should the path be swapped for a FIFO after the stat, opening it cannot hang
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise _refuse(path, f"cannot read the {what}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _refuse(path, f"is not a regular file; the {what} must be a file")
    return fd


def read_bounded(path: str | os.PathLike[str], limit: int, what: str = "file") -> bytes:
    """The bytes of ``path``: a regular file of at most ``limit`` bytes, else :class:`SpecError`."""
    fd = _open_checked(path, limit, what)
    try:
        chunks: list[bytes] = []
        size = 0
        while size <= limit:  # a file that grows while read is cut at limit + 1 and refused
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _refuse(path, f"cannot read the {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise _refuse(path, f"the {what} is over {limit:,} bytes (the limit)")
    return b"".join(chunks)


def open_bounded(path: str | os.PathLike[str], limit: int, what: str = "file") -> io.TextIOWrapper:
    """``path`` opened for reading as UTF-8 text, after the checks of :func:`read_bounded`
    (a regular file of at most ``limit`` bytes), for a reader that streams it."""
    fd = _open_checked(path, limit, what)
    return io.TextIOWrapper(io.FileIO(fd, "r"), encoding="utf-8-sig", errors="strict", newline="")


def read_text_bounded(path: str | os.PathLike[str], limit: int, what: str = "file") -> str:
    """:func:`read_bounded`, decoded as UTF-8 (a leading byte-order mark dropped)."""
    raw = read_bounded(path, limit, what)
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SpecError([Issue("", f"the {what} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                               f"{exc.start}); is this a binary file?", str(path)[:300], line)]) from None


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (temporary file, then rename).

    Raises :class:`OSError` if it cannot; the previous content of ``path``, if any, is kept.
    A path that is not a regular file (``/dev/stdout``, a pipe) is written to directly: it
    cannot be replaced, and must not be."""
    target = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(21, "is a directory", str(target))
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(target, "wb") as f:
            f.write(raw)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
