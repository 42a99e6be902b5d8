"""A student's answers to a split's inputs: generated (greedy), or ranked over each example's
label space (``answer: rank``); the same in validation and test."""

from __future__ import annotations

from typing import Sequence

from .generation import generate
from .scoring import ranked_answers

HOW = ("generate", "rank")


def answers(model, tokenizer, prompts: Sequence[str], spaces: Sequence[Sequence[str] | None], how: str = "generate",
            normalise: str = "sum", batch_size: int = 64, max_new_tokens: int = 64, max_input_tokens: int = 1024,
            show_progress: bool = True, truncation: str = "right") -> list[str]:
    """``how="generate"``: the greedy generated text; ``"rank"``: the entry of ``spaces[i]`` (the
    example's choices, or the NLI labels) the model gives the highest log-probability as the
    prompt's continuation, normalised as :func:`akd.scoring.choose` says.  A longer input keeps its
    start (``right``, as a student trains) or its end (``left``, the teacher's prompt)."""
    if how not in HOW:
        raise ValueError(f"answer must be one of {HOW}, got {how!r}")
    if how == "rank":
        if any(s is None for s in spaces):
            raise ValueError("answer: rank needs every example's label space (nli or mc; math answers are generated)")
        return ranked_answers(model, tokenizer, prompts, spaces, normalise, batch_size, max_input_tokens, show_progress,
                              truncation)
    return generate(model, tokenizer, prompts, batch_size, max_new_tokens, max_input_tokens, desc="evaluate",
                    show_progress=show_progress, truncation=truncation)
