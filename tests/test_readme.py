"""The README is a manual that stays true: short, every command it lists exists or plans, every
file and link it names is there, and the error it quotes is the one the code prints."""

import os
import re
import subprocess

import pytest
import yaml

from akd.config import ConfigError, validate_schema
from workflow_helpers import ROOT, TINY, snakemake

README = ROOT / "README.md"
PROSE = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks/README.md", ROOT / "pyproject.toml"]


def test_the_readme_is_a_manual_of_about_300_lines():
    assert len(README.read_text().splitlines()) <= 300


@pytest.mark.parametrize("path", PROSE, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_lab_notebook_words(path):
    """A figure carries its command, commit and hardware; nothing speaks of who measured it when."""
    hits = [line for line in path.read_text().splitlines()
            if re.search(r"issue [0-9]|this machine|afternoon|session", line, re.I)]
    assert hits == []


def test_every_make_target_the_readme_names_exists():
    targets = set(re.findall(r"`make ([a-z][a-z-]*)", README.read_text())) | {"run", "test", "report"}
    for target in sorted(targets):
        dry = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True)
        assert dry.returncode == 0, f"make {target}: {dry.stderr}"


def test_every_file_and_link_the_docs_name_exists():
    missing = []
    for path in PROSE[:-1]:
        text = path.read_text()
        for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if not link.startswith("http") and not (path.parent / link).exists():
                missing.append(f"{path.name}: {link}")
        for name in re.findall(r"`((?:configs|docs|benchmarks|examples|profiles|envs|workflow|tests)/[\w./-]+)`", text):
            if "{" not in name and not (ROOT / name).exists():
                missing.append(f"{path.name}: {name}")
    assert missing == []


def test_the_error_the_readme_quotes_is_the_one_the_code_prints():
    quoted = re.search(r"`(student\.trian: [^`]+)`", README.read_text()).group(1)
    cfg = yaml.safe_load(TINY.read_text())
    cfg["student"]["trian"] = cfg["student"].pop("train")
    with pytest.raises(ConfigError) as caught:
        validate_schema(cfg, ROOT / "workflow/schemas/config.schema.yaml")
    assert quoted in [line.strip() for line in str(caught.value).splitlines()]


@pytest.mark.parametrize("example", sorted((ROOT / "configs/examples").glob("*.yaml")), ids=lambda p: p.name)
def test_the_example_configs_plan(tmp_path, example):
    """configs/examples/ (your own data: a file, a hub dataset) plan from the repository root, offline."""
    run = snakemake("-n", "--nolock", "--configfile", str(example), "--config", f"results={tmp_path}/results",
                    cwd=ROOT, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", out, re.M))
    assert int(jobs["train_student"]) >= 3 and "prepare" in jobs
