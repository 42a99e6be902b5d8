"""Resumable jobs: rows of a long job saved beside its output, so that a job killed mid-way (a
node failure, a wall-time limit) resumes where it was, and only with the same inputs and settings."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa

from . import io, schemas

log = logging.getLogger("akd")


def digest(path: str) -> str:
    """The first 16 hex digits of a file's SHA-256."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def model_signature(model: str) -> list:
    """Names, sizes and times of a model folder's files (a retrained model in the same folder
    differs); a hub name stands for itself."""
    folder = Path(model)
    if not folder.is_dir():
        return [model]
    return sorted((str(f.relative_to(folder)), f.stat().st_size, int(f.stat().st_mtime))
                  for f in folder.rglob("*") if f.is_file())


class Checkpoint:
    """Rows of a long attribution job saved beside its output (``<out>.partial``, not an output, so
    Snakemake leaves it alone), so that a job killed mid-way resumes where it was.  Saved at most
    every ``AKD_CHECKPOINT_SECONDS`` (default 120) seconds, atomically; used only when the model,
    settings, shard, examples and targets are the same (a fingerprint says so)."""

    SCHEMA = schemas.ATTRIBUTIONS.append(pa.field("position", pa.int64()))

    def __init__(self, out: str, what: dict):
        self.path = Path(str(out) + ".partial")
        self.fingerprint = hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]
        every = os.environ.get("AKD_CHECKPOINT_SECONDS", "120")
        try:
            self.every = float(every)
        except ValueError:
            raise ValueError(f"AKD_CHECKPOINT_SECONDS must be a number of seconds, got {every!r}") from None
        self.last = time.time()
        self.seconds_before = 0.0
        self.started = time.time()

    def load(self) -> dict[int, dict]:
        if not self.path.exists():
            return {}
        meta = io.parquet_metadata(self.path)
        if meta.get("fingerprint") != self.fingerprint:
            log.info("%s belongs to other settings or data: starting over", self.path)
            return {}
        df = io.read_parquet(self.path, self.SCHEMA)
        self.seconds_before = float(meta.get("seconds", 0.0))
        return {int(r.pop("position")): r for r in df.to_dict("records")}

    def maybe_save(self, rows: dict[int, dict]) -> None:
        if time.time() - self.last < self.every:
            return
        df = pd.DataFrame([dict(r, position=i) for i, r in rows.items()], columns=self.SCHEMA.names)
        io.write_parquet(df, self.path, self.SCHEMA, {"fingerprint": self.fingerprint,
                                                      "seconds": self.seconds_before + time.time() - self.started})
        self.last = time.time()

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
