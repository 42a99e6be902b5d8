"""The house rules that a test can hold: one list of pins, stage adapters only in stages.py, and no
block of six lines written twice in the package or the workflow."""

import ast
import re
import sys
from collections import defaultdict
from pathlib import Path

from workflow_helpers import ROOT


def test_the_conda_environment_is_written_from_pyproject():
    sys.path.insert(0, str(ROOT / "envs"))
    try:
        import write_env
    finally:
        sys.path.pop(0)
    assert (ROOT / "envs/akd.yaml").read_text() == write_env.render(), "run `make env` after changing pins"


#: Lines that carry no logic of their own: closing brackets, and a rule's directive keywords and
#: its conda file (every rule has them, in Snakemake's order).
STRUCTURE = {'"""', ")", "]", "}", "),", "],", "},", "else:", "try:", "return out", '"../../envs/akd.yaml"',
             *(f"{d}:" for d in ("input", "output", "params", "resources", "conda", "log", "script"))}


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, stripped text) of lines that carry code (no blanks, comments or structure)."""
    out = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#") or s in STRUCTURE:
            continue
        out.append((i, re.sub(r"\s+", " ", s)))
    return out


def test_no_block_of_six_lines_is_written_twice():
    files = sorted([*ROOT.glob("src/akd/**/*.py"), *ROOT.glob("workflow/**/*.py"), *ROOT.glob("workflow/**/*.smk"),
                    ROOT / "Snakefile"])
    seen: dict[tuple, list[str]] = defaultdict(list)
    for f in files:
        lines = _code_lines(f)
        for j in range(len(lines) - 5):
            block = tuple(t for _, t in lines[j: j + 6])
            seen[block].append(f"{f.relative_to(ROOT)}:{lines[j][0]}")
    twice = {b: w for b, w in seen.items() if len(w) > 1}
    assert not twice, "\n\n".join(f"{w}:\n" + "\n".join(b) for b, w in list(twice.items())[:5])


def test_stages_holds_adapters_only():
    """stages.py: functions of (paths, settings) that read, call one thing and write; no classes, no
    helpers of other subjects, each function short."""
    tree = ast.parse((ROOT / "src/akd/stages.py").read_text())
    assert not [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    long = [(n.name, n.end_lineno - n.lineno + 1) for n in tree.body
            if isinstance(n, ast.FunctionDef) and n.end_lineno - n.lineno + 1 > 40]
    assert not long, f"stage functions longer than 40 lines: {long}"


def test_the_planning_modules_import_no_torch():
    """What the Snakefile and the config checks use never loads torch (every dry run would pay for it)."""
    import subprocess

    modules = ["errors", "tasks", "words", "specs", "variants", "prompts", "answers", "config", "prepare", "smk",
               "sources.dss", "sources.tabular", "sources.synthetic"]
    code = ("import sys; " + "; ".join(f"import akd.{m}" for m in modules)
            + "; heavy = [m for m in ('torch', 'transformers', 'captum') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_params_carry_keys_and_jobs_put_the_paths_back():
    """Rules keep paths out of params (the report shows params); jobs zip them back from the inputs."""
    import pytest

    from akd.smk import with_paths

    keys = [{"dataset": "a", "split": "train"}, {"dataset": "a", "split": "test"}]
    assert with_paths(keys, metrics=["a/train.json", "a/test.json"]) == [
        {"dataset": "a", "split": "train", "metrics": "a/train.json"},
        {"dataset": "a", "split": "test", "metrics": "a/test.json"}]
    with pytest.raises(ValueError, match="1 metrics inputs for 2 items"):
        with_paths(keys, metrics=["a/train.json"])
