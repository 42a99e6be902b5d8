"""Task families: how inputs are rendered, what labels look like, and how answers are scored.

Three families cover the paper's datasets: ``nli`` (e-SNLI, ANLI), ``mc`` (CommonsenseQA) and
``math`` (SVAMP).  A rendering is a list of pieces, each either template text (``None`` field) or
an example field, so that the character span of every field inside the rendered text is known:
attribution lets only the example's own text compete.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass

TASKS = ("nli", "mc", "math")
NLI_LABELS = ("entailment", "neutral", "contradiction")
CHOICE_LETTERS = "abcdefghij"
PREFIX_LABEL = "predict: "
PREFIX_RATIONALE = "explain: "


@dataclass(frozen=True)
class Rendered:
    text: str
    #: (field name, start, end) of every field occurrence inside ``text``
    spans: tuple[tuple[str, int, int], ...]


def _join(pieces: list[tuple[str | None, str]]) -> Rendered:
    text, spans, pos = [], [], 0
    for field, piece in pieces:
        if field is not None:
            spans.append((field, pos, pos + len(piece)))
        text.append(piece)
        pos += len(piece)
    return Rendered("".join(text), tuple(spans))


def render(task: str, fields: dict[str, str], style: str = "dss", eos: str = "</s>") -> Rendered:
    """Render an example's fields.

    ``dss`` is the student input exactly as Distilling Step-by-Step builds it; ``prompt`` is a
    zero-shot instruction for an instruction-tuned teacher such as Flan-T5.  Choices are stored as
    one field per choice (``choice0`` ...) so each can be located.
    """
    if task == "nli":
        p, h = fields["premise"], fields["hypothesis"]
        if style == "dss":  # DSS: tokenizer.eos_token.join([premise, hypothesis]), no spaces
            return _join([("premise", p), (None, eos), ("hypothesis", h)])
        return _join(
            [
                (None, "Premise: "),
                ("premise", p),
                (None, "\nHypothesis: "),
                ("hypothesis", h),
                (None, "\nDoes the premise entail the hypothesis? Options: entailment, neutral, contradiction.\nAnswer:"),
            ]
        )
    if task == "mc":
        choices = [fields[k] for k in sorted((k for k in fields if k.startswith("choice")), key=lambda k: int(k[6:]))]
        pieces: list[tuple[str | None, str]] = []
        if style != "dss":
            pieces.append((None, "Question: "))
        pieces += [("question", fields["question"]), (None, "\nAnswer Choices:")]
        for i, c in enumerate(choices):
            pieces += [(None, f"\n({CHOICE_LETTERS[i]}) "), (f"choice{i}", c)]
        if style != "dss":
            pieces.append((None, "\nAnswer:"))
        return _join(pieces)
    if task == "math":
        if style == "dss":
            return _join([("question", fields["question"])])
        return _join(
            [
                (None, "Write an equation that answers the question.\n"),
                ("question", fields["question"]),
                (None, "\nEquation:"),
            ]
        )
    raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")


def fields_dict(fields: list[dict] | list) -> dict[str, str]:
    return {f["name"]: f["text"] for f in fields}


# --------------------------------------------------------------------------- labels and scoring

def normalise(text: str) -> str:
    text = text.strip().lower()
    text = re.sub(r"\s+", " ", text)
    return text.rstrip(".").strip()


class UnsafeExpression(ValueError):
    pass


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def safe_arithmetic(expr: str) -> float:
    """Evaluate numbers, + - * / and parentheses; anything else raises, nothing is executed."""
    expr = expr.replace("×", "*").replace("÷", "/").strip()
    if len(expr) > 500:
        raise UnsafeExpression("expression too long")
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as e:
        raise UnsafeExpression(f"not an arithmetic expression: {expr!r}") from e

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return float(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        raise UnsafeExpression(f"not allowed in an equation: {ast.dump(node)[:60]}")

    try:
        return ev(tree)
    except ZeroDivisionError as e:
        raise UnsafeExpression("division by zero") from e


def label_space(task: str, choices) -> list[str] | None:
    """The answers an example can have: its choices (mc), the three NLI labels, none for math."""
    if task == "mc":
        return [str(c) for c in choices]
    return list(NLI_LABELS) if task == "nli" else None


def is_correct(task: str, prediction: str, label: str) -> bool:
    """Exact match after normalisation; equations are compared by value."""
    if task == "math":
        try:
            p, g = safe_arithmetic(prediction), safe_arithmetic(label)
        except (UnsafeExpression, OverflowError):
            return False
        return math.isclose(p, g, rel_tol=1e-6, abs_tol=1e-6)
    return normalise(prediction) == normalise(label)


def dss_correct(task: str, prediction: str, label: str) -> bool:
    """Correct as DSS's metrics count it (``compute_text_acc`` / ``compute_equation_acc``): the
    prediction string equal to the label string, no normalisation; equations by the exact equality
    of their values (an expression that does not evaluate is never correct)."""
    if task == "math":
        try:
            return safe_arithmetic(prediction) == safe_arithmetic(label)
        except (UnsafeExpression, OverflowError, ZeroDivisionError):
            return False
    return prediction == label


def tokenizer_corpus(examples) -> list[str]:
    """The texts a tiny model's tokenizer is trained on: every example's input, prompt and label (and
    LLM rationale), the student's task prefixes and the NLI label words (so they are never split
    into unknown pieces)."""
    texts: list[str] = []
    for e in examples:
        fields = fields_dict(e["fields"])
        texts += [e["input"], render(e["task"], fields, "prompt").text, e["label"]]
        if isinstance(e.get("llm_rationale"), str):
            texts.append(e["llm_rationale"])
    texts.append(f"{PREFIX_LABEL}{PREFIX_RATIONALE}" + " ".join(NLI_LABELS))
    return texts
