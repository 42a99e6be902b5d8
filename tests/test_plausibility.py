"""Plausibility (akd.plausibility): agreement of top-k words with people's rationales, on hand-made
rows; the DSS reader keeps CoS-E's and e-SNLI's rationales aside; the workflow plans the table
only where the data has them."""

import pandas as pd
import pytest
import yaml

from akd import io, schemas, stages
from akd.plausibility import agreement, word_set
from akd.sources.dss import load_split
from dss_fixture import write_dss
from workflow_helpers import ROOT, job_counts, snakemake


def test_precision_recall_and_f1_of_hand_made_rows():
    human = "The beaver gets its supplies, wood, from a wooded area."
    assert word_set(human) >= {"beaver", "supplies", "wood", "wooded", "area"} and "," not in word_set(human)
    assert agreement(["supplies", "wooded", "zoo"], human) == pytest.approx((2 / 3, 2 / 10, 2 * (2 / 3) * (2 / 10) / (2 / 3 + 2 / 10)))  # 10 word types
    assert agreement(["Beaver", "."], human) == pytest.approx((1.0, 1 / 10, 2 * (1 / 10) / (1 + 1 / 10)))  # case; "." never counts
    assert agreement(["zoo"], human) == (0.0, 0.0, 0.0)
    assert agreement(["zoo"], "") == (0.0, 0.0, 0.0)


def test_the_dss_reader_keeps_cos_e_and_esnli_rationales(tmp_path):
    root = write_dss(tmp_path / "dss")
    assert {e["human_rationale"] for e in load_split(root, "cqa", "mc", "train")} == {"supplies"}
    assert {e["human_rationale"] for e in load_split(root, "esnli", "nli", "test")} == {"e1"}
    assert all("human_rationale" not in e for e in load_split(root, "anli1", "nli", "test"))


def test_the_table_scores_the_method_beside_random_words(tmp_path):
    human = tmp_path / "human.parquet"
    io.write_parquet(pd.DataFrame({"id": ["a", "b"], "rationale": ["wooded area", "a body of water"]}), human,
                     schemas.HUMAN_RATIONALES)

    def rationales(path, words):
        rows = [{"id": i, "rationale": " ".join(w), "words": w, "positions": list(range(len(w)))} for i, w in words.items()]
        io.write_parquet(pd.DataFrame(rows), path, schemas.RATIONALES)
        return str(path)

    top = rationales(tmp_path / "top.parquet", {"a": ["wooded", "area"], "b": ["water", "zoo"], "c": ["x", "y"]})
    rnd = rationales(tmp_path / "rnd.parquet", {"a": ["beavers", "zoo"], "b": ["body", "zoo"]})
    item = {"dataset": "cqa", "method": "saliency", "k": 2, "top": top, "random": rnd, "human": str(human)}
    table = stages.plausibility_table([item], str(tmp_path / "p.csv"), str(tmp_path / "p.md"), str(tmp_path / "p.html"))
    by = table.set_index("source")
    assert by.loc["saliency", "n"] == 2  # "c" has no human rationale
    assert by.loc["saliency", "precision"] == pytest.approx(0.75) and by.loc["random", "precision"] == pytest.approx(0.25)
    assert "CoS-E" in (tmp_path / "p.md").read_text()


