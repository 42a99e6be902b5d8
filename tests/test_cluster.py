"""SLURM without a cluster: the tiny workflow through profiles/slurm on a fake SLURM, the paper grid
planned with GPU requests on the GPU rules only, and the Makefile's `slurm-profile` (the profile
installed where `--profile slurm` finds it) and `report` targets."""

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from workflow_helpers import ROOT, TINY, job_counts, path_env, planned_jobs, snakemake

TOOLS = ("sbatch", "squeue", "sacct", "scontrol", "sacctmgr", "srun", "sinfo", "scancel")
GPU_RULES = {"teacher_finetune", "teacher_predict", "teacher_predict_shard", "attribute", "attribute_shard",
             "teacher_cot", "teacher_cot_shard", "faithfulness", "train_student", "evaluate", "similarity",
             "teacher_logits", "teacher_logits_shard"}


def fake_slurm(tmp_path: Path) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        (bin_dir / tool).symlink_to(ROOT / "tests/fake_slurm/fake_slurm.py")
    return path_env(bin_dir, FAKE_SLURM_DIR=str(tmp_path / "slurm"))


def calls(tmp_path: Path, tool: str) -> list[list[str]]:
    lines = (tmp_path / "slurm/calls.jsonl").read_text().splitlines()
    return [c["args"] for c in map(json.loads, lines) if c["tool"] == tool]


def test_tiny_workflow_runs_through_the_slurm_profile(tmp_path):
    cfg = yaml.safe_load(TINY.read_text())
    cfg["datasets"] = {"syn-math": cfg["datasets"]["syn-math"]}  # two teacher shards on train
    cfg["attribution"]["methods"] = ["saliency"]
    cfg["student"]["variants"] = ["standard", "saliency"]
    config = tmp_path / "slurm.yaml"
    config.write_text(yaml.safe_dump(cfg))
    run = snakemake("--profile", str(ROOT / "profiles/slurm"), "--configfile", str(config),
                    "--slurm-init-seconds-before-status-checks", "1", "--latency-wait", "5",
                    cwd=tmp_path, env=fake_slurm(tmp_path))
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    table = pd.read_csv(tmp_path / "results/tables/accuracy.csv")
    assert set(table["variant"]) == {"standard", "saliency-k2"}

    submitted = calls(tmp_path, "sbatch")
    rules = [next(a for a in args if a.startswith("rule_")).split("_wildcards_")[0][5:] for args in submitted]
    # every model job went to the cluster with a GPU and the config's resources; nothing else did
    assert sorted(rules) == sorted(["teacher_finetune", "teacher_predict", "teacher_predict_shard",
                                    "teacher_predict_shard", "attribute", "attribute_shard", "attribute_shard",
                                    "train_student", "train_student", "evaluate", "evaluate", "similarity",
                                    "similarity"])
    for args in submitted:
        assert "--gpus=1" in args and "--cpus-per-task=1" in args
        assert args[args.index("--mem") + 1] == "2000" and args[args.index("-t") + 1] == "10"
        assert args[args.index("-A") + 1] == "ACCOUNT" and args[args.index("-p") + 1] == "PARTITION"
    # inside each job the step ran through srun; the light rules ran locally, with their outputs
    assert len(calls(tmp_path, "srun")) == len(submitted)
    for light in ("data/train.parquet", "data/stats.json", "teacher/teacher-nano/predictions/train.parquet",
                  "rationales/teacher-nano/saliency/k2/train.parquet"):
        assert (tmp_path / "results/syn-math" / light).exists()


def test_paper_grid_under_the_slurm_profile_asks_gpus_for_gpu_rules_only(tmp_path, paper_offline):
    run = snakemake("-n", "--profile", str(ROOT / "profiles/slurm"), "--configfile", str(ROOT / "configs/paper.yaml"),
                    str(paper_offline), cwd=tmp_path, env=fake_slurm(tmp_path))
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = planned_jobs(run.stdout)
    assert len(jobs) == job_counts(run.stdout)["total"] - 1  # every job but `all` parsed
    # (a dry run does not say which jobs are local; the real run above shows the light ones are)
    for j in jobs:
        if j["rule"] in GPU_RULES:
            assert j["resources"]["gpu"] == "1" and j["resources"]["mem_mb"] in ("64000", "32000"), j
            assert j["resources"]["runtime"] == "720"  # (threads -> --cpus-per-task: the real run above)
        else:
            assert "gpu" not in j["resources"], j
    # e-SNLI's 549,367 training examples: 32 teacher jobs per stage (and attribution method), each
    # merged by one light job
    shards = [j for j in jobs if j["rule"] == "attribute_shard"]
    assert len(shards) == 64 and {j["wildcards"]["dataset"] for j in shards} == {"esnli"}
    assert {j["wildcards"]["method"] for j in shards} == {"saliency", "feature_ablation"}
    counts = job_counts(run.stdout)
    assert counts["teacher_predict_shard"] == 32 and counts["teacher_cot_shard"] == 32
    assert counts["merge_attributions"] == 2 and counts["merge_predictions"] == 1 and counts["merge_cot"] == 1


