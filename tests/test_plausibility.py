"""Plausibility (akd.plausibility): ERASER's token-level precision / recall / F1 of top-k words
against people's rationales, over word *positions* of each example, on hand-made rows; the DSS
reader keeps CoS-E's and e-SNLI's rationales aside; the workflow plans the table only where the
data has them.

The tests used to score word *types* (a top-k word counted when the same lower-cased word occurred
anywhere in the person's rationale); their expected values changed with the metric: a choice word
that equals a word of the question's CoS-E span is now a miss, and a word counts once per position
the person covered, as in ERASER."""

import pandas as pd
import pytest
import yaml

from akd import io, schemas, stages
from akd.plausibility import PROXY, SPAN, human_positions, token_prf
from akd.sources.dss import load_split
from akd.words import WORD
from dss_fixture import write_dss
from workflow_helpers import ROOT, job_counts, snakemake


def attribution_row(ex_id: str, **fields: str) -> dict:
    """An attribution row of hand-made fields, split into words as the attribution stage does."""
    row = {"id": ex_id, "target": "t", "target_logprob": -1.0, "words": [], "word_field": [], "word_start": [],
           "word_end": []}
    for name, text in fields.items():
        for m in WORD.finditer(text):
            row["words"].append(m.group())
            row["word_field"].append(name)
            row["word_start"].append(m.start())
            row["word_end"].append(m.end())
    row["scores"] = [0.0] * len(row["words"])
    return row


def rationale(row: dict, positions: list[int]) -> dict:
    words = [row["words"][j] for j in positions]
    return {"id": row["id"], "rationale": " ".join(words), "words": words, "positions": positions}


def write(tmp_path, name: str, rows, schema) -> str:
    io.write_parquet(pd.DataFrame(rows), tmp_path / name, schema)
    return str(tmp_path / name)


def eraser_token_scores(instances: list[tuple[set, set]]) -> tuple[float, float, float]:
    """ERASER's reported Token P / R / F1 written out independently of akd: per instance (here, one
    example) precision = |pred & truth| / |pred|, recall = |pred & truth| / |truth| (0 on an empty
    side), F1 = harmonic mean (0 when either is 0); then the mean of each over the instances
    ("instance_macro" of score_hard_rationale_predictions: F1 is the mean of the F1s)."""
    ps, rs, fs = [], [], []
    for truth, pred in instances:
        tp = len(truth & pred)
        p = tp / len(pred) if len(pred) else 0.0
        r = tp / len(truth) if len(truth) else 0.0
        ps.append(p)
        rs.append(r)
        fs.append(0.0 if p == 0 or r == 0 else 2 * p * r / (p + r))
    return sum(ps) / len(ps), sum(rs) / len(rs), sum(fs) / len(fs)


# Two CQA examples.  a: question words 0-8 (Where do beavers build dams near the river ?), choices
# river (9), zoo (10), forest (11); CoS-E's span "build dams near the river" is positions 3-7.
# b: question words 0-12 (... use to absorb extra ink from a fountain pen ?), choices 13-20 (blotter: 20);
# the span "absorb extra ink" is positions 5-7.
ROW_A = attribution_row("a", question="Where do beavers build dams near the river?", choice0="river",
                        choice1="zoo", choice2="forest")
ROW_B = attribution_row("b", question="What do people use to absorb extra ink from a fountain pen?",
                        choice0="shirt pocket", choice1="calligrapher's hand", choice2="inkwell",
                        choice3="desk drawer", choice4="blotter")
HUMAN = {"a": "build dams near the river", "b": "absorb extra ink"}
TOP = {"a": [4, 9, 10], "b": [5, 7, 20]}  # a: dams, river (the choice), zoo; b: absorb, ink, blotter


def test_the_hand_made_rows_are_what_the_comments_say():
    assert [ROW_A["words"][j] for j in TOP["a"]] == ["dams", "river", "zoo"]
    assert ROW_A["word_field"][9] == "choice0" and ROW_A["words"][7] == "river"
    assert [ROW_B["words"][j] for j in TOP["b"]] == ["absorb", "ink", "blotter"]
    assert [ROW_B["words"][j] for j in range(5, 8)] == ["absorb", "extra", "ink"]


def test_human_positions_of_cos_e_spans_and_e_snli_explanations():
    assert human_positions(ROW_A, HUMAN["a"]) == ({3, 4, 5, 6, 7}, SPAN)  # never the choice "river" (9)
    # case-insensitive, whitespace-normalised; the first occurrence; punctuation left out
    row = attribution_row("x", question="The Dog  saw the dog ?", choice0="dog")
    assert human_positions(row, "the dog") == ({0, 1}, SPAN)
    assert human_positions(row, "dog saw the dog ?") == ({1, 2, 3, 4}, SPAN)
    # a span cut inside a word (CoS-E: "oilet and wash my hands") covers the words it overlaps
    row = attribution_row("x", question="Flush the toilet and wash my hands, then?", choice0="hands")
    assert human_positions(row, "oilet and wash my hands") == ({2, 3, 4, 5, 6}, SPAN)
    row = attribution_row("x", question="A cube has a top, bottom, two sides and what else?", choice0="top")
    assert human_positions(row, "top, bottom, two side") == ({4, 6, 8, 9}, SPAN)
    # not found (CoS-E joined two pieces): the question words whose form occurs in the span, every
    # occurrence ("was" at 5 and 11), never a choice's
    row = attribution_row("x", question="Sarah thought that her party was a surprise, but it was entirely what?",
                          choice0="entirely")
    assert human_positions(row, "thoughbut it was entirely what") == ({5, 10, 11, 12, 13}, PROXY)
    # e-SNLI: premise (0-3) and hypothesis (4-8) words whose form occurs in the free-text explanation
    row = attribution_row("x", premise="A man sleeps.", hypothesis="A man is awake.")
    assert human_positions(row, "A man who sleeps is not awake.") == ({0, 1, 2, 4, 5, 6, 7}, PROXY)
    assert human_positions(row, "") == (set(), PROXY)


