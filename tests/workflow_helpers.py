"""Running the workflow from tests: snakemake in a subprocess, and reading what a dry run plans."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests/configs/tiny.yaml"


def snakemake(*args, cwd, env=None, timeout=900):
    """A dry run lists its jobs (the workflow profile's quiet terminal shows only their counts)."""
    quiet = ["--quiet", "reason", "host"] if "-n" in args and "--quiet" not in args else []
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(cwd), *args, *quiet]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


def job_counts(output: str) -> dict[str, int]:
    """The 'job  count' table of a dry run."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", output, re.M)}


def planned_jobs(output: str) -> list[dict]:
    """Every job a dry run lists: its rule, wildcards, resources and threads (a dry run prints
    every job as `rule`, so `local` is only meaningful in the log of a real run)."""
    jobs = []
    for block in re.split(r"\n(?=\[[^\n]*\]\n(?:local)?rule \w+:)", output):
        m = re.search(r"^(local)?rule (\w+):\n((?:    .*\n?)*)", block, re.M)
        if not m:
            continue
        body = m.group(3)
        fields = dict(re.findall(r"^    (\w+): (.*)$", body, re.M))
        wildcards = dict(kv.split("=", 1) for kv in fields.get("wildcards", "").split(", ") if "=" in kv)
        resources = dict(kv.split("=", 1) for kv in fields.get("resources", "").split(", ") if "=" in kv)
        jobs.append({"rule": m.group(2), "local": bool(m.group(1)), "wildcards": wildcards,
                     "resources": resources, "threads": int(fields.get("threads", 1)),
                     "input": fields.get("input", "").split(", ")})
    return [j for j in jobs if j["rule"] != "all"]


def path_env(extra_bin: Path | None = None, **env) -> dict:
    path = os.pathsep.join([*([str(extra_bin)] if extra_bin else []), str(Path(sys.executable).parent),
                            os.environ["PATH"]])
    return dict(os.environ, PATH=path, **env)


ERRORS_DOC = ROOT / "docs/errors.md"


def documented_errors() -> dict[str, list[str]]:
    """docs/errors.md's table: each input row and the messages it quotes."""
    rows = {}
    for line in ERRORS_DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if line.startswith("| ") and len(cells) == 3 and cells[0] not in ("input", "---"):
            rows[cells[0]] = re.findall(r"`([^`]+)`", cells[1])
    return rows


def documented(row: str, message: str) -> None:
    """The message the code printed is one that docs/errors.md quotes for `row` ("..." in a quote
    stands for any text)."""
    quotes = documented_errors()[row]
    patterns = [".*".join(re.escape(part) for part in q.split("...")) for q in quotes]
    assert any(re.search(p, message, re.S) for p in patterns), f"docs/errors.md quotes {quotes} for {row!r}; the code printed:\n{message}"
