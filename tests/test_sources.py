import json

import pytest

from akd.prepare import load_splits, read_examples, write_splits
from akd.sources.common import DataError
from akd.sources.dss import load_split, parse_llm_output
from akd.sources.synthetic import generate
from dss_fixture import write_dss


@pytest.fixture()
def dss_root(tmp_path):
    return write_dss(tmp_path / "dss")


def test_dss_cqa_fields_template_and_cut_llm_output(dss_root):
    ex = load_split(dss_root, "cqa", "mc", "train")
    assert len(ex) == 6
    e = ex[0]
    assert e["label"] == "wooded area" and e["choices"][2] == "wooded area"
    assert e["input"].startswith("A beaver number 0 gets its supplies from where?\nAnswer Choices:\n(a) british columbia")
    assert e["llm_label"] == "wooded area"
    assert e["llm_rationale"] == "The answer must be where beavers get supplies. Only wooded areas have wood."
    assert "air freshener" not in e["llm_rationale"]  # the invented follow-up example is cut off
    assert ex[5]["llm_label"] is None  # no parseable answer


def test_dss_nli_formats(dss_root):
    es = load_split(dss_root, "esnli", "nli", "valid")
    assert es[0]["llm_label"] == "neutral"
    assert es[0]["llm_rationale"] == "The to go packages are not necessarily from lunch."
    assert [e["label"] for e in es[:3]] == ["entailment", "neutral", "contradiction"]
    assert es[0]["input"] == "Two women are embracing 0. </s> The sisters are hugging."
    an = load_split(dss_root, "anli1", "nli", "test")
    assert an[0]["id"] == "u0" and an[0]["llm_label"] == "contradiction"
    assert an[0]["llm_rationale"] == "The premise mentions London."


def test_dss_svamp_equation(dss_root):
    sv = load_split(dss_root, "svamp", "math", "test")
    assert sv[0]["label"] == "( 84.0 / 2.0 )" and sv[0]["llm_label"] == "(84 / 2)"
    assert "120 students" not in sv[0]["llm_rationale"]


def test_parse_truncated_outputs():
    assert parse_llm_output("math", "So 3. The answer is ((15 * 19) + 2).\n\nQ")[1] == "((15 * 19) + 2)"
    assert parse_llm_output("nli", "No answer here.")[1] is None


def test_missing_split_is_an_error_naming_the_file(dss_root):
    ds = {"source": "dss", "task": "nli", "root": str(dss_root), "name": "esnli",
          "splits": {"train": "train", "valid": "valid", "test": "test"}}
    with pytest.raises(DataError, match=r"esnli_train\.json"):
        load_splits(ds)


def test_split_mapping_and_carved_validation(dss_root, tmp_path):
    ds = {"source": "dss", "task": "nli", "root": str(dss_root), "name": "esnli",
          "splits": {"train": "valid", "valid": None, "test": "test"}, "valid_size": 2}
    out = {s: str(tmp_path / f"{s}.parquet") for s in ("train", "valid", "test")}
    counts = write_splits(ds, out)
    assert counts == {"train": 4, "valid": 2, "test": 6}
    tr, va = read_examples(out["train"]), read_examples(out["valid"])
    assert not set(tr["id"]) & set(va["id"])


def test_llm_output_count_must_match(dss_root):
    (dss_root / "cqa" / "llm" / "train_CoT_1.json").write_text(json.dumps(["only one"]))
    with pytest.raises(DataError, match="hold 5 outputs but the split has 6 rows"):
        load_split(dss_root, "cqa", "mc", "train")


def test_malformed_json_line_names_file_and_line(dss_root):
    p = dss_root / "svamp" / "svamp_test.json"
    p.write_text(p.read_text() + "{not json\n")
    with pytest.raises(DataError, match=r"svamp_test\.json:7"):
        load_split(dss_root, "svamp", "math", "test")


def test_synthetic_is_deterministic_and_label_depends_on_cue():
    a, b = generate("nli", 50, 0, "train"), generate("nli", 50, 0, "train")
    assert a == b and generate("nli", 50, 1, "train") != a
    from akd.sources.synthetic import CUES

    for e in a:
        hyp = e["fields"][1]["text"].split()
        cues = [w for w in hyp if any(w in v for v in CUES.values())]
        assert len(cues) == 1 and cues[0] in CUES[e["label"]]
    for e in generate("mc", 30, 0, "test"):
        assert e["label"] in e["choices"]


def test_file_source(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"q": "How many?", "y": "( 1.0 + 2.0 )", "rationale": "add"}\n')
    from akd.sources.tabular import load_file

    ex = load_file(str(p), "math", {"question": "q", "label": "y"})
    assert ex[0]["label"] == "( 1.0 + 2.0 )" and ex[0]["llm_rationale"] == "add"
    with pytest.raises(DataError, match="column 'premise'"):
        load_file(str(p), "nli", None)


def test_hub_source_maps_columns(monkeypatch):
    import datasets

    rows = [{"sentence1": "A dog runs.", "sentence2": "An animal moves.", "gold": 0},
            {"sentence1": "A cat sleeps.", "sentence2": "The cat dances.", "gold": 2}]
    calls = []

    def fake_load(name, subset=None, split=None):
        calls.append((name, subset, split))
        return datasets.Dataset.from_list(rows)

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    ds = {"source": "hub", "task": "nli", "name": "someone/snli-like", "subset": None, "valid_size": 1,
          "splits": {"train": "train", "valid": None, "test": "test"},
          "columns": {"premise": "sentence1", "hypothesis": "sentence2", "label": "gold"}}
    out = load_splits(ds)
    assert calls == [("someone/snli-like", None, "train"), ("someone/snli-like", None, "test")]
    assert len(out["train"]) == 1 and len(out["valid"]) == 1
    assert [e["label"] for e in out["test"]] == ["entailment", "contradiction"]
    assert out["test"][0]["input"] == "A dog runs. </s> An animal moves."
