"""Helpers shared by the sources: turning raw fields into an example row."""

from __future__ import annotations

from typing import Sequence

from ..tasks import NLI_LABELS, UnsafeExpression, render, safe_arithmetic


class DataError(ValueError):
    """Bad input data; the message names the file and line."""


def nli_label(value, where: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and int(value) in (0, 1, 2):
        return NLI_LABELS[int(value)]
    if isinstance(value, str) and value.strip().isdigit() and int(value) in (0, 1, 2):
        return NLI_LABELS[int(value)]
    if isinstance(value, str) and value.strip().lower() in NLI_LABELS:
        return value.strip().lower()
    raise DataError(f"{where}: NLI label {value!r} is not 0/1/2 or one of {NLI_LABELS}")


def make_example(
    ex_id: str,
    task: str,
    fields: dict[str, str],
    label: str,
    choices: Sequence[str] = (),
    llm_rationale: str | None = None,
    llm_label: str | None = None,
    where: str = "",
) -> dict:
    for name, text in fields.items():
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where}: field {name!r} is empty or not text ({text!r})")
    if not isinstance(label, str) or not label.strip():
        raise DataError(f"{where}: the label is empty ({label!r})")
    if task == "mc" and label not in choices:
        raise DataError(f"{where}: label {label!r} is not one of the choices {list(choices)}")
    if task == "nli" and label not in NLI_LABELS:
        raise DataError(f"{where}: label {label!r} is not one of {NLI_LABELS}")
    if task == "math":
        try:
            safe_arithmetic(label)
        except (UnsafeExpression, OverflowError, ValueError) as e:
            raise DataError(f"{where}: label {label!r} is not a number or an equation of numbers, + - * / "
                            f"and parentheses ({e})") from None
    return {
        "id": str(ex_id),
        "task": task,
        "fields": [{"name": k, "text": v} for k, v in fields.items()],
        "input": render(task, fields, "dss").text,
        "label": label,
        "choices": list(choices),
        "llm_rationale": llm_rationale,
        "llm_label": llm_label,
    }


def mc_fields(question: str, choices: Sequence[str]) -> dict[str, str]:
    out = {"question": question}
    out.update({f"choice{i}": c for i, c in enumerate(choices)})
    return out
