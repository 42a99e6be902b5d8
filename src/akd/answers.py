"""Generated answers read into the task's label space (torch-free).

Real models answer in many forms: a choice letter with or without its text ("(d)", "d) blow
trumpet", "The answer is (d)."), NLI verdicts in words ("The premise entails the hypothesis.",
"False", "It is not possible to tell"), equations followed by their result ("10 + 45 = 55").
``parse_answer`` returns the answer in the label space, or ``None`` when the text holds none (the
row is then flagged as unparsed and never attributed).
"""

from __future__ import annotations

import re
from typing import Sequence

from .tasks import CHOICE_LETTERS, UnsafeExpression, normalise, safe_arithmetic

_ANSWER_IS = re.compile(r"(?:the\s+)?(?:final\s+|correct\s+)?answer\s*(?:is|:)\s*:?", re.IGNORECASE)


def _after_answer_is(text: str) -> str:
    """The text after the last "answer is" / "Answer:", when there is one."""
    hits = list(_ANSWER_IS.finditer(text))
    if hits and text[hits[-1].end():].strip():
        return text[hits[-1].end():]
    return text


def parse_answer(task: str, text: str, choices: Sequence[str] = ()) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return None
    if task == "mc":
        return parse_choice(text, choices)
    if task == "nli":
        return parse_nli(text)
    if task == "math":
        return parse_equation(text)
    raise ValueError(f"unknown task {task!r}")


# --------------------------------------------------------------------------- multiple choice

def parse_choice(text: str, choices: Sequence[str]) -> str | None:
    choices = list(choices)
    letters = CHOICE_LETTERS[: len(choices)]
    t = _after_answer_is(text).strip()
    low = t.lower()
    # a letter first: "(d)", "d)", "d.", "d:", "d", "(d) blow trumpet", "d blow trumpet"
    m = re.match(rf"^\(?([{letters}])\)?(?=$|[\s.):,])", low) if letters else None
    if m:
        i = letters.index(m.group(1))
        rest = normalise(low[m.end():].lstrip(").:, "))
        explicit = "(" in low[: m.end()] or low[m.end():m.end() + 1] in (")", ".", ":", ",") or not rest
        if explicit or rest.startswith(normalise(choices[i])):
            return choices[i]
    norm = normalise(low)
    for c in choices:  # the choice's text, exactly
        if norm == normalise(c):
            return c
    # the choice's text inside the answer: the earliest (the longest when several start there)
    found = []
    for c in choices:
        m = re.search(rf"(?<![\w]){re.escape(normalise(c))}(?![\w])", norm)
        if m:
            found.append((m.start(), -len(c), c))
    if found:
        return min(found)[2]
    m = re.search(rf"\(([{letters}])\)", low) if letters else None  # "(d)" anywhere
    if m:
        return choices[letters.index(m.group(1))]
    return None


# ----------------------------------------------------------------------------------------- NLI

_NLI_PATTERNS = (
    ("neutral", r"\bneutral\b|\bneither\b|\bundetermined\b|\bunknown\b|\bmaybe\b|\bpossibly\b|"
                r"cannot be (?:determined|inferred|concluded)|can't be (?:determined|inferred)|"
                r"not enough information|not possible to (?:tell|say|determine|know)|"
                r"impossible to (?:tell|say|determine|know)|\bit is unclear\b|\bnot necessarily\b"),
    ("contradiction", r"\bcontradict\w*|\bfalse\b|^no\b|\bincorrect\b"),
    ("entailment", r"\bentail(?:s|ed|ment)?\b|\btrue\b|^yes\b|\bcorrect\b|\bfollows from\b"),
)
_NOT_ENTAIL = re.compile(r"\b(?:not|n't|never)\s+(?:\w+\s+)?entail\w*", re.IGNORECASE)


def parse_nli(text: str) -> str | None:
    """The verdict mentioned first; "does not entail" alone decides nothing (neutral or contradiction)."""
    t = _NOT_ENTAIL.sub(" ", _after_answer_is(text).strip().lower())
    best: tuple[int, str] | None = None
    for label, pattern in _NLI_PATTERNS:
        m = re.search(pattern, t)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), label)
    return best[1] if best else None


# ---------------------------------------------------------------------------------------- math

_EXPR = re.compile(r"[-+]?[(\d.][\d.\s()+\-*/×÷x]*")
_OPS = re.compile(r"\d\s*[-+*/×÷x]\s*[(\d]")


def _clean(expr: str) -> str | None:
    """An arithmetic expression made valid (unmatched brackets dropped), or None."""
    e = expr.strip().rstrip(".").strip()
    e = re.sub(r"(?<=\d)\s*x\s*(?=[\d(])", " * ", e)  # "3 x 4"
    while e.count("(") > e.count(")") and e.startswith("("):
        e = e[1:].strip()
    while e.count(")") > e.count("(") and e.endswith(")"):
        e = e[:-1].strip()
    if not e or not re.search(r"\d", e):
        return None
    try:
        safe_arithmetic(e)
    except (UnsafeExpression, OverflowError, ValueError):
        return None
    return e


def parse_equation(text: str) -> str | None:
    """The equation a model wrote: the last expression with an operator ("10 + 45 = 55" gives
    "10 + 45"; in a chain of steps the last step holds the final value), else a lone number after
    "answer is" or "=", else the text when it is only a number."""
    after = _after_answer_is(text)
    t = re.sub(r"(?<=\d),(?=\d{3})", "", after).replace("$", "")
    exprs = [c for c in (_clean(m.group()) for m in _EXPR.finditer(t)) if c]
    with_ops = [e for e in exprs if _OPS.search(e)]
    if with_ops:
        return with_ops[-1]
    if after is not text or "=" in t:
        tail = t.split("=")[-1]
        nums = [c for c in (_clean(m.group()) for m in _EXPR.finditer(tail)) if c]
        if nums:
            return nums[0]
    only = _clean(t)
    return only