def test_token_prf_of_sets_of_positions():
    assert token_prf({3, 4, 9}, {3, 4, 5, 6}) == pytest.approx((2 / 3, 2 / 4, 2 * (2 / 3) * (1 / 2) / (2 / 3 + 1 / 2)))
    assert token_prf(set(), {1}) == (0.0, 0.0, 0.0) and token_prf({1}, set()) == (0.0, 0.0, 0.0)
    assert token_prf({9}, {3}) == (0.0, 0.0, 0.0)


def test_the_table_is_eraser_token_prf_over_positions_not_word_types(tmp_path):
    """a: the top-k take "river" from a choice while the CoS-E span holds the question's "river":
    matching word types would count it (precision 2/3), positions do not (1/3)."""
    attr = write(tmp_path, "attr.parquet", [ROW_A, ROW_B], schemas.ATTRIBUTIONS)
    human = write(tmp_path, "human.parquet", {"id": list(HUMAN), "rationale": list(HUMAN.values())},
                  schemas.HUMAN_RATIONALES)
    top = write(tmp_path, "top.parquet", [rationale(ROW_A, TOP["a"]), rationale(ROW_B, TOP["b"])], schemas.RATIONALES)
    rnd = write(tmp_path, "rnd.parquet", [rationale(ROW_A, [0, 9, 11]), rationale(ROW_B, [6, 13, 14])],
                schemas.RATIONALES)
    item = {"dataset": "cqa", "method": "saliency", "k": 3, "top": top, "random": rnd, "human": human,
            "attributions": attr}
    table = stages.plausibility_table([item], str(tmp_path / "p.csv"), str(tmp_path / "p.md"), str(tmp_path / "p.html"))
    by = table.set_index("source")

    truth = {"a": {3, 4, 5, 6, 7}, "b": {5, 6, 7}}
    expected = eraser_token_scores([(truth["a"], {4, 9, 10}), (truth["b"], {5, 7, 20})])
    # by hand: a: P 1/3, R 1/5, F1 1/4; b: P 2/3, R 2/3, F1 2/3 -> means 1/2, 13/30, 11/24
    assert expected == pytest.approx((1 / 2, 13 / 30, 11 / 24))
    got = tuple(by.loc["saliency", ["precision", "recall", "f1"]])
    assert got == pytest.approx(expected, abs=1e-4) and by.loc["saliency", "n"] == 2
    # instance-macro, as ERASER reports: not the F1 of the mean P and R (13/28), nor pooled counts (3/7)
    assert by.loc["saliency", "f1"] != pytest.approx(13 / 28, abs=1e-3) and by.loc["saliency", "f1"] != pytest.approx(3 / 7, abs=1e-3)
    # word types gave a 2/3 ("dams", "river" in the span), so a mean precision of (2/3 + 2/3) / 2
    assert len({"dams", "river", "zoo"} & set(HUMAN["a"].split())) == 2 and got[0] != pytest.approx(2 / 3, abs=1e-3)

    # random: a {0 "Where", 9 "river" (choice), 11}; b {6 "extra", 13, 14}
    assert tuple(by.loc["random", ["precision", "recall", "f1"]]) == pytest.approx(
        eraser_token_scores([(truth["a"], {0, 9, 11}), (truth["b"], {6, 13, 14})]), abs=1e-4)
    assert by.loc["random", "precision"] == pytest.approx(1 / 6, abs=1e-4)
    assert list(by.index) == ["saliency", "random", "random question words"] and (by["human_proxy"] == 0).all()
    text = (tmp_path / "p.md").read_text()
    assert "CoS-E" in text and "positions" in text


