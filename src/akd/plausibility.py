"""Plausibility of a rationale: how far the teacher's top-k words agree with a person's rationale
for the same example (ERASER, DeYoung et al. 2020), torch-free.

Words are compared as lower-cased word types, punctuation left out on both sides: *precision* is
the share of the top-k words that occur in the human rationale, *recall* the share of the human
rationale's words among the top-k, *F1* their harmonic mean.  The human rationales here are CoS-E's
extractive explanations (the words of the CQA question a person highlighted) and e-SNLI's free-text
explanations (their words that also occur in the input can be matched; the others lower recall
for every method alike).
"""

from __future__ import annotations

from typing import Sequence

from .words import WORD, eligible


def word_set(text: str) -> set[str]:
    """The lower-cased word types of a text, punctuation left out."""
    return {w.lower() for w in WORD.findall(text or "") if eligible(w, True, False)}


def agreement(chosen: Sequence[str], human: str) -> tuple[float, float, float]:
    """(precision, recall, F1) of the chosen words against a human rationale's words."""
    mine = {w.lower() for w in chosen if eligible(w, True, False)}
    theirs = word_set(human)
    if not mine or not theirs:
        return 0.0, 0.0, 0.0
    hit = len(mine & theirs)
    p, r = hit / len(mine), hit / len(theirs)
    return p, r, (2 * p * r / (p + r) if hit else 0.0)
