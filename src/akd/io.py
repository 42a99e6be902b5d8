"""Atomic, schema-checked reading and writing of the workflow's files."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import AkdError


class SchemaError(AkdError, ValueError):
    """A file does not have the columns or types its stage promises."""


def _tmp_sibling(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def write_parquet(
    df: pd.DataFrame, path: str | Path, schema: pa.Schema, metadata: dict[str, Any] | None = None
) -> None:
    """Write ``df`` with exactly ``schema`` (column order and types), atomically."""
    path = Path(path)
    missing = [n for n in schema.names if n not in df.columns]
    if missing:
        raise SchemaError(f"{path}: missing columns {missing} (schema: {schema.names})")
    table = pa.Table.from_pandas(df[schema.names], schema=schema, preserve_index=False)
    if metadata:
        meta = dict(table.schema.metadata or {})
        meta[b"akd"] = json.dumps(metadata, sort_keys=True, default=str).encode()
        table = table.replace_schema_metadata(meta)
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp)


def read_parquet(path: str | Path, schema: pa.Schema) -> pd.DataFrame:
    """Read a Parquet file and check it carries every column of ``schema`` with its type."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    table = pq.read_table(path)
    check_schema(table.schema, schema, str(path))
    return table.select(schema.names).to_pandas()


def check_schema(actual: pa.Schema, expected: pa.Schema, where: str) -> None:
    for field in expected:
        if field.name not in actual.names:
            raise SchemaError(f"{where}: column {field.name!r} is missing")
        got = actual.field(field.name).type
        if not got.equals(field.type):
            raise SchemaError(f"{where}: column {field.name!r} is {got}, expected {field.type}")


def parquet_metadata(path: str | Path) -> dict[str, Any]:
    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(b"akd")
    return json.loads(raw) if raw else {}


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary file beside ``path``; on success it replaces ``path`` in one rename, so a
    killed or failed writer never leaves a file that looks finished."""
    path = Path(path)
    tmp = _tmp_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(obj: Any, path: str | Path) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_text(text: str, path: str | Path) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(text)


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
