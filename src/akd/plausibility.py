"""Plausibility of a rationale: how far the teacher's top-k words agree with a person's rationale
for the same example, as ERASER's token-level precision / recall / F1 (DeYoung et al. 2020),
torch-free.

Both rationales are sets of word *positions* of one example (indices into the words of its
attribution row, :func:`akd.attribution.split_words`), never sets of word types: a top-k word
taken from a choice of a CQA question is a miss even when the same word lies in the CoS-E span of
the question.

* The predicted rationale: the positions the top-k words were taken from (the rationales file's
  ``positions``, :func:`akd.rationales.top_k`: for each of the k distinct words, the occurrence
  that made it chosen).  Punctuation is never scored (:func:`predicted`), as before.
* The human rationale (:func:`human_positions`), punctuation left out too:

  - CoS-E (CQA, ``extractive_explanation``): a lower-cased, whitespace-normalised copy of a span
    of the question.  It is located in the question field, case-insensitively: first as a run of
    whole words (the first occurrence when there are several), else as a substring of the
    question's whitespace-normalised text (CoS-E cuts some spans inside a word, "oilet and wash my
    hands": the words the substring overlaps); the positions found are the person's.  Where
    neither finds it, the fallback is the positions of the question words whose lower-cased form
    occurs among the span's words (counted: the table's ``human_proxy``).  Positions in the
    choices are never the person's.  On DSS's cqa_train.json (9,741 questions): 9,540 whole-word
    runs (97.9%), 146 substrings cut inside a word (1.5%), 55 fallbacks (0.6%; e.g. two pieces
    joined, "thoughbut it was entirely what"); 21 have no scored position at all (e.g. "{}").
  - e-SNLI (``explanation_1``, free text; the DSS release has no highlight marks): the positions
    of the premise and hypothesis words whose lower-cased form occurs in the explanation, a proxy
    for the words people highlighted (every example counts in ``human_proxy``).

Averaging follows ERASER's token-level hard-rationale scores (``rationale_benchmark/metrics.py``,
``score_hard_rationale_predictions`` on rationales split to single tokens, ``token_prf``), the
``instance_macro`` entry, which is what evaluations built on ERASER's script report as "Token F1":
per instance P = |pred & truth| / |pred| (0 when pred is empty), R = |pred & truth| / |truth| (0
when truth is empty), F1 = 2PR / (P + R) (0 when P or R is 0); then the *mean over instances* of
P, of R and of F1 (macro: the mean of the instances' F1, not the F1 of the mean P and R; not
``instance_micro``, which pools the counts over all instances).  An example whose person's
positions are empty scores 0, 0, 0 and is kept in the means, as ERASER keeps an instance with
predictions and no truth.  One instance here is one example; ERASER keys an instance by
(annotation, document), which for CoS-E (one document, the question) is the same, and for e-SNLI
would score premise and hypothesis apart.  A top-k position in a choice is a miss of its example
(ERASER's CoS-E document holds only the question, so a model there cannot point at a choice).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from .words import WORD, eligible

#: How the human positions of an example were found: a located span, or matching word forms.
SPAN, PROXY = "span", "proxy"


def _scored(word: str) -> bool:
    return eligible(word, True, False)  # punctuation never scores; stopwords do, on both sides


def predicted(words: Sequence[str], positions: Iterable[int]) -> set[int]:
    """The scored positions of a predicted rationale (punctuation left out)."""
    return {int(j) for j in positions if _scored(words[int(j)])}


def span_field(fields: Sequence[str]) -> str | None:
    """The field an extractive human rationale is a span of: the question of a multiple-choice
    example (CoS-E), else None (a free-text explanation, e-SNLI)."""
    names = set(fields)
    return "question" if "question" in names and any(str(f).startswith("choice") for f in names) else None


def human_positions(row: dict, rationale: str) -> tuple[set[int], str]:
    """(the positions of a person's rationale in one example, SPAN or PROXY); ``row``: an
    attribution row (``words``, ``word_field``, ``word_start``, ``word_end``); see the module."""
    words, fields = list(row["words"]), list(row["word_field"])
    field = span_field(fields)
    pool = [j for j, f in enumerate(fields) if field is None or f == field]
    if field is not None:
        found = _located(words, list(row["word_start"]), list(row["word_end"]), pool, rationale or "")
        if found is not None:
            return {j for j in found if _scored(words[j])}, SPAN
    types = {w.lower() for w in WORD.findall(rationale or "") if _scored(w)}
    return {j for j in pool if _scored(words[j]) and words[j].lower() in types}, PROXY


def _located(words: list[str], starts: list[int], ends: list[int], pool: list[int], span: str) -> list[int] | None:
    """The positions (of ``pool``, one field's words in order) a span covers: first as a run of
    whole words, else as a substring of the field's whitespace-normalised text (a span cut inside a
    word: the words it overlaps); None when neither finds it."""
    theirs = [w.lower() for w in WORD.findall(span)]
    mine = [words[j].lower() for j in pool]
    n = len(theirs)
    for s in range(len(mine) - n + 1) if n else ():
        if mine[s:s + n] == theirs:
            return pool[s:s + n]
    text, at = "", []  # the field as words joined by one space where the original had any
    for i, j in enumerate(pool):
        if i and starts[j] > ends[pool[i - 1]]:
            text += " "
        at.append((len(text), len(text) + len(mine[i])))
        text += mine[i]
    needle = " ".join(span.lower().split())
    a = text.find(needle) if needle else -1
    if a < 0:
        return None
    b = a + len(needle)
    return [j for j, (x, y) in zip(pool, at) if x < b and y > a]


def token_prf(pred: set[int], truth: set[int]) -> tuple[float, float, float]:
    """ERASER's per-instance token precision, recall and F1 of two sets of positions."""
    hit = len(pred & truth)
    p = hit / len(pred) if pred else 0.0
    r = hit / len(truth) if truth else 0.0
    return p, r, (2 * p * r / (p + r) if p and r else 0.0)


def macro_prf(scores: Sequence[tuple[float, float, float]]) -> tuple[float, float, float]:
    """ERASER's instance-macro average: the means of the instances' P, R and F1 (NaN when none)."""
    if not scores:
        return math.nan, math.nan, math.nan
    n = len(scores)
    return tuple(sum(s[i] for s in scores) / n for i in range(3))  # type: ignore[return-value]
