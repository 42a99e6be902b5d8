import json
import os

import pytest

from akd.prepare import load_splits, read_examples, write_splits
from akd.sources.common import DataError
from akd.sources.dss import load_split, parse_llm_output
from akd.sources.synthetic import generate
from dss_fixture import write_dss
from workflow_helpers import documented


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
    assert es[0]["input"] == "</s>".join(["Two women are embracing 0.", "The sisters are hugging."])
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
    assert out["test"][0]["input"] == "</s>".join(["A dog runs.", "An animal moves."])


HUB_ROWS = [{"sentence1": "A dog runs.", "sentence2": "An animal moves.", "gold": 0},
            {"sentence1": "A cat sleeps.", "sentence2": "The cat dances.", "gold": 2},
            {"sentence1": "A man reads.", "sentence2": "A person holds a book.", "gold": 0}]


def _stand_in_hub(monkeypatch, reachable: bool, cached=()):
    """`datasets.load_dataset` as the hub and the local cache answer it: a cached dataset loads
    offline; another one needs the hub, which offline mode (HF_HUB_OFFLINE, read when the job loads
    it) or a network that is down make unreachable, with the errors `datasets` raises."""
    import datasets

    asked = []

    def load_dataset(name, subset=None, split=None):
        offline = os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")
        if name not in cached:
            asked.append((name, split, "offline" if offline else "online"))
            if offline:
                raise ConnectionError(f"Couldn't reach '{name}' on the Hub (OfflineModeIsEnabled)")
            if not reachable:
                raise ConnectionError(f"Couldn't reach '{name}' on the Hub (ConnectError)")
        return datasets.Dataset.from_list(HUB_ROWS)

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return asked


def _prepare_job(tmp_path, dataset: dict):
    """The `prepare` rule's script run as Snakemake runs it, with what the rule gives it."""
    import runpy
    from types import SimpleNamespace

    from workflow_helpers import ROOT

    class Named(dict):
        __getattr__ = dict.get

    out = {s: str(tmp_path / f"results/hubby/data/{s}.parquet") for s in ("train", "valid", "test")}
    smk = SimpleNamespace(rule="prepare", wildcards=Named(dataset="hubby"), params=Named(dataset=dataset),
                          output=Named(out), log=[str(tmp_path / "results/logs/hubby/prepare.log")], threads=1,
                          resources=Named(), input=Named(), config={})
    runpy.run_path(str(ROOT / "workflow/scripts/prepare.py"), init_globals={"snakemake": smk})
    return out


HUB_DATASET = {"source": "hub", "task": "nli", "name": "someone/snli-like", "subset": None, "valid_size": 1,
               "splits": {"train": "train", "valid": None, "test": "test"},
               "columns": {"premise": "sentence1", "hypothesis": "sentence2", "label": "gold"}}


@pytest.fixture()
def user_env(monkeypatch):
    """A user's environment: no HF_HUB_OFFLINE (the tests' conftest sets it); the job's changes undone."""
    import logging

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    yield monkeypatch
    logging.basicConfig(force=True)  # the job pointed logging at its (closed) log file


def test_prepare_downloads_a_hub_dataset_that_is_not_cached(tmp_path, user_env):
    """Every job without a hub model used to set HF_HUB_OFFLINE=1, prepare too, so a hub dataset
    never downloaded: `Couldn't reach 'someone/snli-like' on the Hub (OfflineModeIsEnabled)`."""
    asked = _stand_in_hub(user_env, reachable=True)
    out = _prepare_job(tmp_path, HUB_DATASET)
    assert asked == [("someone/snli-like", "train", "online"), ("someone/snli-like", "test", "online")]
    assert len(read_examples(out["test"])) == 3 and len(read_examples(out["train"])) == 2


def test_a_hub_dataset_that_cannot_be_reached_is_named(tmp_path, user_env, capfd):
    _stand_in_hub(user_env, reachable=False)
    with pytest.raises(SystemExit):
        _prepare_job(tmp_path, HUB_DATASET)
    err = capfd.readouterr().err
    assert ("Error in rule prepare (dataset=hubby): hub dataset 'someone/snli-like' (split train) could not be "
            "loaded: ConnectionError: Couldn't reach 'someone/snli-like' on the Hub (ConnectError)") in err, err
    documented("hub dataset not reachable", err)


def test_offline_mode_stays_the_user_s_choice(tmp_path, user_env, capfd):
    """HF_HUB_OFFLINE=1 set by the user is kept: a cached dataset loads, another one is named with
    what to change."""
    user_env.setenv("HF_HUB_OFFLINE", "1")
    asked = _stand_in_hub(user_env, reachable=True, cached=["someone/snli-like"])
    _prepare_job(tmp_path, HUB_DATASET)
    assert asked == []
    _stand_in_hub(user_env, reachable=True)
    with pytest.raises(SystemExit):
        _prepare_job(tmp_path, HUB_DATASET)
    err = capfd.readouterr().err
    assert ("hub dataset 'someone/snli-like' (split train) could not be loaded: ConnectionError: Couldn't reach "
            "'someone/snli-like' on the Hub (OfflineModeIsEnabled); HF_HUB_OFFLINE=1 is set in this environment: "
            "unset it to download the dataset") in err, err


def test_jobs_that_fetch_nothing_from_the_hub_stay_offline(tmp_path, user_env):
    """The synthetic, file and dss sources and local or tiny models need no hub."""
    from types import SimpleNamespace

    from akd.smk import fetches_from_hub

    def job(**params):
        return SimpleNamespace(params=SimpleNamespace(**params))

    assert fetches_from_hub(job(dataset=HUB_DATASET)) == ["dataset someone/snli-like"]
    assert fetches_from_hub(job(model="google/flan-t5-small", settings={})) == ["model google/flan-t5-small"]
    assert fetches_from_hub(job(settings={"model": "org/m"})) == ["model org/m"]
    assert fetches_from_hub(job(dataset={"source": "synthetic", "task": "nli"})) == []
    assert fetches_from_hub(job(dataset={"source": "dss", "name": "cqa"})) == []
    assert fetches_from_hub(job(model=str(tmp_path), settings={"model": "tiny:t5-nano"})) == []
    assert fetches_from_hub(job(spec="tiny:t5-nano")) == []
