"""Bad input is caught before any GPU time, with a message naming the key, file or line and what
is expected. One test per case; the workflow-level ones go through `snakemake -n`."""

import json

import pytest
import yaml

from akd.config import ConfigError, check, validate_schema
from akd.prepare import check_k, input_stats, load_splits, prepare
from akd.sources.common import DataError
from akd.sources.dss import load_split
from akd.sources.tabular import load_file
from dss_fixture import write_dss
from workflow_helpers import ROOT, TINY, snakemake

SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def tiny() -> dict:
    return yaml.safe_load(TINY.read_text())


@pytest.fixture()
def dss_root(tmp_path):
    return write_dss(tmp_path / "dss")


def test_misspelled_key_names_the_key_and_the_likely_one():
    cfg = tiny()
    cfg["attribution"]["n_stesp"] = cfg["attribution"].pop("n_steps")
    with pytest.raises(ConfigError, match=r"attribution\.n_stesp: unknown key; did you mean 'n_steps'\?"):
        validate_schema(cfg, SCHEMA)


@pytest.mark.parametrize("where, value, message", [
    (("rationales", "k"), "3", r"rationales\.k: '3' is not of type 'array'"),
    (("student", "train", "lr"), "fast", r"student\.train\.lr: 'fast' is not of type 'number'"),
    (("resources", "teacher", "gpu"), -1, r"resources\.teacher\.gpu: -1 is less than the minimum of 0"),
    (("teacher", "shards"), 0, r"teacher\.shards: 0 is not valid"),
])
def test_wrong_types_name_the_key(where, value, message):
    cfg = tiny()
    node = cfg
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    with pytest.raises(ConfigError, match=message):
        validate_schema(cfg, SCHEMA)


def test_wrong_type_stops_the_workflow_before_any_job(tmp_path):
    cfg = tiny()
    cfg["student"]["seeds"] = "0"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run = snakemake("-n", "--configfile", str(path), cwd=tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode != 0 and "student.seeds: '0' is not of type 'array'" in out
    assert "Job stats" not in out and not (tmp_path / "results").exists()  # not even a plan was made


def test_k_larger_than_the_inputs_allow(tmp_path):
    out = {s: str(tmp_path / f"{s}.parquet") for s in ("train", "valid", "test")}
    prepare({"name": "syn", "source": "synthetic", "task": "math", "sizes": {"train": 50, "valid": 5, "test": 5}}, out)
    stats = input_stats(out["train"])
    assert stats["examples"] == 50 and set(stats) == {"examples", "punct=1,stop=1", "punct=1,stop=0",
                                                      "punct=0,stop=1", "punct=0,stop=0"}
    check_k("syn-math", stats, [1, 3])
    with pytest.raises(DataError, match=r"rationales\.k: 40 is larger than the inputs of 'syn-math' allow: 100% "
                                        r"of its 50 training examples have at most 40 distinct eligible words"):
        check_k("syn-math", stats, [1, 40])


def test_k_too_large_stops_the_workflow_before_any_teacher_job(tmp_path):
    cfg = tiny()
    cfg["rationales"]["k"] = [2, 60]
    path = tmp_path / "bad_k.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run = snakemake("--cores", "2", "--configfile", str(path), cwd=tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode != 0 and "rationales.k: 60 is larger than the inputs of" in out
    assert (tmp_path / "results/syn-nli/data/train.parquet").exists()
    assert not list(tmp_path.glob("results/*/teacher"))  # no teacher job ran
    # once the statistics exist, the same config fails while Snakemake plans, before any job
    (tmp_path / "results/syn-nli/data").mkdir(parents=True, exist_ok=True)
    from akd.io import write_json

    for ds in ("syn-nli", "syn-math"):
        write_json(input_stats(tmp_path / f"results/{ds}/data/train.parquet"), tmp_path / f"results/{ds}/data/stats.json")
    dry = snakemake("-n", "--configfile", str(path), cwd=tmp_path)
    assert dry.returncode != 0 and "rationales.k: 60 is larger than the inputs of" in dry.stdout + dry.stderr


def test_dataset_folder_missing_a_split(dss_root):
    ds = {"source": "dss", "task": "nli", "root": str(dss_root), "name": "esnli",
          "splits": {"train": "train", "valid": "valid", "test": "test"}}
    with pytest.raises(DataError, match=r"esnli_train\.json: split file not found\. Map the split to another"):
        load_splits(ds)


def test_malformed_json_line(dss_root):
    p = dss_root / "anli1" / "anli1_valid.json"
    p.write_text(p.read_text() + '{"uid": "x", "premise": \n')
    with pytest.raises(DataError, match=r"anli1_valid\.json:7"):
        load_split(dss_root, "anli1", "nli", "valid")


def test_empty_input(dss_root, tmp_path):
    (dss_root / "cqa" / "cqa_test.json").write_text("")
    with pytest.raises(DataError, match=r"cqa_test\.json: the file holds no examples"):
        load_split(dss_root, "cqa", "mc", "test")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(DataError, match="holds no examples"):
        load_file(str(empty), "nli", None)


@pytest.mark.parametrize("task, row, message", [
    ("nli", {"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": "maybe"},
     r"NLI label 'maybe' is not 0/1/2 or one of"),
    ("nli", {"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": 7}, r"NLI label 7 is not 0/1/2"),
    ("mc", {"question": "Where?", "choices": ["here", "there"], "label": "nowhere"},
     r"label 'nowhere' is not one of the choices \['here', 'there'\]"),
    ("math", {"question": "How many?", "label": "__import__('os')"},
     r"label \"__import__\('os'\)\" is not a number or an equation of numbers"),
])
def test_label_outside_the_task_label_set(tmp_path, task, row, message):
    f = tmp_path / "data.jsonl"
    f.write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match=rf"{f}:1: .*{message}"):
        load_file(str(f), task, None)


def test_llm_outputs_that_do_not_match_the_split(dss_root):
    (dss_root / "svamp" / "llm" / "test_CoT_1.json").write_text(json.dumps(["a", "b", "c"]))
    with pytest.raises(DataError, match=r"hold 7 outputs but the split has 6 rows"):
        load_split(dss_root, "svamp", "math", "test")


@pytest.mark.parametrize("spec, message", [
    ("tiny:t5-huge", r"models\.student-nano\.model: model 'tiny:t5-huge': unknown tiny preset"),
    ("./no/such/folder", r"models\.student-nano\.model: model './no/such/folder' is neither a tiny: preset"),
    ("google/flan t5", r"is neither a tiny: preset .* an existing folder, nor a hub name"),
])
def test_model_spec_that_is_no_hub_name_folder_or_preset(spec, message):
    cfg = tiny()
    cfg["models"]["student-nano"]["model"] = spec
    with pytest.raises(ConfigError, match=message):
        check(cfg)


def test_trust_remote_code_is_refused():
    cfg = tiny()
    cfg["models"]["teacher-nano"] = {"model": "someorg/custom-model", "trust_remote_code": True}
    with pytest.raises(ConfigError, match=r"models\.teacher-nano\.trust_remote_code: remote code is not allowed"):
        check(cfg)
