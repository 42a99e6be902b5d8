"""The teacher's own chain of thought (the ``cot`` variant: DSS with any teacher), torch-free.

A few-shot prompt in the form of DSS's PaLM prompts: each demonstration is the student's input
after ``Q:``, then ``A:``, a rationale and the answer sentence (``So the answer is (c) wooded
area.`` for multiple choice, ``So the answer is neutral.`` for NLI, ``The answer is ( 84.0 / 2.0 ).``
for math); the example's input follows, after ``Q:``, and ``A:`` starts the teacher's turn.

Demonstrations come from the config (``input``, ``rationale``, ``answer`` each) or, for the DSS
datasets, from training rows with a PaLM rationale whose PaLM answer is the gold label (file and hub
data: rows with a rationale of their own), seeded, never the example itself.  An output is read as
the DSS source reads PaLM's (:func:`akd.sources.dss.parse_llm_output`: cut before an invented next question, rationale before
the answer sentence; when the sentence's letter names one choice and its text exactly another,
the text); when that finds no answer, as the teacher's generated answers are read
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
from .tasks import CHOICE_LETTERS, fields_dict

_CUT = re.compile(r"\n\s*Q:")


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


def question(row: dict) -> str:
    """An example as a question after ``Q:``: the student's input, except NLI, which reads
    ``Premise: ...`` and ``Hypothesis: ...`` on two lines (DSS's form for the student keeps a
    ``</s>`` between them)."""
    if row["task"] == "nli":
        fields = fields_dict(row["fields"])
        return f"Premise: {fields['premise']}\nHypothesis: {fields['hypothesis']}"
    return row["input"]


def usable_rows(rows: Sequence[dict]) -> list[dict]:
    """Training rows that can demonstrate: an LLM rationale whose LLM answer is the gold label."""
    return [r for r in rows if r.get("llm_rationale") and r.get("llm_label") == r["label"]]


def demos_from_rows(rows: Sequence[dict], n: int, seed: int, exclude: str | None = None,
                    usable: Sequence[dict] | None = None) -> list[tuple[Demo, list]]:
    """``n`` demonstrations drawn (seeded) from the usable training rows (:func:`usable_rows`,
    given or computed), never ``exclude``; with each row's choices (for the answer sentence)."""
    usable = usable_rows(rows) if usable is None else usable
    rng = random.Random(seed)
    picked = [r for r in rng.sample(list(usable), min(n + 1, len(usable))) if r["id"] != exclude][:n]
    return [(Demo(question(r), r["llm_rationale"].strip(), r["label"]), choices_of(r)) for r in picked]


def choices_of(row: dict) -> list[str]:
    """A row's choices as a list (a Parquet row holds an array; none outside multiple choice)."""
    c = row.get("choices")
    return [] if c is None else [str(x) for x in c]


def config_demos(entries: Sequence[dict]) -> list[tuple[Demo, list]]:
    """Demonstrations written in the config: ``input``, ``rationale``, ``answer`` (and ``choices``
    for multiple choice, so the answer sentence names its letter)."""
    return [(Demo(e["input"], e["rationale"].strip(), e["answer"]), list(e.get("choices") or [])) for e in entries]


def example_seed(seed: int, ex_id: str) -> int:
    """A seed per example (its demonstrations), stable across runs and shards."""
    import zlib

    return (int(seed) * 1_000_003 + zlib.crc32(str(ex_id).encode())) % (2**32)


def cot_prompt(task: str, text: str, demos: Sequence[tuple[Demo, list]]) -> str:
    """The few-shot prompt for one example's input ``text``."""
    parts = [f"Q: {d.input}\nA: {d.rationale} {answer_sentence(task, d.answer, c)}\n\n" for d, c in demos]
    return "".join(parts) + f"Q: {text}\nA:"


_LETTER_THEN_TEXT = re.compile(r"answer is\s*\(([a-e])\)\s*([^\n]*?)\s*\.?\s*$", re.I)


def _stated_choice(text: str, choices: Sequence[str]) -> str | None:
    """The choice an answer sentence names by its text when its letter names another one ("So the
    answer is (c) math problem." where (c) is garden center: a small model's letter slips, the text
    is what its rationale argued for); None when they agree or the text is no choice."""
    m = _LETTER_THEN_TEXT.search(text)
    if not m or not m.group(2):
        return None
    said = m.group(2).strip().lower()
    named = [c for c in choices if c.strip().lower() == said]
    i = CHOICE_LETTERS.index(m.group(1).lower())
    return named[0] if named and (i >= len(choices) or named[0] != choices[i]) else None


def parse_cot(task: str, output: str, choices: Sequence[str] = ()) -> tuple[str, str | None]:
    """(rationale, answer in the label space or None) of one generated chain of thought."""
    text = (output or "").strip()
    m = _CUT.search(text)
    if m:  # the model went on to invent the next question
        text = text[: m.start()].strip()
    rationale, answer = parse_llm_output(task, text, list(choices) or None)
    if answer is not None and task == "mc" and choices:
        if answer not in choices:
            answer = parse_answer("mc", answer, choices)  # "So the answer is wooded area" with other wording
        else:
            answer = _stated_choice(text, choices) or answer
    if answer is None:
        answer = parse_answer(task, text, choices)
        if answer is not None:  # the rationale: what precedes the statement of the answer
            parts = re.split(r"(?i)(?:so\s+)?(?:the\s+)?(?:final\s+)?answer\s*(?:is|:)", text)
            lines = text.splitlines()
            # no "answer is": the answer stands on the last line, the rationale (if any) before it
            rationale = parts[0] if len(parts) > 1 else "\n".join(lines[:-1])
    return rationale.strip(), answer
