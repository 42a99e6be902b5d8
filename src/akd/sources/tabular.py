"""User data: a Hugging Face ``datasets`` dataset (``hub``) or a JSONL/CSV/Parquet file (``file``).

Both map their columns onto the task family's fields with ``columns`` (our name -> their name):
``nli``: premise, hypothesis, label; ``mc``: question, choices (a list column), label;
``math``: question, label.  An optional ``rationale`` column becomes ``llm_rationale``.
"""

from __future__ import annotations

import json
import numbers
import os
from io import StringIO
from pathlib import Path

import pandas as pd

from .common import (DataError, choice_index, make_example, mc_fields, nli_label, read_jsonl, read_text,
                     text_or_none)

REQUIRED = {"nli": ("premise", "hypothesis", "label"), "mc": ("question", "choices", "label"), "math": ("question", "label")}


def read_table_file(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return read_jsonl(path)
    elif suffix in (".csv", ".parquet"):
        df = pd.read_csv(StringIO(read_text(path))) if suffix == ".csv" else pd.read_parquet(path)
        first = 2 if suffix == ".csv" else 1  # csv: line 1 is the header
        rows = [dict(r, _where=f"{path}:{'line' if suffix == '.csv' else 'row'} {i + first}") for i, r in enumerate(df.to_dict("records"))]
    else:
        raise DataError(f"{path}: unsupported file type {suffix!r}; use .jsonl, .csv or .parquet")
    if not rows:
        raise DataError(f"{path}: the file holds no examples")
    return rows


def file_has_text(path: str | Path, column: str) -> bool:
    """Whether some row of a table file has text in ``column``, for planning (JSONL: only the lines
    that spell the key are parsed); False where the file is missing or unreadable (loading it names
    the problem)."""
    path = Path(path)
    try:
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            if column not in pq.read_schema(path).names:
                return False
            return any(text_or_none(v) for v in pq.read_table(path, columns=[column]).column(0).to_pylist())
        with open(path, encoding="utf-8-sig") as f:  # a byte-order mark, as the loader allows
            if suffix == ".csv":
                if column not in pd.read_csv(f, nrows=0).columns:
                    return False
                f.seek(0)
                return any(text_or_none(v) for v in pd.read_csv(f, usecols=[column], dtype=str)[column])
            keys = {json.dumps(column), json.dumps(column, ensure_ascii=False)}  # how a row spells the key
            for line in f:
                if any(k in line for k in keys):
                    row = json.loads(line)
                    if isinstance(row, dict) and text_or_none(row.get(column)):
                        return True
    except (OSError, ValueError):  # missing, not UTF-8, not JSON or CSV
        pass
    return False


def rows_to_examples(rows: list[dict], task: str, columns: dict[str, str] | None, prefix: str) -> list[dict]:
    columns = dict(columns or {})
    out = []
    for i, row in enumerate(rows):
        where = row.get("_where", f"{prefix} row {i}")

        def get(name: str, optional: bool = False):
            col = columns.get(name, name)
            if col not in row:
                if optional:
                    return None
                raise DataError(f"{where}: column {col!r} (for {name!r}) is missing; columns are {sorted(k for k in row if k != '_where')}")
            return row[col]

        if task == "nli":
            fields = {"premise": get("premise"), "hypothesis": get("hypothesis")}
            label, choices = nli_label(get("label"), where), []
        elif task == "mc":
            choices = get("choices")
            if isinstance(choices, str):
                try:
                    choices = json.loads(choices)
                except json.JSONDecodeError:
                    raise DataError(f"{where}: choices {choices!r} is not a JSON list") from None
            if not hasattr(choices, "__iter__") or isinstance(choices, (str, dict)):
                raise DataError(f"{where}: choices {choices!r} is not a list")
            choices = [c if isinstance(c, str) else "" if c is None else str(c) for c in choices]
            fields, label = mc_fields(get("question"), choices), get("label")
            if isinstance(label, numbers.Number):
                label = choice_index(label, choices, where)
        elif task == "math":
            fields, label, choices = {"question": get("question")}, str(get("label")), []
        else:
            raise DataError(f"unknown task {task!r}")
        ex_id = get("id", optional=True)
        rationale = text_or_none(get("rationale", optional=True))  # a blank one is none
        # the data's own rationale explains its gold label: no LLM answer to check it against
        out.append(make_example(ex_id if ex_id is not None else f"{prefix}-{i}", task, fields, label, choices,
                                rationale, label if rationale else None, where))
    return out


def load_hub(name: str, subset: str | None, split: str, task: str, columns: dict | None) -> list[dict]:
    import datasets  # imported here: only this source needs it

    try:
        ds = datasets.load_dataset(name, subset, split=split)
    except Exception as e:  # not found, unreachable, offline, no such split or subset: say which dataset
        what = f"hub dataset {name!r}" + (f" (subset {subset!r}, split {split})" if subset else f" (split {split})")
        detail = " ".join(str(e).split())  # one line
        offline = [v for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
                   if os.environ.get(v, "").upper() in ("1", "ON", "YES", "TRUE")]
        hint = (f"; {offline[0]}={os.environ[offline[0]]} is set in this environment: unset it to download the dataset"
                if offline else "")
        raise DataError(f"{what} could not be loaded: {type(e).__name__}: {detail}{hint}") from e
    rows = [dict(r, _where=f"{name}[{split}] row {i}") for i, r in enumerate(ds)]
    if not rows:
        raise DataError(f"{name}[{split}]: the split holds no examples")
    return rows_to_examples(rows, task, columns, f"{name}-{split}")


def load_file(path: str, task: str, columns: dict | None) -> list[dict]:
    return rows_to_examples(read_table_file(path), task, columns, Path(path).stem)
