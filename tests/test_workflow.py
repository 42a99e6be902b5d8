"""The workflow itself: one real run of the tiny config end to end, and dry runs of the paper grid."""

import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from akd import io, schemas
from dss_fixture import write_dss

ROOT = Path(__file__).resolve().parents[1]


def snakemake(*args, cwd):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(cwd), *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)


def job_counts(output: str) -> dict[str, int]:
    """The 'job  count' table of a dry run."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", output, re.M)}


def test_tiny_config_end_to_end(tmp_path):
    t0 = time.time()
    run = snakemake("--cores", "2", "--configfile", str(ROOT / "tests/configs/tiny.yaml"), cwd=tmp_path)
    elapsed = time.time() - t0
    assert run.returncode == 0, run.stderr[-4000:]
    assert elapsed < 180, f"the tiny end-to-end run took {elapsed:.0f}s"
    res = tmp_path / "results"
    expected = {
        "data/{s}.parquet": schemas.EXAMPLES,
        "teacher/teacher-nano/predictions/train.parquet": schemas.PREDICTIONS,
        "teacher/teacher-nano/predictions/test.parquet": schemas.PREDICTIONS,
        "teacher/teacher-nano/attributions/saliency/train.parquet": schemas.ATTRIBUTIONS,
        "teacher/teacher-nano/attributions/integrated_gradients/train.parquet": schemas.ATTRIBUTIONS,
        "rationales/teacher-nano/saliency/k2/train.parquet": schemas.RATIONALES,
        "rationales/teacher-nano/integrated_gradients/k2/train.parquet": schemas.RATIONALES,
    }
    variants = ["standard", "saliency-k2", "integrated_gradients-k2", "masked-k2", "llm"]
    for ds in ("syn-nli", "syn-math"):
        for pattern, schema in expected.items():
            for s in ("train", "valid", "test"):
                df = io.read_parquet(res / ds / pattern.format(s=s), schema)
                assert len(df) > 0
        k2 = io.read_parquet(res / ds / "rationales/teacher-nano/saliency/k2/train.parquet", schemas.RATIONALES)
        assert all(1 <= len(w) <= 2 for w in k2["words"])
        for v in variants:
            run_dir = res / ds / "students/student-nano" / v / "seed0"
            assert (run_dir / "model" / "config.json").exists()
            preds = io.read_parquet(run_dir / "test_predictions.parquet", schemas.EVAL_PREDICTIONS)
            assert len(preds) == 40
    table = pd.read_csv(res / "tables/accuracy.csv")
    assert set(table["dataset"]) == {"syn-nli", "syn-math"}
    assert set(table["variant"]) == set(variants)
    assert table["mean"].between(0, 100).all() and table["teacher"].notna().all()
    assert (res / "plots/accuracy.png").stat().st_size > 1000
    md = (res / "tables/accuracy.md").read_text()
    assert md.startswith("| dataset | teacher | standard | integrated_gradients-k2 | masked-k2 | saliency-k2 | llm |")
    overlap = pd.read_csv(res / "tables/answer_overlap.csv")
    assert len(overlap) == 2 * 2  # datasets x methods, one k
    assert overlap["examples_with_answer_word"].between(0, 1).all()
    assert (res / "plots/accuracy_vs_k.png").stat().st_size > 1000
    sim = pd.read_csv(res / "tables/similarity.csv")
    assert len(sim) == 2 * len(variants) and sim["agreement_mean"].between(0, 100).all()
    assert sim["topk_jaccard_mean"].between(0, 100).all()
    # nothing is left to do after a complete run
    again = snakemake("-n", "--configfile", str(ROOT / "tests/configs/tiny.yaml"), cwd=tmp_path)
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.fixture()
def paper_offline(tmp_path):
    root = write_dss(tmp_path / "dss")
    cfg = yaml.safe_load((ROOT / "configs/paper-offline.yaml").read_text())
    cfg["sources"]["dss"]["root"] = str(root)
    cfg["datasets"]["esnli"]["valid_size"] = 2
    path = tmp_path / "offline.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_paper_grid_plans_on_dss_layout(tmp_path, paper_offline):
    run = snakemake("-n", "--configfile", str(ROOT / "configs/paper.yaml"), str(paper_offline), cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    counts = job_counts(run.stdout)
    # 4 datasets x (standard + saliency, random, masked at 5 k each + llm) x 3 seeds
    assert counts["train_student"] == 4 * 17 * 3 and counts["evaluate"] == 4 * 17 * 3
    assert counts["rationales"] == 20 and counts["control_rationales"] == 40
    assert counts["prepare"] == 4 and counts["attribute"] == 8  # train (rationales) + test (similarity)
    assert counts["teacher_predict"] == 8 and "teacher_finetune" not in counts


def test_paper_grid_without_offline_mapping_names_the_missing_file(tmp_path):
    root = write_dss(tmp_path / "dss")
    over = tmp_path / "root.yaml"
    over.write_text(yaml.safe_dump({"sources": {"dss": {"root": str(root)}}}))
    run = snakemake("-n", "--configfile", str(ROOT / "configs/paper.yaml"), str(over), cwd=tmp_path)
    assert run.returncode != 0
    assert "esnli_train.json" in run.stdout + run.stderr


def test_lint_is_clean(tmp_path):
    run = snakemake("--lint", cwd=ROOT)
    assert run.returncode == 0 and "Congratulations" in run.stdout + run.stderr, (run.stdout + run.stderr)[-3000:]


def test_bad_config_is_caught_before_any_job(tmp_path):
    cfg = yaml.safe_load((ROOT / "tests/configs/tiny.yaml").read_text())
    cfg["student"]["trian"] = cfg["student"].pop("train")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run = snakemake("-n", "--configfile", str(path), cwd=tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode != 0 and "student.trian: unknown key; did you mean 'train'?" in out
