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


LABELS = [" entailment", " neutral", " contradiction"]


def _softmax_at(logprobs, j):
    """ERASER's m(x)_j for a ranked teacher, written out: exp(s_j) / sum_i exp(s_i)."""
    e = [np.exp(x) for x in logprobs]
    return e[j] / sum(e)


def test_the_word_the_answer_depends_on_is_comprehensive_and_sufficient():
    """A constructed teacher: with "blue" in the premise it puts log-prob 0 on entailment and -6 on
    the others; without it, -6 on entailment and -1 on neutral."""
    rendered, row = _prompt_and_row()
    with_blue, without_blue = [0.0, -6.0, -6.0], [-6.0, -1.0, -6.0]

    def score(prompts, continuations):
        assert all(list(c) == LABELS for c in continuations)
        return [(np.array(with_blue if re.search(r"Premise:[^\n]*\bblue\b", p) else without_blue), np.ones(3))
                for p in prompts]

    cue, distractor = 3, 1  # "blue", "sky"
    out = faithfulness(score, [rendered] * 2, [LABELS] * 2, [0, 0], [row] * 2, [[cue], [distractor]])
    full, gone = _softmax_at(with_blue, 0), _softmax_at(without_blue, 0)
    np.testing.assert_allclose(out["p_full"], [full, full])
    assert out["comprehensiveness"][0] == pytest.approx(full - gone)  # without "blue": gone
    assert out["comprehensiveness"][1] == pytest.approx(0.0)  # without "sky": unchanged
    assert out["sufficiency"][0] == pytest.approx(0.0)  # "blue" alone suffices
    assert out["sufficiency"][1] == pytest.approx(full - gone)  # "sky" alone does not


def test_full_prompts_scored_once_give_the_same_figures_and_are_not_rescored():
    """``full=``: the unedited prompts' m(x)_j scored once serves every word set; the scorer then
    sees only the edited prompts, and each figure equals the one-call result."""
    rendered, row = _prompt_and_row()
    seen = []

    def score(prompts, continuations):
        seen.extend(prompts)
        return [(np.array([0.0, -6.0, -6.0] if "blue" in p else [-6.0, -1.0, -6.0]), np.ones(3)) for p in prompts]

    alone = faithfulness(score, [rendered] * 2, [LABELS] * 2, [0, 1], [row] * 2, [[3], [1]])
    assert seen.count(PROMPT) == 2
    seen.clear()
    shared = faithfulness(score, [rendered] * 2, [LABELS] * 2, [0, 1], [row] * 2, [[3], [1]], full=alone["p_full"])
    assert PROMPT not in seen and len(seen) == 4
    for key in alone:
        np.testing.assert_array_equal(shared[key], alone[key])


def test_mass_that_leaves_every_label_is_not_comprehensiveness():
    """Deleting a word lowers every candidate's probability by the same factor: the class
    distribution over the candidates is unchanged, so comprehensiveness is 0 (the raw sequence
    probability would have fallen by 1 - e^-5 of itself)."""
    rendered, row = _prompt_and_row()
    base = np.array([-0.5, -2.0, -3.0])

    def score(prompts, continuations):
        return [(base if "blue" in p else base - 5.0, np.ones(3)) for p in prompts]

    out = faithfulness(score, [rendered], [LABELS], [0], [row], [[3]])
    assert out["comprehensiveness"][0] == pytest.approx(0.0, abs=1e-12)
    assert out["p_full"][0] == pytest.approx(_softmax_at(base, 0))
    # a generated answer (no label space) keeps the probability of its text
    gen = faithfulness(lambda p, c: [(base[:1] if "blue" in t else base[:1] - 5.0, np.ones(1)) for t in p],
                       [rendered], [[" 2 + 3"]], [0], [row], [[3]], normalise=None)
    assert gen["comprehensiveness"][0] == pytest.approx(np.exp(-0.5) - np.exp(-5.5))


