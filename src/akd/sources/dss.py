"""The Distilling Step-by-Step release layout (``unzip datasets.zip``), read as is.

``{root}/{name}/{name}_{split}.json`` is JSON Lines; ``{root}/{name}/llm/{split}_CoT_{i}.json`` are
JSON arrays of raw PaLM-540B outputs which, concatenated in numeric order of ``i``, line up with the
split's rows.  Each output runs on into invented follow-up examples, which are cut off here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .common import DataError, make_example, mc_fields, nli_label, read_jsonl, read_text

#: The human rationales a DSS dataset carries (its column): CoS-E's extractive explanation (the
#: highlighted words of the question) for CQA, the first annotator's explanation for e-SNLI.
HUMAN_RATIONALES = {"cqa": "extractive_explanation", "esnli": "explanation_1"}

_MC_ANSWER = re.compile(r"So the answer is\s*(?:\(([a-e])\))?\s*(.*)$", re.S)
_MATH_ANSWER = re.compile(r"The answer is\s*(.*)$", re.S)
_NLI_ANSWER = re.compile(r"So the answer is\s*(.*)$", re.S)


def dss_files(root: str | Path, name: str, file_split: str) -> list[Path]:
    """The data file and the LLM output files a split reads (for rule inputs)."""
    folder = Path(root) / name
    return [folder / f"{name}_{file_split}.json", *llm_files(folder, file_split)]


def llm_files(folder: Path, file_split: str) -> list[Path]:
    """``{split}_CoT_0.json``, ``_1``, ... in order; a gap in the numbering is an error (the outputs
    of the missing file would shift every later row onto the wrong example)."""
    files = sorted((folder / "llm").glob(f"{file_split}_CoT_*.json"), key=_cot_number)
    numbers = [_cot_number(p) for p in files]
    if numbers != list(range(len(numbers))):
        missing = sorted(set(range(max(numbers) + 1)) - set(numbers))
        raise DataError(f"{folder / 'llm'}: {file_split}_CoT_{missing[0]}.json is missing (found "
                        f"{', '.join(p.name for p in files)}); the files are read in order 0, 1, 2, ...")
    return files


def _cot_number(path: Path) -> int:
    tail = path.stem.rsplit("_", 1)[1]
    if not tail.isdigit():
        raise DataError(f"{path}: expected a name {{split}}_CoT_{{number}}.json")
    return int(tail)


def read_llm_outputs(folder: Path, file_split: str, n_rows: int) -> list[str] | None:
    files = llm_files(folder, file_split)
    if not files:
        return None
    outputs: list[str] = []
    for f in files:
        try:
            arr = json.loads(read_text(f))
        except json.JSONDecodeError as e:
            raise DataError(f"{f}:{e.lineno}: not valid JSON ({e.msg} at column {e.colno})") from e
        if not isinstance(arr, list) or not all(isinstance(x, str) or x is None for x in arr):
            raise DataError(f"{f}: expected a JSON array of strings")
        outputs.extend(arr)
    if len(outputs) != n_rows:
        names = ", ".join(p.name for p in files)
        raise DataError(
            f"{folder / 'llm'}: {names} hold {len(outputs)} outputs but the split has {n_rows} rows; "
            "they must line up one to one"
        )
    return outputs


def _cut(text: str, *markers: str) -> str:
    cuts = [i for i in (text.find(m) for m in markers) if i >= 0]
    return text[: min(cuts)] if cuts else text


def parse_llm_output(task: str, text: str, choices: list[str] | None = None) -> tuple[str, str | None]:
    """Split one raw PaLM output into (rationale, label or None when no label can be parsed)."""
    text = text or ""
    if task == "mc":
        text = _cut(text, "\nQ:", "\n\nQ").strip()
        m = _MC_ANSWER.search(text)
        if not m:
            return text, None
        rationale = text[: m.start()].strip()
        letter, rest = m.group(1), m.group(2).strip().rstrip(".").strip()
        if letter and choices and "abcde".index(letter) < len(choices):
            return rationale, choices["abcde".index(letter)]
        return rationale, rest or None
    if task == "math":
        text = _cut(text, "\nQ:", "\n\nQ").strip()
        m = _MATH_ANSWER.search(text)
        if not m:
            return text, None
        label = m.group(1).strip().rstrip(".").strip()
        return text[: m.start()].strip(), label or None
    if task == "nli":
        head = _cut(text, "\nPremise:")
        if "\nAnswer:" in head:  # e-SNLI style: rationale, then "Answer: <label>"
            rationale, _, rest = head.partition("\nAnswer:")
            label = rest.strip().split()[0].strip(".").lower() if rest.strip() else ""
            return rationale.strip(), label if label in ("entailment", "neutral", "contradiction") else None
        head = head.strip()
        m = _NLI_ANSWER.search(head)
        if not m:
            return head, None
        label = m.group(1).strip().rstrip(".").strip().lower()
        label = label.split()[0] if label else ""
        ok = label in ("entailment", "neutral", "contradiction")
        return head[: m.start()].strip(), label if ok else None
    raise ValueError(f"unknown task {task!r}")


def check_folder(root: str | Path, name: str) -> Path:
    """A dataset's folder in the release; an error names ``sources.dss.root`` and the folders there."""
    folder = Path(root) / name
    if not folder.is_dir():
        there = sorted(p.name for p in Path(root).iterdir() if p.is_dir()) if Path(root).is_dir() else []
        raise DataError(f"{folder}: DSS dataset folder not found (sources.dss.root is {root!s}"
                        + (f"; its folders: {there})" if there else ")"))
    return folder


def check_split(root: str | Path, name: str, file_split: str) -> Path:
    """A split's file and its LLM output files (numbered without a gap), before anything is read."""
    folder = check_folder(root, name)
    path = folder / f"{name}_{file_split}.json"
    if not path.exists():
        raise DataError(
            f"{path}: split file not found. Map the split to another split's file in the dataset's "
            f"`splits` (e.g. splits: {{train: valid}}) or set it to null to carve it from train."
        )
    llm_files(folder, file_split)
    return path


def load_split(root: str | Path, name: str, task: str, file_split: str) -> list[dict]:
    folder = Path(root) / name
    path = check_split(root, name, file_split)
    rows = read_jsonl(path)
    llm = read_llm_outputs(folder, file_split, len(rows))
    out = []
    for i, row in enumerate(rows):
        where = row.pop("_where")
        ex_id = row.get("id") or row.get("uid") or f"{name}-{file_split}-{i}"
        try:
            if task == "mc":
                if not isinstance(row["choices"], list):
                    raise DataError(f"{where}: choices {row['choices']!r} is not a list")
                choices = list(row["choices"])
                fields, label = mc_fields(row["question"], choices), row["answer"]
            elif task == "nli":
                choices = []
                fields = {"premise": row["premise"], "hypothesis": row["hypothesis"]}
                label = nli_label(row["label"], where)
            elif task == "math":
                choices = []
                fields, label = {"question": row["input"]}, row["label"]
            else:
                raise DataError(f"{where}: unknown task {task!r}")
        except KeyError as e:
            raise DataError(f"{where}: missing field {e.args[0]!r} for a {task} example") from e
        rationale, llm_label = (None, None)
        if llm is not None:
            rationale, llm_label = parse_llm_output(task, llm[i], choices)
        example = make_example(ex_id, task, fields, label, choices, rationale, llm_label, where)
        human = row.get(HUMAN_RATIONALES.get(name, ""))
        if isinstance(human, str) and human.strip():
            example["human_rationale"] = human  # not an examples column: the plausibility analysis reads it
        out.append(example)
    return out
