"""ERASER faithfulness (akd.faithfulness): words deleted from, or kept alone in, the example's own
fields; comprehensiveness and sufficiency on a constructed model whose answer depends on one known
word; the teacher's own scores agree with attribution's."""

import re

import numpy as np
import pytest

from akd.faithfulness import edited, faithfulness, model_scorer
from akd.tasks import Rendered

PROMPT = "Does the premise entail the hypothesis?\nPremise: the sky is blue , really\nHypothesis: it rains\nAnswer:"


def _prompt_and_row():
    a = PROMPT.index("the sky")
    b = PROMPT.index("\nHypothesis")
    c = PROMPT.index("it rains")
    rendered = Rendered(PROMPT, (("premise", a, b), ("hypothesis", c, c + len("it rains"))))
    words, field, start, end = [], [], [], []
    for name, x, y in rendered.spans:
        for m in re.finditer(r"\w+|[^\w\s]", PROMPT[x:y]):
            words.append(m.group())
            field.append(name)
            start.append(m.start())
            end.append(m.end())
    row = {"words": words, "word_field": field, "word_start": start, "word_end": end}
    return rendered, row


def test_words_are_deleted_or_kept_alone_in_the_examples_own_text():
    rendered, row = _prompt_and_row()
    assert row["words"] == ["the", "sky", "is", "blue", ",", "really", "it", "rains"]
    blue, rains = 3, 7
    assert edited(rendered, row, [blue], keep_only=False) == PROMPT.replace("is blue ,", "is ,")
    assert edited(rendered, row, [blue, rains], keep_only=True) == (
        "Does the premise entail the hypothesis?\nPremise: blue\nHypothesis: rains\nAnswer:")
    # nothing kept of a field leaves it empty; the template (which also says "the") is never touched
    assert edited(rendered, row, [0], keep_only=True).startswith("Does the premise entail the hypothesis?\nPremise: the\n")
    assert edited(rendered, row, [], keep_only=False) == PROMPT


def test_the_word_the_answer_depends_on_is_comprehensive_and_sufficient():
    """A constructed teacher: its answer has probability 1 when the premise holds "blue" and
    e^-6 otherwise."""
    rendered, row = _prompt_and_row()

    def score(prompts, continuations):
        assert set(continuations) == {" entailment"}
        return np.array([0.0 if re.search(r"Premise:[^\n]*\bblue\b", p) else -6.0 for p in prompts])

    cue, distractor = 3, 1  # "blue", "sky"
    out = faithfulness(score, [rendered] * 2, [" entailment"] * 2, [row] * 2, [[cue], [distractor]])
    np.testing.assert_allclose(out["p_full"], [1.0, 1.0])
    assert out["comprehensiveness"][0] == pytest.approx(1 - np.exp(-6))  # without "blue": gone
    assert out["comprehensiveness"][1] == pytest.approx(0.0)  # without "sky": unchanged
    assert out["sufficiency"][0] == pytest.approx(0.0)  # "blue" alone suffices
    assert out["sufficiency"][1] == pytest.approx(1 - np.exp(-6))  # "sky" alone does not


def test_the_teachers_full_prompt_probability_is_the_attributed_one(tiny_model):
    """model_scorer scores the unedited prompt as attribution did (its target_logprob)."""
    from akd.attribution import attribute
    from akd.sources.synthetic import generate
    from akd.tasks import fields_dict, render

    model, tok = tiny_model
    ex = generate("nli", 6, 3, "test")
    targets = [e["label"] for e in ex]
    rows = attribute(model, tok, ex, targets, batch_size=4, show_progress=False)
    prompts = [render(e["task"], fields_dict(e["fields"]), "prompt") for e in ex]
    out = faithfulness(model_scorer(model, tok, batch_size=4), prompts, targets, rows, [[0, 1]] * len(ex))
    np.testing.assert_allclose(np.log(out["p_full"]), [r["target_logprob"] for r in rows], rtol=1e-4, atol=1e-5)
    assert np.all(out["p_without"] > 0) and np.all(out["p_only"] > 0)


