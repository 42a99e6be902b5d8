"""Words: how inputs are split into the units that get a score, which of them may become rationale
words, and the check that ``rationales.k`` leaves the top-k a choice.  Torch-free: the data stage
and the config checks use it without loading any model code.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .sources.common import DataError

#: A word: a number (with its decimal or thousands separators), a run of letters and digits (with
#: apostrophes inside), or one punctuation mark.
WORD = re.compile(r"\d+(?:[.,]\d+)*|\w+(?:['’]\w+)*|[^\w\s]")

#: A short English stop-word list (function words that carry no task content).
STOPWORDS = frozenset(
    """a an the and or but if then so of to in on at by for with from into onto over under as is are was
    were be been being am do does did has have had it its this that these those there here he she they we
    you i me him her them us my your his their our what which who whom whose when where why how
    can could will would shall should may might must than too very just also only""".split()  # negations (not, no, never) stay: they decide NLI labels
)


def eligible(word: str, exclude_punctuation: bool, exclude_stopwords: bool) -> bool:
    if exclude_punctuation and not any(c.isalnum() for c in word):
        return False
    if exclude_stopwords and word.lower() in STOPWORDS:
        return False
    return True


def word_counts(df: pd.DataFrame, exclude_punctuation: bool = True, exclude_stopwords: bool = False) -> np.ndarray:
    """Distinct words of each example that may become rationale words (what caps a top-k)."""
    counts = []
    for fields in df["fields"]:
        words = {m.group().lower() for f in fields for m in WORD.finditer(f["text"])
                 if eligible(m.group(), exclude_punctuation, exclude_stopwords)}
        counts.append(len(words))
    return np.asarray(counts)


def flags(exclude_punctuation: bool, exclude_stopwords: bool) -> str:
    """The key of one choice of the exclusion flags in the input statistics."""
    return f"punct={int(exclude_punctuation)},stop={int(exclude_stopwords)}"


def check_k(dataset: str, stats: dict, ks, exclude_punctuation: bool = True, exclude_stopwords: bool = False) -> None:
    """``rationales.k`` must leave the top-k a choice on most inputs: a k at or above the median
    example's number of distinct eligible words makes the "rationale" the whole input for half the
    data or more, so that is an error."""
    hist = {int(v): c for v, c in stats[flags(exclude_punctuation, exclude_stopwords)].items()}
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


def rationale_flags(rationales: dict) -> dict[str, bool]:
    """Which words may become rationale words, from the config's ``rationales`` slice:
    ``exclude_punctuation`` (default true) and ``exclude_stopwords`` (default false)."""
    return {"exclude_punctuation": bool(rationales.get("exclude_punctuation", True)),
            "exclude_stopwords": bool(rationales.get("exclude_stopwords", False))}


def check_k_of_config(dataset: str, stats: dict, rationales: dict) -> None:
    """``check_k`` with the config's ``rationales`` slice (k and the exclusion flags)."""
    check_k(dataset, stats, rationales["k"], **rationale_flags(rationales))
