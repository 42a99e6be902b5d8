"""Write envs/akd.yaml from pyproject.toml, the one list of pins (`make env`; a test checks that
the two agree).  The conda environment gets the runtime pins and the test extra."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = """\
# Conda environment for the workflow's jobs (`snakemake --sdm conda`) or `conda env create -f`.
# Written from pyproject.toml's pins by `make env` (python envs/write_env.py): edit the pins there.
# The jobs find the workflow's own package (src/akd) by path; no install of it is needed.
name: akd
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
"""


def pins() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["test"]]


def render() -> str:
    return HEADER + "".join(f"      - {p}\n" for p in pins())


if __name__ == "__main__":
    out = ROOT / "envs" / "akd.yaml"
    out.write_text(render())
    print(f"wrote {out.relative_to(ROOT)} ({len(pins())} pins)", file=sys.stderr)
