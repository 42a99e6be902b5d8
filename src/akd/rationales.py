"""Stage ``rationales``: the top-k words of each example, written in input order."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .words import WORD, eligible

def top_k(
    words: Sequence[str],
    scores: Sequence[float],
    k: int,
    exclude_punctuation: bool = False,
    exclude_stopwords: bool = False,
) -> list[int]:
    """Positions of the k highest-scoring distinct words (ties: earlier first), in input order."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    return first_k(words, order, k, exclude_punctuation, exclude_stopwords)


def first_k(words: Sequence[str], order, k: int, exclude_punctuation: bool, exclude_stopwords: bool) -> list[int]:
    """The first k distinct (case-insensitive) eligible words in ``order``, as positions in input order."""
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


def _row(ex_id: str, words: Sequence[str], pos: list[int]) -> dict:
    chosen = [words[j] for j in pos]
    return {"id": ex_id, "rationale": " ".join(chosen), "words": chosen, "positions": pos}


def rationale_rows(
    attributions: list[dict], k: int, exclude_punctuation: bool = False, exclude_stopwords: bool = False
) -> list[dict]:
    out = []
    for row in attributions:
        pos = top_k(list(row["words"]), list(row["scores"]), k, exclude_punctuation, exclude_stopwords)
        out.append(_row(row["id"], list(row["words"]), pos))
    return out


# --------------------------------------------------------------------------------- controls

def _norm(word: str) -> str:
    w = word.lower()
    try:
        return repr(float(w.replace(",", "")))
    except ValueError:
        return w


def answer_words(label: str) -> set[str]:
    """The gold answer's words, normalised (case; numbers by value, so 12 matches 12.0)."""
    return {_norm(w) for w in WORD.findall(label) if any(c.isalnum() for c in w)}


def in_answer(word: str, answer: set[str]) -> bool:
    return _norm(word) in answer


def random_rows(attributions: list[dict], k: int, seed: int, exclude_punctuation: bool = True,
                exclude_stopwords: bool = False) -> list[dict]:
    """Control: k distinct eligible words drawn at random from the same input (seeded per example)."""
    out = []
    for row in attributions:
        words = list(row["words"])
        order = np.random.default_rng(_seed(seed, row["id"])).permutation(len(words))
        out.append(_row(row["id"], words, first_k(words, order, k, exclude_punctuation, exclude_stopwords)))
    return out


def _seed(seed: int, ex_id: str) -> list[int]:
    import zlib

    return [int(seed), zlib.crc32(ex_id.encode())]  # stable across runs, unlike hash()


def masked_rows(attributions: list[dict], labels: dict[str, str], k: int, exclude_punctuation: bool = True,
                exclude_stopwords: bool = False) -> list[dict]:
    """Control: the top-k words by score among those that are not part of the gold answer.

    The rationale keeps k words (the next-best fill in for removed answer words), so it differs
    from the saliency rationale only in that it cannot leak the label.
    """
    out = []
    for row in attributions:
        ans = answer_words(labels[row["id"]])
        words = list(row["words"])
        scores = [s if not in_answer(w, ans) else -np.inf for w, s in zip(words, row["scores"])]
        pos = [j for j in top_k(words, scores, k, exclude_punctuation, exclude_stopwords) if np.isfinite(scores[j])]
        out.append(_row(row["id"], words, pos))
    return out


#: Baselines of the answer-overlap table: k words drawn at random from the same input; for
#: multiple choice, from the choices' words; for math, from the input's numbers.
BASELINES = {"random words": None, "random choice words": "mc", "random numbers": "math"}


def baseline_positions(row: dict, k: int, kind: str, seed: int, exclude_punctuation: bool = True,
                       exclude_stopwords: bool = False) -> list[int]:
    """k distinct eligible words of one example drawn at random (seeded per example) from the pool
    of a baseline: all words, the choices' words, or the numbers."""
    words = list(row["words"])
    if kind == "random words":
        pool = list(range(len(words)))
    elif kind == "random choice words":
        pool = [j for j, f in enumerate(row["word_field"]) if str(f).startswith("choice")]
    elif kind == "random numbers":
        pool = [j for j, w in enumerate(words) if _is_number(w)]
    else:
        raise ValueError(f"unknown baseline {kind!r}; expected one of {sorted(BASELINES)}")
    return _drawn(row, pool, k, seed, exclude_punctuation, exclude_stopwords)


def field_positions(row: dict, k: int, field: str, seed: int, exclude_punctuation: bool = True,
                    exclude_stopwords: bool = False) -> list[int]:
    """k distinct eligible words of one input field (``question``) drawn at random, seeded per example."""
    pool = [j for j, f in enumerate(row["word_field"]) if f == field]
    return _drawn(row, pool, k, seed, exclude_punctuation, exclude_stopwords)


def _drawn(row: dict, pool: list[int], k: int, seed: int, exclude_punctuation: bool, exclude_stopwords: bool) -> list[int]:
    """The first k eligible words of ``pool`` in an order drawn at random, seeded per example."""
    order = [pool[j] for j in np.random.default_rng(_seed(seed, row["id"])).permutation(len(pool))]
    return first_k(list(row["words"]), order, k, exclude_punctuation, exclude_stopwords)


def _is_number(word: str) -> bool:
    try:
        float(word.replace(",", ""))
        return True
    except ValueError:
        return False


def answer_overlap(attributions: list[dict], labels: dict[str, str], ks: Sequence[int],
                   exclude_punctuation: bool = True, exclude_stopwords: bool = False,
                   baseline: str | None = None, seed: int = 0) -> list[dict]:
    """Per k: share of examples with at least one top-k word in the gold answer, and share of top-k
    words that are.  ``baseline``: the k words are drawn at random instead (see ``BASELINES``)."""
    out = []
    for k in ks:
        hit_ex, hit_words, n_words = 0, 0, 0
        for row in attributions:
            ans = answer_words(labels[row["id"]])
            if baseline is None:
                pos = top_k(list(row["words"]), list(row["scores"]), k, exclude_punctuation, exclude_stopwords)
            else:
                pos = baseline_positions(row, k, baseline, seed, exclude_punctuation, exclude_stopwords)
            hits = [in_answer(row["words"][j], ans) for j in pos]
            hit_ex += any(hits)
            hit_words += sum(hits)
            n_words += len(pos)
        n = max(1, len(attributions))
        out.append({"k": int(k), "examples_with_answer_word": hit_ex / n,
                    "topk_words_in_answer": hit_words / max(1, n_words), "n": len(attributions)})
    return out