def test_the_class_probability_is_the_softmax_of_the_summed_log_probabilities():
    """With teacher.normalise: chars the answer was chosen by log-prob per character of the choice;
    m is still the model's probability of that class: the softmax of the summed log-probabilities."""
    from akd.faithfulness import class_probability

    lp, n, conts = np.array([-2.0, -3.0]), np.array([1, 2]), [" ab", " abcdef"]
    assert class_probability(lp, n, conts, 1, "chars") == pytest.approx(_softmax_at(lp, 1))  # chosen by chars
    assert class_probability(lp, n, conts, 0, "sum") == pytest.approx(_softmax_at(lp, 0))
    assert class_probability(lp, n, conts, 0, None) == pytest.approx(np.exp(-2.0))


def test_the_teachers_full_prompt_probability_is_the_attributed_one(tiny_model):
    """model_scorer scores the unedited prompt as attribution did: m(x)_j is the softmax over the
    attributed log-probabilities of every candidate (one attribution run per candidate)."""
    from akd.attribution import attribute
    from akd.sources.synthetic import generate
    from akd.tasks import fields_dict, render

    model, tok = tiny_model
    ex = generate("nli", 6, 3, "test")
    labels = ["entailment", "neutral", "contradiction"]
    per_label = [attribute(model, tok, ex, [lab] * len(ex), batch_size=4, show_progress=False) for lab in labels]
    chosen = [labels.index(e["label"]) for e in ex]
    prompts = [render(e["task"], fields_dict(e["fields"]), "prompt") for e in ex]
    rows = [per_label[j][i] for i, j in enumerate(chosen)]
    out = faithfulness(model_scorer(model, tok, batch_size=4), prompts, [labels] * len(ex), chosen, rows,
                       [[0, 1]] * len(ex))
    want = [_softmax_at([per_label[c][i]["target_logprob"] for c in range(3)], j) for i, j in enumerate(chosen)]
    np.testing.assert_allclose(out["p_full"], want, rtol=1e-4, atol=1e-6)
    assert np.all(out["p_without"] > 0) and np.all(out["p_only"] > 0)


def test_the_workflow_writes_the_faithfulness_table(tmp_path):
    """`snakemake teacher` with analyses.faithfulness_examples: one job per dataset and k (each
    method's top-k words and k random words of the same examples), then the table."""
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
    assert sorted(zip(table["source"], table["k"])) == [("feature_ablation", 2), ("random", 2), ("saliency", 2)]
    assert job_counts(run.stdout + run.stderr).get("faithfulness") == 1
    assert (table["n"] == 15).all() and table["comprehensiveness"].between(-1, 1).all()
    assert table["p_full"].nunique() == 1  # every source and method on the same examples, the same full prompts
    # the compared method is attributed on those examples only, the students' method on the whole split
    teacher = tmp_path / "results/syn-nli/teacher/teacher-nano"
    fa = pd.read_parquet(teacher / "attributions/feature_ablation/train.parquet")
    sal = pd.read_parquet(teacher / "attributions/saliency/train.parquet")
    assert len(fa) == 15 and len(sal) > 15 and list(fa["id"]) == list(sal["id"][:15])
    rows = pd.read_parquet(tmp_path / "results/syn-nli/teacher/teacher-nano/faithfulness/k2.parquet")
    assert len(rows) == 45 and set(rows["source"]) == {"saliency", "feature_ablation", "random"}
    # each source's m(x)_j of the full prompt is the one scoring's
    assert rows.groupby("id")["p_full"].nunique().eq(1).all()
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
    assert "feature_ablation-k2" not in run.stdout and "saliency-k2/seed0" in run.stdout
    # one faithfulness job per dataset and k, reading both methods' words
    assert job_counts(run.stdout)["faithfulness"] == 2
    assert run.stdout.count("rationales/teacher-nano/feature_ablation/k2/train.parquet") >= 2

    for analyses, hint in (({"faithfulness_examples": 10, "compare_methods": ["saliency"]}, "already attribution.methods"),
                           ({"compare_methods": ["feature_ablation"]}, "faithfulness_examples")):
        cfg["analyses"] = analyses
        path.write_text(yaml.safe_dump(cfg))
        bad = snakemake("-n", "--configfile", str(path), cwd=tmp_path)
        assert bad.returncode != 0 and hint in bad.stdout + bad.stderr, analyses
