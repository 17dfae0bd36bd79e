"""The process boundary of the ``cloudtwin`` command: one exit code and one message per outcome.

====  ==========================================================================
code  meaning
====  ==========================================================================
0     done
1     the run or review found what ``--fail-on`` asked to fail on
2     bad input (a spec, a data file, an option): one ``file:line: path: message``
      line per problem, never a traceback; also an output that cannot be written
3     an internal error (a bug): a short message and the file holding the
      traceback; ``--debug`` (or ``CLOUDTWIN_DEBUG=1``) prints it instead
130   interrupted (Ctrl-C), at any point, start-up included
====  ==========================================================================

Ctrl-C is turned into :class:`Interrupted`, which derives from ``BaseException``
so that no ``except Exception`` on the way (nor the CLI framework's own handler)
can swallow it. This module imports nothing heavy before the handler is set.
"""

from __future__ import annotations

import errno
import io
import os
import signal
import sys
from typing import Any, NoReturn

EXIT_OK, EXIT_FAIL_ON, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAIL_ON", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "Interrupted", "main"]


class Interrupted(BaseException):
    """Ctrl-C (SIGINT) or SIGTERM."""


def _on_signal(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


def _exit(code: int, message: str = "") -> NoReturn:
    if message:
        try:
            sys.stderr.write(message.rstrip("\n") + "\n")
            sys.stderr.flush()
        except OSError:
            pass
    _quiet_stdout()
    sys.exit(code)


def _quiet_stdout() -> None:
    """Flush stdout now; if it cannot take the output (a closed pipe, a full disk), point it at
    /dev/null so that the interpreter's own flush at exit prints nothing."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass


def _internal(exc: BaseException, debug: bool) -> NoReturn:
    import tempfile
    import traceback

    text = "".join(traceback.format_exception(exc))
    if debug:
        _exit(EXIT_INTERNAL, f"{text}internal error (exit 3): please report it with the traceback above")
    where = ""
    try:
        fd, path = tempfile.mkstemp(prefix="cloudtwin-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"cloudtwin {' '.join(sys.argv[1:])}\n\n{text}")
        where = f"; the traceback is in {path}"
    except OSError:
        pass
    _exit(EXIT_INTERNAL, f"internal error: {type(exc).__name__}: {str(exc)[:300]}{where} "
                         "(rerun with --debug to print it; please report it)")


class _ClosedOutput(io.TextIOBase):
    """Standard output when the process was started without one: a write fails as on a closed file."""

    def write(self, s: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass


def _one_line(e: Any) -> None:
    ctx = getattr(e, "ctx", None)
    cmd = ctx.command_path if ctx is not None else "cloudtwin"
    sys.stderr.write(f"{cmd}: {e.format_message()} (see '{cmd} --help')\n")


class _PatchOnImport:
    """A meta-path finder that lets ``typer.rich_utils`` load as usual and then replaces its
    error panel: the CLI framework imports that module (rich's markdown, traceback and
    syntax highlighting, ~60 ms) only to report an error, so a run that has none never pays."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "typer.rich_utils":
            return None
        import importlib.util

        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module: Any) -> None:
            load(module)
            module.rich_format_error = _one_line

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _plain_usage_errors() -> None:
    """A usage error (an unknown option, a missing argument) as one plain line on stderr instead
    of the CLI framework's boxed panel; the exit code stays 2."""
    mod = sys.modules.get("typer.rich_utils")
    if mod is not None:
        mod.__dict__["rich_format_error"] = _one_line
    elif not any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the command line ``argv`` (default: the process's) and exit with its code."""
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("CLOUDTWIN_DEBUG", "") not in ("", "0")
    args = [a for a in args if a != "--debug"]
    try:
        from cloudtwin.errors import CloudtwinError
    except Interrupted:
        _exit(EXIT_INTERRUPTED, "interrupted")
    if sys.stdout is None:  # started with standard output closed (>&-): writing to it is an error
        sys.stdout = _ClosedOutput()
    try:
        from cloudtwin.cli import app

        _plain_usage_errors()
        app(args=args, prog_name="cloudtwin")  # standalone: exits with the command's code
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_BAD_INPUT)
        try:
            sys.stdout.flush()
        except OSError as err:
            _exit(EXIT_BAD_INPUT, f"cannot write the output: {err.strerror or err}")
        except ValueError:
            pass
        sys.exit(code)
    except Interrupted:
        _exit(EXIT_INTERRUPTED, "interrupted")
    except CloudtwinError as exc:  # a library error the command did not word itself
        _exit(EXIT_BAD_INPUT, str(exc))
    except OSError as exc:  # e.g. the output (stdout, a file) cannot be written
        if exc.filename is None and exc.errno is not None:
            _exit(EXIT_BAD_INPUT, f"cannot write the output: {exc.strerror or exc}")
        _internal(exc, debug)
    except Exception as exc:  # a bug
        _internal(exc, debug)
    _exit(EXIT_OK)


if __name__ == "__main__":
    main()