def test_modern_config_plans_with_one_gpu_per_model_job(tmp_path, paper_offline):
    """configs/modern.yaml (Qwen2.5-3B-Instruct teaching Qwen2.5-0.5B) plans the whole comparison
    under the SLURM profile, every model job asking for exactly one GPU, without the hub."""
    run = snakemake("-n", "--profile", str(ROOT / "profiles/slurm"), "--configfile", str(ROOT / "configs/modern.yaml"),
                    str(paper_offline), cwd=tmp_path, env=fake_slurm(tmp_path))
    assert run.returncode == 0, run.stderr[-3000:]
    counts = job_counts(run.stdout)
    assert counts["train_student"] == 4 * (17 + 6) * 3 and "teacher_finetune" not in counts and "shrink_model" not in counts
    jobs = planned_jobs(run.stdout)
    for j in jobs:
        if j["rule"] in GPU_RULES:
            assert j["resources"]["gpu"] == "1", j
        else:
            assert "gpu" not in j["resources"], j
    assert "results/modern/cqa/students/qwen-0.5b/saliency-k10/seed2/model" in run.stdout


# ------------------------------------------------------------------ make slurm-profile, make report

def make(*args, env=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in (env or os.environ).items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


def test_make_slurm_profile_installs_a_profile_that_snakemake_finds_by_name(tmp_path):
    env = fake_slurm(tmp_path)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config home")
    for name in ("SLURM_ACCOUNT", "SLURM_PARTITION"):
        env.pop(name, None)
    profile = tmp_path / "config home/snakemake/slurm/config.yaml"
    # neither set nor a terminal to ask on: the missing one is named, nothing is written
    missing = make("slurm-profile", env=env)
    assert missing.returncode != 0 and "no SLURM account: set SLURM_ACCOUNT" in missing.stderr, missing.stderr
    assert not profile.parent.exists()

    done = make("slurm-profile", "SLURM_ACCOUNT=proj-7", "SLURM_PARTITION=gpu", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    installed = yaml.safe_load(profile.read_text())
    template = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    assert installed == dict(template, **{"default-resources": {"slurm_account": "proj-7", "slurm_partition": "gpu"}})

    # `snakemake --profile slurm` (by name, as the users write it) plans with that account and partition
    work = tmp_path / "work"  # not tmp_path: the fake SLURM's folder there is called slurm too
    work.mkdir()
    dry = snakemake("-n", "--profile", "slurm", "--configfile", str(TINY), cwd=work, env=env)
    assert dry.returncode == 0, (dry.stdout + dry.stderr)[-3000:]
    assert "Using profiles slurm and workflow specific profile" in dry.stderr
    jobs = planned_jobs(dry.stdout)
    assert len(jobs) == job_counts(dry.stdout)["total"] - 1
    assert all(j["resources"]["slurm_account"] == "proj-7" and j["resources"]["slurm_partition"] == "gpu"
               for j in jobs)

    # a second install, from the environment this time, leaves the profile as it is and says where it is
    before = profile.read_text()
    again = make("slurm-profile", env=dict(env, SLURM_ACCOUNT="other", SLURM_PARTITION="cpu"))
    assert again.returncode != 0
    assert f"a profile exists at {profile.parent}: left as it is" in again.stderr, again.stderr
    assert profile.read_text() == before


def test_the_slurm_installer_asks_on_a_terminal_and_refuses_what_is_not_a_name(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "profiles"))
    try:
        import install_slurm
    finally:
        sys.path.pop(0)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    answers = iter(["  proj-9 "])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    assert install_slurm.ask("account", "SLURM_ACCOUNT", None, env={}, stdin=Terminal()) == "proj-9"
    assert install_slurm.ask("account", "SLURM_ACCOUNT", None, env={"SLURM_ACCOUNT": "a"}, stdin=Terminal()) == "a"
    assert install_slurm.profile_dir({"XDG_CONFIG_HOME": "/x"}) == Path("/x/snakemake/slurm")
    assert install_slurm.profile_dir({"XDG_CONFIG_HOME": ""}) == Path.home() / ".config/snakemake/slurm"
    with pytest.raises(install_slurm.InstallError, match="the SLURM partition 'gpu\"; x' is not a name"):
        install_slurm.install(tmp_path / "slurm", "a", 'gpu"; x')
    assert not (tmp_path / "slurm").exists()


def test_make_report_is_snakemake_s_report_of_the_results():
    dry = make("-n", "report")
    assert dry.returncode == 0, dry.stderr
    assert re.search(r"^\S*/snakemake --cores \d+ --report results/report\.html *$", dry.stdout, re.M), dry.stdout
    other = make("-n", "report", "CONFIG=configs/modern.yaml", "REPORT=out/report.html")
    assert re.search(r"^\S*/snakemake --cores \d+ --report out/report\.html --configfile configs/modern\.yaml$",
                     other.stdout, re.M), other.stdout
