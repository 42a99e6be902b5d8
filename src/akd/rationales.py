"""Stage ``rationales``: the top-k words of each example, written in input order."""

from __future__ import annotations

from typing import Sequence

import numpy as np

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


def top_k(
    words: Sequence[str],
    scores: Sequence[float],
    k: int,
    exclude_punctuation: bool = False,
    exclude_stopwords: bool = False,
) -> list[int]:
    """Positions of the k highest-scoring distinct words (ties: earlier first), in input order."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    chosen, seen = [], set()
    for j in order:
        key = words[j].lower()
        if key in seen or not eligible(words[j], exclude_punctuation, exclude_stopwords):
            continue
        seen.add(key)
        chosen.append(int(j))
        if len(chosen) == k:
            break
    return sorted(chosen)


def rationale_rows(
    attributions: list[dict], k: int, exclude_punctuation: bool = False, exclude_stopwords: bool = False
) -> list[dict]:
    out = []
    for row in attributions:
        pos = top_k(list(row["words"]), list(row["scores"]), k, exclude_punctuation, exclude_stopwords)
        words = [row["words"][j] for j in pos]
        out.append({"id": row["id"], "rationale": " ".join(words), "words": words, "positions": pos})
    return out
