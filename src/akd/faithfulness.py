"""Faithfulness of a rationale to the teacher (ERASER, DeYoung et al. 2020).

For one example, its prompt, the answer the teacher gave (the exact continuation that was
attributed) and a set of the example's words (a top-k rationale, or k random words as the
reference):

- *comprehensiveness* = p(answer | prompt) - p(answer | prompt with those words deleted): how much
  the answer needs them (near 1: without them the teacher no longer gives it; near 0: it does not
  care);
- *sufficiency* = p(answer | prompt) - p(answer | prompt with only those words left of the
  example's own text): how far they alone fall short (near 0: they suffice).

p is the probability of the whole continuation (exp of its summed log-probability), the same
quantity attribution explains.  Words are deleted from the example's own fields only (instruction,
choice markers and chat markup stay), spaces around a deleted word collapse to one.  The probabilities
of the edited prompts are computed in batches by ``score`` (default: :func:`akd.scoring.rank` on
the teacher: the prompt encoded once, each edited prompt in length-sorted batches).
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

import numpy as np

from .tasks import Rendered

#: ``score(prompts, continuations) -> summed log-probability of each continuation after its prompt``
Scorer = Callable[[Sequence[str], Sequence[str]], np.ndarray]


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
    """A :data:`Scorer` from a model: each prompt's continuation log-probability, batched."""
    from .scoring import rank

    def score(prompts: Sequence[str], continuations: Sequence[str]) -> np.ndarray:
        ranked = rank(model, tokenizer, prompts, [[c] for c in continuations], batch_size, max_input_tokens,
                      add_special_tokens, desc="faithfulness", show_progress=False)
        return np.array([lp[0] for lp, _ in ranked], dtype=np.float64)

    return score


def faithfulness(score: Scorer, prompts: Sequence[Rendered], targets: Sequence[str], rows: Sequence[dict],
                 chosen: Sequence[Sequence[int]]) -> dict[str, np.ndarray]:
    """Per example: p of the answer with the full prompt, without the chosen words, with only them,
    and comprehensiveness and sufficiency (see the module's docstring)."""
    n = len(prompts)
    texts = ([p.text for p in prompts] + [edited(p, r, c, False) for p, r, c in zip(prompts, rows, chosen)]
             + [edited(p, r, c, True) for p, r, c in zip(prompts, rows, chosen)])
    p = np.exp(score(texts, list(targets) * 3))
    full, without, only = p[:n], p[n: 2 * n], p[2 * n:]
    return {"p_full": full, "p_without": without, "p_only": only,
            "comprehensiveness": full - without, "sufficiency": full - only}
