"""The data: a dataset source -> one example table per split (train, valid, test), checked row by row
and across rows, and the word statistics of its training inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import io, schemas
from .sources import dss, synthetic, tabular
from .sources.common import DataError
from .words import flags, word_counts

SPLITS = ("train", "valid", "test")


def source_files(ds: dict) -> list[str]:
    """Files a dataset's ``prepare`` reads (so that Snakemake reruns it when they change)."""
    if ds["source"] == "dss":
        files: list[Path] = []
        for split in SPLITS:
            fs = ds["splits"].get(split, split)
            if fs is not None:
                files += dss.dss_files(ds["root"], ds.get("name"), fs)
        return sorted({str(f) for f in files})
    if ds["source"] == "file":
        return sorted({str(p) for p in ds["files"].values() if p})
    return []


def _load(ds: dict, split: str, file_split: str) -> list[dict]:
    src, task = ds["source"], ds["task"]
    if src == "dss":
        return dss.load_split(ds["root"], ds["name"], task, file_split)
    if src == "hub":
        return tabular.load_hub(ds["name"], ds.get("subset"), file_split, task, ds.get("columns"))
    if src == "file":
        return tabular.load_file(file_split, task, ds.get("columns"))
    if src == "synthetic":
        return synthetic.generate(task, int(ds["sizes"][split]), int(ds.get("seed", 0)), split)
    raise DataError(f"unknown source {src!r}")


def load_splits(ds: dict) -> dict[str, list[dict]]:
    """All three splits of a dataset; a ``valid`` mapped to null is carved out of train."""
    mapping = {"train": "train", "valid": "valid", "test": "test"}
    if ds["source"] == "file":
        mapping = dict(ds["files"])
    mapping.update(ds.get("splits") or {})
    out: dict[str, list[dict]] = {}
    for split in SPLITS:
        if split not in mapping:
            raise DataError(f"dataset split {split!r} has no file mapping")
        if mapping[split] is None:
            if split != "valid":
                raise DataError(f"splits.{split} is null; only valid may be carved out of train")
            continue
        out[split] = _load(ds, split, mapping[split])
    if "valid" not in out:
        n = int(ds.get("valid_size", 500))
        train = out["train"]
        if n >= len(train):
            raise DataError(f"valid_size {n} leaves no training examples (train has {len(train)})")
        order = np.random.RandomState(int(ds.get("split_seed", 0))).permutation(len(train))
        held = set(order[:n].tolist())
        out["valid"] = [e for i, e in enumerate(train) if i in held]
        out["train"] = [e for i, e in enumerate(train) if i not in held]
    for split, limit in (ds.get("limit") or {}).items():
        if limit is not None:
            out[split] = out[split][: int(limit)]
    check_rows(out)
    return out


def check_rows(splits: dict[str, list[dict]]) -> None:
    """Checks across rows: example ids unique within a split, and (multiple choice) the same number
    of choices in every row of the dataset (the label space, the teacher's prompt and the chance
    level assume it).  Errors name the rows' files and lines."""
    for split, rows in splits.items():
        seen: dict[str, str] = {}
        for r in rows:
            if r["id"] in seen:
                raise DataError(f"{r.get('_where') or split}: example id {r['id']!r} occurs more than once in split "
                                f"{split} (first at {seen[r['id']] or 'an earlier row'})")
            seen[r["id"]] = r.get("_where", "")
    mc = [(split, r) for split, rows in splits.items() for r in rows if r["task"] == "mc"]
    if mc:
        first_split, first = mc[0]
        for split, r in mc:
            if len(r["choices"]) != len(first["choices"]):
                raise DataError(f"{r.get('_where') or split}: {len(r['choices'])} choices, but "
                                f"{first.get('_where') or first_split} and the rows before have {len(first['choices'])}; "
                                "every multiple-choice example of a dataset needs the same number of choices")


def write_splits(ds: dict, outputs: dict[str, str]) -> dict[str, int]:
    """Write ``outputs[split]`` for every split; returns row counts."""
    splits = load_splits(ds)
    for split in SPLITS:
        df = pd.DataFrame(splits[split], columns=schemas.EXAMPLES.names)
        io.write_parquet(df, outputs[split], schemas.EXAMPLES, {"dataset": ds, "split": split})
    return {s: len(v) for s, v in splits.items()}


def read_examples(path: str | Path) -> pd.DataFrame:
    return io.read_parquet(path, schemas.EXAMPLES)


def input_stats(train_examples: str | Path) -> dict:
    """How many distinct words of each training example may become rationale words, for every
    choice of the exclusion flags: ``{"punct=1,stop=0": {"<count>": <examples>, ...}, ...}``.
    It depends on the data only, so it never reruns anything when ``k`` changes."""
    df = read_examples(train_examples)
    if len(df) == 0:
        raise DataError(f"{train_examples}: the training split holds no examples")
    out = {"examples": int(len(df))}
    for punct in (True, False):
        for stop in (True, False):
            values, counts = np.unique(word_counts(df, punct, stop), return_counts=True)
            out[flags(punct, stop)] = {str(int(v)): int(c) for v, c in zip(values, counts)}
    return out
