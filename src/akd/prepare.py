"""Stage ``prepare``: a dataset source -> one example table per split (train, valid, test)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import io, schemas
from .sources import dss, synthetic, tabular
from .sources.common import DataError

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
    for split, rows in out.items():
        ids = [r["id"] for r in rows]
        if len(set(ids)) != len(ids):
            dup = pd.Series(ids).value_counts().index[0]
            raise DataError(f"split {split}: example id {dup!r} occurs more than once")
    return out


def prepare(ds: dict, outputs: dict[str, str]) -> dict[str, int]:
    """Write ``outputs[split]`` for every split; returns row counts."""
    splits = load_splits(ds)
    for split in SPLITS:
        df = pd.DataFrame(splits[split], columns=schemas.EXAMPLES.names)
        io.write_parquet(df, outputs[split], schemas.EXAMPLES, {"dataset": ds, "split": split})
    return {s: len(v) for s, v in splits.items()}


def read_examples(path: str | Path) -> pd.DataFrame:
    return io.read_parquet(path, schemas.EXAMPLES)


def word_counts(df: pd.DataFrame, exclude_punctuation: bool = True, exclude_stopwords: bool = False) -> np.ndarray:
    """Distinct words of each example that may become rationale words (what caps a top-k)."""
    from .attribution import WORD
    from .rationales import eligible

    counts = []
    for fields in df["fields"]:
        words = {m.group().lower() for f in fields for m in WORD.finditer(f["text"])
                 if eligible(m.group(), exclude_punctuation, exclude_stopwords)}
        counts.append(len(words))
    return np.asarray(counts)


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
            out[_flags(punct, stop)] = {str(int(v)): int(c) for v, c in zip(values, counts)}
    return out


def _flags(exclude_punctuation: bool, exclude_stopwords: bool) -> str:
    return f"punct={int(exclude_punctuation)},stop={int(exclude_stopwords)}"


def check_k(dataset: str, stats: dict, ks, exclude_punctuation: bool = True, exclude_stopwords: bool = False) -> None:
    """``rationales.k`` must leave the top-k a choice on most inputs: a k at or above the median
    example's number of distinct eligible words makes the "rationale" the whole input for half the
    data or more, so that is an error."""
    hist = {int(v): c for v, c in stats[_flags(exclude_punctuation, exclude_stopwords)].items()}
    n = np.repeat(np.array(sorted(hist)), [hist[v] for v in sorted(hist)])
    median = float(np.median(n))
    for k in sorted(int(k) for k in ks):
        if k >= median:
            short = float(np.mean(n <= k))
            raise DataError(
                f"rationales.k: {k} is larger than the inputs of {dataset!r} allow: {short:.0%} of its "
                f"{len(n)} training examples have at most {k} distinct eligible words (median "
                f"{median:g}, exclude_punctuation={exclude_punctuation}, exclude_stopwords="
                f"{exclude_stopwords}), so their top-{k} would be the whole input. Use k below {median:g}."
            )


def check_k_of_config(dataset: str, stats: dict, rationales: dict) -> None:
    """``check_k`` with the config's ``rationales`` slice (k and the exclusion flags)."""
    check_k(dataset, stats, rationales["k"], bool(rationales.get("exclude_punctuation", True)),
            bool(rationales.get("exclude_stopwords", False)))
