"""The archive: every evaluated candidate, appended as soon as it is evaluated.

The live log (CSV plus a JSON header holding the run's fingerprint) is the search's memory
across crashes: a rerun with the same fingerprint replays the search deterministically and
takes each candidate's result from the log instead of evaluating it again. A line cut short
by a kill is dropped. A log written under another fingerprint (config, data, supernet,
code of the evaluator changed) is discarded, never mixed in.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("mednas")

INT_COLUMNS = {"generation", "filters", "kernel", "layers", "params", "flops"}
STR_COLUMNS = {"phase", "key", "attention", "fusion", "activation"}
INTEGER = re.compile(r"-?\d+")


def parse_value(column: str, text: str) -> Any:
    """A CSV cell back to the type it was written as (floats round-trip exactly through repr, which
    always writes a point, an exponent, nan or inf; an integer never has one): the genes of any space."""
    if column in STR_COLUMNS:
        return text
    if column in INT_COLUMNS or INTEGER.fullmatch(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text  # a space's choice gene (a name)


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Typed records of an archive-shaped CSV (archive.csv, pareto.csv)."""
    with open(path, newline="") as f:
        return [{k: parse_value(k, v) for k, v in row.items()} for row in csv.DictReader(f)]


class ArchiveLog:
    """Append-only CSV of candidate records keyed by genotype key."""

    def __init__(self, path: str | Path, columns: Sequence[str], fingerprint: str):
        self.path = Path(path)
        self.meta_path = self.path.with_suffix(".json")
        self.columns = list(columns)
        self.fingerprint = fingerprint
        self.records: dict[str, dict[str, Any]] = {}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._matching_log():
            self._load()
        else:
            self._start()

    def _matching_log(self) -> bool:
        if not (self.path.exists() and self.meta_path.exists()):
            return False
        try:
            meta = json.loads(self.meta_path.read_text())
        except json.JSONDecodeError:
            return False
        if meta.get("fingerprint") != self.fingerprint or meta.get("columns") != self.columns:
            log.info("discarding the archive log %s: written by a search with other settings or inputs", self.path)
            return False
        return True

    def _start(self) -> None:
        self.path.unlink(missing_ok=True)
        self.meta_path.write_text(json.dumps({"fingerprint": self.fingerprint, "columns": self.columns}) + "\n")
        with open(self.path, "w", newline="") as f:
            csv.writer(f).writerow(self.columns)

    def _load(self) -> None:
        data = self.path.read_bytes()
        cut = data.rfind(b"\n") + 1
        if cut < len(data):  # killed mid-line: keep only whole lines
            log.info("archive log %s: dropping a partial last line", self.path)
            with open(self.path, "r+b") as f:
                f.truncate(cut)
            data = data[:cut]
        reader = csv.DictReader(io.StringIO(data.decode()))
        if reader.fieldnames != self.columns:
            self._start()
            return
        for row in reader:
            record = {k: parse_value(k, v) for k, v in row.items()}
            self.records[record["key"]] = record
        log.info("archive log %s: %d candidates from an earlier run", self.path, len(self.records))

    def get(self, key: str) -> dict[str, Any] | None:
        return self.records.get(key)

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record and force it to disk before the search goes on."""
        missing = [c for c in self.columns if c not in record]
        if missing:
            raise KeyError(f"archive record lacks {missing}")
        buf = io.StringIO()
        csv.writer(buf).writerow([record[c] for c in self.columns])
        with open(self.path, "a", newline="") as f:
            f.write(buf.getvalue())
            f.flush()
            os.fsync(f.fileno())
        self.records[record["key"]] = dict(record)
