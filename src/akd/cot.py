"""The teacher's own chain of thought (the ``cot`` variant: DSS with any teacher), torch-free.

A few-shot prompt in the form of DSS's PaLM prompts: each demonstration is the student's input
after ``Q:``, then ``A:``, a rationale and the answer sentence (``So the answer is (c) wooded
area.`` for multiple choice, ``So the answer is neutral.`` for NLI, ``The answer is ( 84.0 / 2.0 ).``
for math); the example's input follows, after ``Q:``, and ``A:`` starts the teacher's turn.

Demonstrations come from the config (``input``, ``rationale``, ``answer`` each) or, for the DSS
datasets, from training rows with a PaLM rationale whose PaLM answer is the gold label (seeded,
never the example itself).  An output is read as the DSS source reads PaLM's
(:func:`akd.sources.dss.parse_llm_output`: cut before an invented next question, rationale before
the answer sentence); when that finds no answer, as the teacher's generated answers are read
(:func:`akd.answers.parse_answer` on the text after its last "answer is"); an output with no answer
in the label space is unparsed and left out.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Sequence

from .answers import parse_answer
from .sources.dss import parse_llm_output
from .tasks import CHOICE_LETTERS

_CUT = re.compile(r"\n\s*(?:Q:|Premise:)")


@dataclass(frozen=True)
class Demo:
    input: str
    rationale: str
    answer: str  # in the label space (a choice's text, an NLI label, an equation)


def answer_sentence(task: str, answer: str, choices: Sequence[str] = ()) -> str:
    """How a demonstration states its answer (the form the parser reads back)."""
    if task == "mc":
        letter = CHOICE_LETTERS[list(choices).index(answer)] if answer in choices else None
        return f"So the answer is ({letter}) {answer}." if letter else f"So the answer is {answer}."
    if task == "math":
        return f"The answer is {answer}."
    return f"So the answer is {answer}."


def demos_from_rows(rows: Sequence[dict], n: int, seed: int, exclude: str | None = None) -> list[tuple[Demo, list]]:
    """``n`` demonstrations drawn (seeded) from training rows whose LLM rationale exists and whose
    LLM answer is the gold label; with the row's choices (for the answer sentence)."""
    usable = [r for r in rows if r.get("llm_rationale") and r.get("llm_label") == r["label"] and r["id"] != exclude]
    rng = random.Random(seed)
    picked = rng.sample(usable, min(n, len(usable)))
    return [(Demo(r["input"], r["llm_rationale"].strip(), r["label"]), list(r.get("choices") or [])) for r in picked]


def cot_prompt(task: str, text: str, demos: Sequence[tuple[Demo, list]]) -> str:
    """The few-shot prompt for one example's input ``text``."""
    parts = [f"Q: {d.input}\nA: {d.rationale} {answer_sentence(task, d.answer, c)}\n\n" for d, c in demos]
    return "".join(parts) + f"Q: {text}\nA:"


def parse_cot(task: str, output: str, choices: Sequence[str] = ()) -> tuple[str, str | None]:
    """(rationale, answer in the label space or None) of one generated chain of thought."""
    text = (output or "").strip()
    m = _CUT.search(text)
    if m:  # the model went on to invent the next question
        text = text[: m.start()].strip()
    rationale, answer = parse_llm_output(task, text, list(choices) or None)
    if answer is not None and task == "mc" and choices and answer not in choices:
        answer = parse_answer("mc", answer, choices)  # "So the answer is wooded area" with other wording
    if answer is None:
        answer = parse_answer(task, text, choices)
        if answer is not None:  # the rationale: what precedes the last sentence that states the answer
            rationale = re.split(r"(?i)(?:so\s+)?(?:the\s+)?(?:final\s+)?answer\s*(?:is|:)", text)[0].strip() or text
    return rationale.strip(), answer
