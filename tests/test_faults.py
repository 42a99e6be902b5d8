"""Faults: jobs killed mid-way (by signal, as a node failure or a wall-time limit would) leave no
output that looks finished, and the rerun resumes them instead of starting over."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from workflow_helpers import ROOT, TINY, path_env, snakemake


def start(workdir: Path, config: Path, target: str, env: dict) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
           target, "--cores", "1", "--configfile", str(config)]
    return subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def kill_when(proc: subprocess.Popen, ready, timeout: float = 240) -> None:
    """SIGKILL snakemake and its jobs as soon as ``ready()`` holds."""
    t0 = time.time()
    while not ready():
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.time() - t0 < timeout, "the run never reached the point to kill it at"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_killed_attribution_and_training_resume_on_rerun(tmp_path):
    cfg = yaml.safe_load(TINY.read_text())
    cfg["datasets"] = {"syn-nli": dict(cfg["datasets"]["syn-nli"], sizes={"train": 200, "valid": 30, "test": 40})}
    cfg["attribution"].update(methods=["saliency"], batch_size=2)
    cfg["student"].update(variants=["saliency"])
    cfg["student"]["train"].update(steps=120, save_every=20, eval_every=60, batch_size=8)
    config = tmp_path / "faults.yaml"
    config.write_text(yaml.safe_dump(cfg))
    res = tmp_path / "results/syn-nli"
    attributions = res / "teacher/teacher-nano/attributions/saliency/train.parquet"
    student = res / "students/student-nano/saliency-k2/seed0"
    target = str((student / "model").relative_to(tmp_path))
    env = path_env(AKD_CHECKPOINT_SECONDS="0")  # attribution saves its rows after every batch

    # 1. killed while attributing: no attribution file, only the checkpoint beside where it goes
    kill_when(start(tmp_path, config, target, env), lambda: Path(str(attributions) + ".partial").exists())
    assert not attributions.exists()
    # 2. the rerun (after `--unlock`: a killed Snakemake leaves its lock) resumes the attribution;
    #    killed again while the student trains: no model folder, only the saved training state
    assert snakemake("--unlock", "--configfile", str(config), cwd=tmp_path, env=env).returncode == 0
    kill_when(start(tmp_path, config, target, env), lambda: (student / "train_state/state.pt").exists())
    log = (tmp_path / "results/logs/syn-nli/teacher/teacher-nano/attribute_saliency_train.log").read_text()
    assert "resuming:" in log and "examples were done before the job stopped" in log
    assert attributions.exists() and not Path(str(attributions) + ".partial").exists()
    assert not (student / "model").exists()
    # 3. the last rerun resumes training from its saved state and finishes
    assert snakemake("--unlock", "--configfile", str(config), cwd=tmp_path, env=env).returncode == 0
    run = snakemake(target, "--cores", "1", "--configfile", str(config), cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (student / "model/config.json").exists()
    train_log = (tmp_path / "results/logs/syn-nli/students/student-nano/saliency-k2/seed0/train.log").read_text()
    assert "resuming from the state saved at step" in train_log
