"""Faithfulness of a rationale to the teacher (ERASER, DeYoung et al. 2020).

For one example, its prompt, the answer the teacher gave and a set of the example's words (a top-k
rationale, or k random words as the reference):

- *comprehensiveness* = m(x)_j - m(x \\ r)_j: how much the answer needs the words (near 1: without
  them the teacher no longer gives it; near 0: it does not care);
- *sufficiency* = m(x)_j - m(r)_j: how far they alone fall short (near 0: they suffice);

where m(.)_j is ERASER's probability of the predicted class j.  For a teacher that ranks its answer
over the label space that is the class distribution over the candidates it ranked: the softmax of
their summed log-probabilities (each answer's probability, renormalised over the label space;
whichever rule, ``teacher.normalise``, chose j: a per-character score is a decision rule, not a
probability), recomputed on every edited prompt, so mass that leaves every label string does not
count.  For a generated answer (math: no label space) it is the probability of the whole
continuation (exp of its summed log-probability, the quantity attribution explains).  Words are
deleted from the example's own fields only (instruction, choice markers and chat markup stay),
spaces around a deleted word collapse to one.  The edited prompts are scored in batches by
``score`` (default: :func:`akd.scoring.rank` on the teacher, the prompt cut as its answer's was).
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

import numpy as np

from .tasks import Rendered

#: ``score(prompts, continuations per prompt) -> per prompt, (summed log-probability, token count)
#: of each of its continuations`` (:func:`akd.scoring.rank`'s result)
Scorer = Callable[[Sequence[str], Sequence[Sequence[str]]], list]


def edited(prompt: Rendered, row: dict, chosen: Sequence[int], keep_only: bool) -> str:
    """The prompt with the chosen words (positions in the attribution ``row``) deleted from the
    example's fields, or (``keep_only``) with only them left there, joined by single spaces."""
    chosen = set(int(i) for i in chosen)
    by_field: dict[str, list[tuple[int, int, bool]]] = {}
    for i, (field, a, b) in enumerate(zip(row["word_field"], row["word_start"], row["word_end"])):
        by_field.setdefault(field, []).append((int(a), int(b), i in chosen))
    text = prompt.text
    for field, start, end in sorted(prompt.spans, key=lambda s: -s[1]):  # right to left: spans stay valid
        own = text[start:end]
        words = sorted(by_field.get(field, []))
        if keep_only:
            new = " ".join(own[a:b] for a, b, c in words if c)
        else:
            pieces, pos = [], 0
            for a, b, c in words:
                if c:
                    pieces.append(own[pos:a])
                    pos = b
            pieces.append(own[pos:])
            new = re.sub(r"[ \t]{2,}", " ", "".join(pieces)).strip(" \t")
        text = text[:start] + new + text[end:]
    return text


def model_scorer(model, tokenizer, batch_size: int = 16, max_input_tokens: int = 1024,
                 add_special_tokens: bool = True) -> Scorer:
    """A :data:`Scorer` from a model: the candidates' log-probabilities after each prompt, batched."""
    from .scoring import rank

    def score(prompts: Sequence[str], continuations: Sequence[Sequence[str]]) -> list:
        return rank(model, tokenizer, prompts, continuations, batch_size, max_input_tokens, add_special_tokens,
                    desc="faithfulness", show_progress=False)

    return score


def class_probability(logprobs: np.ndarray, n_tokens: np.ndarray, continuations: Sequence[str], chosen: int,
                      normalise: str | None) -> float:
    """m(x)_j: the teacher's probability of the chosen candidate's class, the softmax of the
    candidates' summed log-probabilities over the label space (the probability of each answer's
    text, renormalised over the answers it could give), whatever rule (``normalise``: sum, tokens,
    chars) chose j; with ``normalise=None`` (one generated answer), exp of its summed log-probability."""
    if normalise is None:
        return float(np.exp(logprobs[chosen]))
    z = np.asarray(logprobs, dtype=np.float64)
    z = z - z.max()
    return float(np.exp(z[chosen]) / np.exp(z).sum())


def probabilities(score: Scorer, texts: Sequence[str], candidates: Sequence[Sequence[str]],
                  chosen: Sequence[int], normalise: str | None = "sum") -> np.ndarray:
    """m(.)_j of each prompt in ``texts`` (see :func:`class_probability`), scored in one batch run."""
    ranked = score(list(texts), list(candidates))
    return np.array([class_probability(lp, nt, cs, j, normalise)
                     for (lp, nt), cs, j in zip(ranked, candidates, chosen)], dtype=np.float64)


def faithfulness(score: Scorer, prompts: Sequence[Rendered], candidates: Sequence[Sequence[str]],
                 chosen: Sequence[int], rows: Sequence[dict], words: Sequence[Sequence[int]],
                 normalise: str | None = "sum", full: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per example: m of the answer with the full prompt, without the chosen ``words``, with only
    them, and comprehensiveness and sufficiency (see the module's docstring).  ``candidates[i]``:
    the continuations the teacher ranked (``chosen[i]`` its answer's index), or the one generated
    answer with ``normalise=None``.  ``full``: m of the unedited prompts when already scored (one
    scoring serves every word set of the same examples); else they are scored with the edits."""
    sets = ([] if full is not None else [[p.text for p in prompts]]) + [
        [edited(p, r, c, keep) for p, r, c in zip(prompts, rows, words)] for keep in (False, True)]
    m = probabilities(score, sum(sets, []), list(candidates) * len(sets), list(chosen) * len(sets), normalise)
    m = m.reshape(len(sets), len(prompts))
    full = m[0] if full is None else np.asarray(full, dtype=np.float64)
    without, only = m[-2], m[-1]
    return {"p_full": full, "p_without": without, "p_only": only,
            "comprehensiveness": full - without, "sufficiency": full - only}


def answer_space(pred: dict, target: str) -> tuple[list[str], int]:
    """The continuations to rank for one example (a PREDICTIONS row) and the index of the attributed
    ``target`` among them: the candidates the teacher ranked, or the generated answer alone."""
    got = pred.get("candidate_targets")
    cands = [str(c) for c in got] if got is not None else []
    if not cands:
        return [target], 0
    if target not in cands:
        raise ValueError(f"example {pred.get('id')!r}: the attributed answer {target!r} is not one of its candidates")
    return cands, cands.index(target)
