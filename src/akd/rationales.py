"""Stage ``rationales``: the top-k words of each example, written in input order."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def top_k(words: Sequence[str], scores: Sequence[float], k: int) -> list[int]:
    """Positions of the k highest-scoring distinct words (ties: earlier first), in input order."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    chosen, seen = [], set()
    for j in order:
        key = words[j].lower()
        if key in seen:
            continue
        seen.add(key)
        chosen.append(int(j))
        if len(chosen) == k:
            break
    return sorted(chosen)


def rationale_rows(attributions: list[dict], k: int) -> list[dict]:
    out = []
    for row in attributions:
        pos = top_k(list(row["words"]), list(row["scores"]), k)
        words = [row["words"][j] for j in pos]
        out.append({"id": row["id"], "rationale": " ".join(words), "words": words, "positions": pos})
    return out
