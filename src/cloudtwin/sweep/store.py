"""A sweep's results store: one row per finished run, kept as it finishes, so a sweep that is
killed resumes where it stopped with nothing lost and nothing run twice.

``DIR/`` holds:

- ``sweep.json``: what the sweep is (the spec's digest, the axes, the seeds, run options). A
  sweep resumed into a folder that holds another sweep is refused.
- ``runs/<key>.json``: each run's full results JSON, written atomically.
- ``runs.jsonl``: one line per finished run, appended and flushed to disk when the run ends,
  after its JSON. A line cut short by a crash is ignored (that run is done again).
- ``results.parquet``: the same rows as a Parquet table (pyarrow), rewritten atomically after
  each run, for DuckDB, pandas or any Parquet reader.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cloudtwin.errors import Issue, SpecError
from cloudtwin.fileio import read_text_bounded, write_atomic

__all__ = ["Store"]

_MAX_INDEX = 1 << 30  # bytes of runs.jsonl read on resume


def _refuse(path: Path, message: str) -> SpecError:
    return SpecError([Issue("", message, str(path), 0)])


class Store:
    def __init__(self, folder: Path, definition: dict[str, Any]) -> None:
        self.folder = folder
        try:
            (folder / "runs").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _refuse(folder, f"cannot create the sweep folder: {exc.strerror or exc}") from None
        meta = folder / "sweep.json"
        text = json.dumps(definition, indent=2, sort_keys=True)
        if meta.exists():
            if read_text_bounded(meta, 1 << 24, "sweep definition") != text:
                raise _refuse(folder, "holds results of a different sweep (another spec, axes, seeds or options); "
                                      "use a new -o folder")
        else:
            write_atomic(meta, text)
        self.rows: dict[str, dict[str, Any]] = {}
        index = folder / "runs.jsonl"
        if index.exists():
            text = read_text_bounded(index, _MAX_INDEX, "sweep index")
            for line in text.splitlines():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue  # the last line of a sweep killed while writing it
                if isinstance(row, dict) and isinstance(row.get("run"), str) and \
                        (folder / "runs" / f"{row['run']}.json").exists():
                    self.rows[row["run"]] = row
            if text and not text.endswith("\n"):  # the next line must not be glued to a cut one
                write_atomic(index, "".join(json.dumps(r, sort_keys=True) + "\n" for r in self.rows.values()))

    def done(self, key: str) -> bool:
        return key in self.rows

    def record(self, row: dict[str, Any], results_json: str) -> None:
        """Keep one finished run: its JSON, its line, and the Parquet table with it."""
        key = row["run"]
        write_atomic(self.folder / "runs" / f"{key}.json", results_json)
        with open(self.folder / "runs.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(row, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.rows[key] = row
        self.write_table()

    def write_table(self) -> None:
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = sorted(self.rows.values(), key=lambda r: (r["config"], r["seed"]))
        columns = sorted({k for r in rows for k in r})
        table = pa.table({c: [r.get(c) for r in rows] for c in columns})
        buf = io.BytesIO()
        pq.write_table(table, buf)
        write_atomic(self.folder / "results.parquet", buf.getvalue())