def test_random_words_are_scored_on_the_examples_the_method_has(tmp_path):
    """A method attributed on a few examples only (analyses.compare_methods): its random reference
    row covers the same examples, not the whole split's."""
    human = tmp_path / "human.parquet"
    io.write_parquet(pd.DataFrame({"id": ["a", "b"], "rationale": ["wooded area", "a body of water"]}), human,
                     schemas.HUMAN_RATIONALES)
    for name, words in (("top", {"a": ["wooded", "zoo"]}), ("rnd", {"a": ["beavers", "zoo"], "b": ["body", "water"]})):
        rows = [{"id": i, "rationale": " ".join(w), "words": w, "positions": [0, 1]} for i, w in words.items()]
        io.write_parquet(pd.DataFrame(rows), tmp_path / f"{name}.parquet", schemas.RATIONALES)
    item = {"dataset": "cqa", "method": "feature_ablation", "k": 2, "top": str(tmp_path / "top.parquet"),
            "random": str(tmp_path / "rnd.parquet"), "human": str(human)}
    by = stages.plausibility_table([item], str(tmp_path / "p.csv"), str(tmp_path / "p.md")).set_index("source")
    assert by.loc["feature_ablation", "n"] == 1 and by.loc["random", "n"] == 1
    assert by.loc["feature_ablation", "precision"] == pytest.approx(0.5) and by.loc["random", "precision"] == 0.0


def test_random_words_of_the_field_people_highlight_are_a_third_reference(tmp_path):
    """CoS-E's spans lie in the CQA question: with the method's attributions, k random question
    words are scored beside it; where people's words are spread over the fields (e-SNLI), not."""
    def write(name, rows, schema):
        io.write_parquet(pd.DataFrame(rows), tmp_path / name, schema)
        return str(tmp_path / name)

    q = ["where", "do", "beavers", "build", "dams"]
    attr = [{"id": i, "target": "river", "target_logprob": -1.0, "words": q + ["river", "zoo"],
             "word_field": ["question"] * 5 + ["choice0", "choice1"], "word_start": list(range(7)),
             "word_end": list(range(1, 8)), "scores": [0.0] * 7} for i in ("a", "b", "c")]
    item = {"dataset": "cqa", "method": "saliency", "k": 2, "attributions": write("attr.parquet", attr, schemas.ATTRIBUTIONS),
            "human": write("human.parquet", {"id": ["a", "b", "c"], "rationale": ["beavers build dams"] * 3},
                           schemas.HUMAN_RATIONALES)}
    for name in ("top", "random"):
        item[name] = write(f"{name}.parquet", [{"id": i, "rationale": "river zoo", "words": ["river", "zoo"],
                                                 "positions": [5, 6]} for i in ("a", "b", "c")], schemas.RATIONALES)
    by = stages.plausibility_table([item], str(tmp_path / "p.csv"), str(tmp_path / "p.md")).set_index("source")
    assert list(by.index) == ["saliency", "random", "random question words"] and (by["n"] == 3).all()
    assert by.loc["saliency", "precision"] == 0.0
    # two question words drawn from five, three of which are the person's: precision in {0, 0.5, 1}, never from a choice
    assert 0 < by.loc["random question words", "precision"] <= 1
    # drawn under the rationales' rules: without the stopwords "where" and "do", every draw is the person's
    by = stages.plausibility_table([item], str(tmp_path / "p.csv"), str(tmp_path / "p.md"),
                                   exclude_stopwords=True).set_index("source")
    assert by.loc["random question words", "precision"] == 1.0
    spread = [dict(r, word_field=["premise"] * 3 + ["hypothesis"] * 4) for r in attr]
    item["attributions"] = write("attr2.parquet", spread, schemas.ATTRIBUTIONS)
    by = stages.plausibility_table([item], str(tmp_path / "p.csv"), str(tmp_path / "p.md")).set_index("source")
    assert list(by.index) == ["saliency", "random"]


def test_the_workflow_plans_plausibility_where_the_data_has_people_s_rationales(tmp_path, paper_offline):
    over = tmp_path / "analyses.yaml"
    over.write_text(yaml.safe_dump({"analyses": {"plausibility": True}}))
    run = snakemake("-n", "--configfile", str(ROOT / "configs/paper.yaml"), str(paper_offline), str(over), cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    counts = job_counts(run.stdout)
    assert counts["human_rationales"] == 2 and counts["plausibility_table"] == 1  # cqa and esnli only
    assert "results/cqa/data/human_rationales.parquet" in run.stdout and "results/svamp/data/human_rationales" not in run.stdout
