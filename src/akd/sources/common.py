"""Helpers shared by the sources: turning raw fields into an example row."""

from __future__ import annotations

import json
import numbers
from pathlib import Path
from typing import Iterator, Sequence

from ..errors import AkdError
from ..tasks import NLI_LABELS, UnsafeExpression, render, safe_arithmetic


class DataError(AkdError, ValueError):
    """Bad input data; the message names the file and line."""


def read_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line of a UTF-8 file (a leading byte-order mark is dropped); a line
    that is not UTF-8 is an error naming the file, line and byte."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"{path}:{lineno}: not UTF-8 text (byte {raw[e.start]:#04x} at column {e.start + 1}); "
                                "save the file as UTF-8") from None
            yield lineno, text.removeprefix("\ufeff") if lineno == 1 else text


def read_text(path: str | Path) -> str:
    """A UTF-8 file's text (see :func:`read_lines`)."""
    return "".join(line for _, line in read_lines(path))


def text_or_none(value) -> str | None:
    """A rationale cell as text: a non-blank string, else None (NaN, null, a number, an empty string)."""
    return value if isinstance(value, str) and value.strip() else None


def read_jsonl(path: Path) -> list[dict]:
    """The rows of a JSON Lines file, each with ``_where`` (file:line); errors name the line."""
    rows = []
    for lineno, line in read_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{lineno}: not valid JSON ({e.msg} at column {e.colno})") from e
        if not isinstance(row, dict):
            raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
        row["_where"] = f"{path}:{lineno}"
        rows.append(row)
    if not rows:
        raise DataError(f"{path}: the file holds no examples")
    return rows


def nli_label(value, where: str) -> str:
    """An NLI label given as 0/1/2 (entailment, neutral, contradiction) or as the word."""
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        if float(value).is_integer() and int(value) in (0, 1, 2):
            return NLI_LABELS[int(value)]
        hint = " (-1 marks a row without a gold label, as in SNLI: leave such rows out)" if value == -1 else ""
        raise DataError(f"{where}: NLI label {value!r} is not 0/1/2 or one of {NLI_LABELS}{hint}")
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
    if task == "mc":
        if len(choices) < 2:
            raise DataError(f"{where}: a multiple-choice example needs at least two choices, got {list(choices)}")
        bad = [c for c in choices if not isinstance(c, str) or not c.strip()]
        if bad:
            raise DataError(f"{where}: choice {bad[0]!r} is empty or not text (choices {list(choices)})")
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
        "_where": where,  # for checks across rows (prepare drops it: it is not a column)
        "id": str(ex_id),
        "task": task,
        "fields": [{"name": k, "text": v} for k, v in fields.items()],
        "input": render(task, fields, "dss").text,
        "label": label,
        "choices": list(choices),
        "llm_rationale": llm_rationale,
        "llm_label": llm_label,
    }


def choice_index(label, choices: Sequence[str], where: str) -> str:
    """A label given as a choice index (0-based) -> the choice; an index outside the choices is an error."""
    if isinstance(label, bool) or not float(label).is_integer():
        raise DataError(f"{where}: label {label!r} is not a choice index")
    i = int(label)
    if not 0 <= i < len(choices):
        raise DataError(f"{where}: label {i} is not a choice index: there are {len(choices)} choices (0 to {len(choices) - 1})")
    return choices[i]


def mc_fields(question: str, choices: Sequence[str]) -> dict[str, str]:
    out = {"question": question}
    out.update({f"choice{i}": c for i, c in enumerate(choices)})
    return out