def test_the_workflow_writes_the_faithfulness_table(tmp_path):
    """`snakemake teacher` with analyses.faithfulness_examples: one job per dataset, method and k
    (top-k words and k random words of the same examples), then the table."""
    import pandas as pd
    import yaml

    from workflow_helpers import TINY, job_counts, snakemake

    cfg = yaml.safe_load(TINY.read_text())
    cfg["datasets"] = {"syn-nli": cfg["datasets"]["syn-nli"]}
    cfg["attribution"]["methods"] = ["saliency"]
    cfg["analyses"] = {"faithfulness_examples": 15, "compare_methods": ["feature_ablation"]}
    path = tmp_path / "faith.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run = snakemake("teacher", "--cores", "2", "--configfile", str(path), cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    table = pd.read_csv(tmp_path / "results/tables/faithfulness.csv")
    assert set(zip(table["method"], table["source"], table["k"])) == {
        ("saliency", "saliency", 2), ("saliency", "random", 2),
        ("feature_ablation", "feature_ablation", 2), ("feature_ablation", "random", 2)}
    assert (table["n"] == 15).all() and table["comprehensiveness"].between(-1, 1).all()
    assert table["p_full"].nunique() == 1  # every source and method on the same examples, the same full prompts
    # the compared method is attributed on those examples only, the students' method on the whole split
    teacher = tmp_path / "results/syn-nli/teacher/teacher-nano"
    fa = pd.read_parquet(teacher / "attributions/feature_ablation/train.parquet")
    sal = pd.read_parquet(teacher / "attributions/saliency/train.parquet")
    assert len(fa) == 15 and len(sal) > 15 and list(fa["id"]) == list(sal["id"][:15])
    rows = pd.read_parquet(tmp_path / "results/syn-nli/teacher/teacher-nano/faithfulness/saliency/k2.parquet")
    assert len(rows) == 30 and set(rows["source"]) == {"saliency", "random"}
    # off by default: no faithfulness job is planned without the key
    del cfg["analyses"]
    path.write_text(yaml.safe_dump(cfg))
    (tmp_path / "fresh").mkdir()
    plan = snakemake("-n", "teacher", "--configfile", str(path), cwd=tmp_path / "fresh")
    assert plan.returncode == 0 and "attribute" in job_counts(plan.stdout) and "faithfulness" not in job_counts(plan.stdout)


def test_compare_methods_are_planned_for_the_analyses_only(tmp_path):
    """analyses.compare_methods: one attribution job per dataset for the method (never sharded,
    on the first faithfulness_examples), its faithfulness and plausibility, no student on it; a
    method listed twice, or with faithfulness off, is a config error."""
    import yaml

    from workflow_helpers import TINY, job_counts, planned_jobs, snakemake

    cfg = yaml.safe_load(TINY.read_text())
    cfg["attribution"]["methods"] = ["saliency"]
    cfg["analyses"] = {"faithfulness_examples": 10, "compare_methods": ["feature_ablation"]}
    path = tmp_path / "cmp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run = snakemake("-n", "--configfile", str(path), cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = planned_jobs(run.stdout)
    fa = [j for j in jobs if j["wildcards"].get("method") == "feature_ablation"]
    assert sorted((j["rule"], j["wildcards"]["dataset"]) for j in fa if j["rule"].startswith("attribute")) == [
        ("attribute", "syn-math"), ("attribute", "syn-nli")]  # syn-math's train is sharded for saliency
    assert [j for j in jobs if j["rule"] == "attribute_shard" and j["wildcards"]["method"] == "saliency"]
    assert sum(j["rule"] == "faithfulness" for j in fa) == 2
    assert "feature_ablation-k2" not in run.stdout and "saliency-k2/seed0" in run.stdout
    assert job_counts(run.stdout)["faithfulness"] == 4

    for analyses, hint in (({"faithfulness_examples": 10, "compare_methods": ["saliency"]}, "already attribution.methods"),
                           ({"compare_methods": ["feature_ablation"]}, "faithfulness_examples")):
        cfg["analyses"] = analyses
        path.write_text(yaml.safe_dump(cfg))
        bad = snakemake("-n", "--configfile", str(path), cwd=tmp_path)
        assert bad.returncode != 0 and hint in bad.stdout + bad.stderr, analyses