def test_random_words_are_scored_on_the_examples_the_method_has(tmp_path):
    """A method attributed on a few examples only (analyses.compare_methods): its random reference
    row covers the same examples, not the whole split's."""
    attr = write(tmp_path, "attr.parquet", [ROW_A], schemas.ATTRIBUTIONS)  # the method's rows: "a" only
    human = write(tmp_path, "human.parquet", {"id": list(HUMAN), "rationale": list(HUMAN.values())},
                  schemas.HUMAN_RATIONALES)
    top = write(tmp_path, "top.parquet", [rationale(ROW_A, [4, 10])], schemas.RATIONALES)
    rnd = write(tmp_path, "rnd.parquet", [rationale(ROW_A, [2, 10]), rationale(ROW_B, [5, 6])], schemas.RATIONALES)
    item = {"dataset": "cqa", "method": "feature_ablation", "k": 2, "top": top, "random": rnd, "human": human,
            "attributions": attr}
    by = stages.plausibility_table([item], str(tmp_path / "p.csv"), str(tmp_path / "p.md")).set_index("source")
    assert by.loc["feature_ablation", "n"] == 1 and by.loc["random", "n"] == 1
    assert by.loc["feature_ablation", "precision"] == pytest.approx(0.5) and by.loc["random", "precision"] == 0.0


def test_a_rationale_whose_words_are_not_the_rows_at_its_positions_is_an_error(tmp_path):
    attr = write(tmp_path, "attr.parquet", [ROW_A], schemas.ATTRIBUTIONS)
    human = write(tmp_path, "human.parquet", {"id": ["a"], "rationale": [HUMAN["a"]]}, schemas.HUMAN_RATIONALES)
    stale = [{"id": "a", "rationale": "river zoo", "words": ["river", "zoo"], "positions": [7, 9]}]
    top = write(tmp_path, "top.parquet", stale, schemas.RATIONALES)
    item = {"dataset": "cqa", "method": "saliency", "k": 2, "top": top, "random": top, "human": human,
            "attributions": attr}
    with pytest.raises(ValueError, match="not its attribution row's"):
        stages.plausibility_table([item], str(tmp_path / "p.csv"), str(tmp_path / "p.md"))


def test_the_dss_reader_keeps_cos_e_and_esnli_rationales(tmp_path):
    root = write_dss(tmp_path / "dss")
    assert {e["human_rationale"] for e in load_split(root, "cqa", "mc", "train")} == {"supplies"}
    assert {e["human_rationale"] for e in load_split(root, "esnli", "nli", "test")} == {"e1"}
    assert all("human_rationale" not in e for e in load_split(root, "anli1", "nli", "test"))


def test_random_words_of_the_field_people_highlight_are_a_third_reference(tmp_path):
    """CoS-E's spans lie in the CQA question: k random question words, drawn as positions, are
    scored beside the method; where people's positions are spread over the fields (e-SNLI), not."""
    rows = [attribution_row(i, question="where do beavers build dams", choice0="river", choice1="dams")
            for i in ("a", "b", "c")]
    item = {"dataset": "cqa", "method": "saliency", "k": 2,
            "attributions": write(tmp_path, "attr.parquet", rows, schemas.ATTRIBUTIONS),
            "human": write(tmp_path, "human.parquet", {"id": ["a", "b", "c"], "rationale": ["beavers build dams"] * 3},
                           schemas.HUMAN_RATIONALES)}
    for name in ("top", "random"):  # "river" and the choice "dams": the question's "dams" is the person's, not these
        item[name] = write(tmp_path, f"{name}.parquet", [rationale(r, [5, 6]) for r in rows], schemas.RATIONALES)
    by = stages.plausibility_table([item], str(tmp_path / "p.csv"), str(tmp_path / "p.md")).set_index("source")
    assert list(by.index) == ["saliency", "random", "random question words"] and (by["n"] == 3).all()
    assert by.loc["saliency", "precision"] == 0.0  # with word types it was 0.5: "dams" of choice1
    # two question positions drawn from five, three of which (2-4) are the person's: precision in {0, 0.5, 1}
    assert 0 < by.loc["random question words", "precision"] <= 1
    # drawn under the rationales' rules: without the stopwords "where" and "do", every draw is the person's
    by = stages.plausibility_table([item], str(tmp_path / "p.csv"), str(tmp_path / "p.md"),
                                   exclude_stopwords=True).set_index("source")
    assert by.loc["random question words", "precision"] == 1.0
    # e-SNLI-like: premise 0-2, hypothesis 3-6 (5, 6: "river", "dams" as before); the person's: 2, 3, 4, 6
    spread = [attribution_row(i, premise="where do beavers", hypothesis="build dams river dams") for i in ("a", "b", "c")]
    item["attributions"] = write(tmp_path, "attr2.parquet", spread, schemas.ATTRIBUTIONS)
    by = stages.plausibility_table([item], str(tmp_path / "p.csv"), str(tmp_path / "p.md")).set_index("source")
    assert list(by.index) == ["saliency", "random"] and (by["human_proxy"] == 3).all()  # e-SNLI-like: a proxy


def test_the_workflow_plans_plausibility_where_the_data_has_people_s_rationales(tmp_path, paper_offline):
    over = tmp_path / "analyses.yaml"
    over.write_text(yaml.safe_dump({"analyses": {"plausibility": True}}))
    run = snakemake("-n", "--configfile", str(ROOT / "configs/paper.yaml"), str(paper_offline), str(over), cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    counts = job_counts(run.stdout)
    assert counts["human_rationales"] == 2 and counts["plausibility_table"] == 1  # cqa and esnli only
    assert "results/cqa/data/human_rationales.parquet" in run.stdout and "results/svamp/data/human_rationales" not in run.stdout
