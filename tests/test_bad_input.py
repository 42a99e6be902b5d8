"""Bad input is caught before any GPU time, with a message naming the key, file or line and what
is expected. One test per case; the workflow-level ones go through `snakemake -n`."""

import json

import pytest
import yaml

from akd.config import ConfigError, check, validate_schema
from akd.prepare import input_stats, load_splits, write_splits
from akd.sources.common import DataError
from akd.sources.dss import load_split
from akd.sources.tabular import load_file
from akd.words import check_k
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
    write_splits({"name": "syn", "source": "synthetic", "task": "math", "sizes": {"train": 50, "valid": 5, "test": 5}}, out)
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
    # the user sees the message once per dataset whose job ran (both run when the machine is busy:
    # the second starts before the first fails), without a traceback; the traceback is in the job's log
    assert all(out.count(f"rationales.k: 60 is larger than the inputs of '{ds}'") <= 1 for ds in ("syn-nli", "syn-math"))
    assert "Traceback" not in out, out[-3000:]
    assert "Error in rule input_stats (dataset=" in out and "(traceback in results/logs/" in out
    logs = [p.read_text() for p in tmp_path.glob("results/logs/*/input_stats.log")]
    assert any("Traceback" in log and "rationales.k: 60" in log for log in logs)
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
    ("./no/such/folder", r"models\.student-nano\.model: model './no/such/folder' looks like a folder path, but no such"),
    ("~/no-such-model-folder", r"model '~/no-such-model-folder' looks like a folder path"),
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


def test_a_model_path_with_a_typo_is_caught_before_any_job(tmp_path, monkeypatch):
    """`models/t5-smal` could be a hub name, but `models/` is a folder here: a typo, said at once."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models/t5-small").mkdir(parents=True)
    cfg = tiny()
    cfg["models"]["student-nano"]["model"] = "models/t5-smal"
    with pytest.raises(ConfigError, match=r"models\.student-nano\.model: model 'models/t5-smal' looks like a folder "
                                          r"path, but no such folder exists \(models exists; its folders: \['t5-small'\]\)"):
        check(cfg)
    cfg["models"]["student-nano"]["model"] = "models/t5-small"
    check(cfg)


def _jsonl(path, rows, encoding="utf-8"):
    path.write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode(encoding))
    return str(path)


MC = [{"id": f"q{i}", "question": f"Where is thing {i}?", "choices": ["box", "shelf", "bag"], "label": "box"}
      for i in range(4)]


@pytest.mark.parametrize("row, message", [
    ({"choices": ["box", "shelf"]}, r"rows\.jsonl:3: 2 choices, but .*rows\.jsonl:1 and the rows before have 3"),
    ({"label": 3}, r"rows\.jsonl:3: label 3 is not a choice index: there are 3 choices \(0 to 2\)"),
    ({"label": -1}, r"rows\.jsonl:3: label -1 is not a choice index"),
    ({"choices": ["box", "", "bag"]}, r"rows\.jsonl:3: choice '' is empty or not text"),
    ({"choices": "box, shelf"}, r"rows\.jsonl:3: choices 'box, shelf' is not a JSON list"),
    ({"id": "q0"}, r"rows\.jsonl:3: example id 'q0' occurs more than once in split (train|test) \(first at .*rows\.jsonl:1\)"),
])
def test_bad_multiple_choice_rows_name_file_and_line(tmp_path, row, message):
    rows = [dict(r) for r in MC]
    rows[2].update(row)
    path = _jsonl(tmp_path / "rows.jsonl", rows)
    ds = {"source": "file", "task": "mc", "files": {"train": path, "valid": None, "test": path}, "valid_size": 1}
    with pytest.raises(DataError, match=message):
        load_splits(ds)


def test_a_repeated_choice_is_accepted(tmp_path):
    """CommonsenseQA itself has rows with a choice twice (cqa_train.json line 2: 'bridge', 'bridge'):
    the label is still one of the choices, and ranking picks the first of equal candidates."""
    rows = [dict(r, choices=["box", "bridge", "bridge"]) for r in MC]
    assert [e["choices"] for e in load_file(_jsonl(tmp_path / "rows.jsonl", rows), "mc", None)][0] == ["box", "bridge", "bridge"]


def test_a_label_index_inside_the_choices_is_read_as_that_choice(tmp_path):
    rows = [dict(r, label=1) for r in MC]
    assert [e["label"] for e in load_file(_jsonl(tmp_path / "rows.jsonl", rows), "mc", None)] == ["shelf"] * 4


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_file_that_is_not_utf8_names_file_and_line(tmp_path, suffix):
    path = tmp_path / f"rows{suffix}"
    if suffix == ".jsonl":
        _jsonl(path, [{"question": "1 + 1?", "label": "1 + 1"}, {"question": "caf\u00e9 2 + 2?", "label": "2 + 2"}], "latin-1")
    else:
        path.write_bytes("question,label\n1 + 1?,1 + 1\ncaf\u00e9 2 + 2?,2 + 2\n".encode("latin-1"))
    with pytest.raises(DataError, match=rf"rows\{suffix}:{2 if suffix == '.jsonl' else 3}: not UTF-8 text \(byte 0xe9"):
        load_file(str(path), "math", None)


def test_a_gap_in_the_cot_file_numbers_is_an_error(dss_root):
    llm = dss_root / "svamp" / "llm"
    (llm / "test_CoT_1.json").rename(llm / "test_CoT_2.json")
    with pytest.raises(DataError, match=r"svamp/llm: test_CoT_1\.json is missing \(found test_CoT_0\.json, "
                                        r"test_CoT_2\.json\)"):
        load_split(dss_root, "svamp", "math", "test")


def test_a_cot_file_that_is_not_utf8_names_the_file(dss_root):
    (dss_root / "svamp" / "llm" / "test_CoT_1.json").write_bytes('["caf\u00e9"]'.encode("latin-1"))
    with pytest.raises(DataError, match=r"test_CoT_1\.json:1: not UTF-8 text"):
        load_split(dss_root, "svamp", "math", "test")


@pytest.mark.parametrize("key, value, message", [
    ("split_seed", -1, r"datasets\.syn-nli\.split_seed: -1 is less than the minimum of 0"),
    ("split_seed", 2**32, r"datasets\.syn-nli\.split_seed: 4294967296 is greater than the maximum"),
    ("limit", {"train": 0}, r"datasets\.syn-nli\.limit\.train: 0 is less than the minimum of 1"),
])
def test_bad_dataset_numbers_name_the_key(key, value, message):
    cfg = tiny()
    cfg["datasets"]["syn-nli"][key] = value
    with pytest.raises(ConfigError, match=message):
        validate_schema(cfg, SCHEMA)


@pytest.mark.parametrize("label, message", [
    (1.5, r"NLI label 1\.5 is not 0/1/2"),
    (-1, r"NLI label -1 is not 0/1/2 .*-1 marks a row without a gold label"),
    ("maybe", r"NLI label 'maybe' is not 0/1/2"),
])
def test_bad_nli_labels_name_file_and_line(tmp_path, label, message):
    rows = [{"premise": "A man sleeps.", "hypothesis": "A man rests.", "label": 0}] * 2
    rows = [dict(r, id=f"r{i}") for i, r in enumerate(rows)] + [{"id": "x", "premise": "p", "hypothesis": "h", "label": label}]
    with pytest.raises(DataError, match=r"rows\.jsonl:3: " + message):
        load_file(_jsonl(tmp_path / "rows.jsonl", rows), "nli", None)


def test_dss_choices_that_are_not_a_list(dss_root):
    path = dss_root / "cqa" / "cqa_test.json"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[1]["choices"] = "british columbia, body of water"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=r"cqa_test\.json:2: choices 'british columbia, body of water' is not a list"):
        load_split(dss_root, "cqa", "mc", "test")


@pytest.mark.parametrize("entry, message", [
    ({"shrink": {"from": "nope", "layers": 2}}, r"models\.small\.shrink\.from: 'nope' is not another alias"),
    ({"shrink": {"from": "teacher-nano", "layers": 2}}, r"models\.small\.shrink\.from: 'teacher-nano' must be a pretrained"),
    ({"model": "x/y", "shrink": {"from": "teacher-nano"}}, r"models\.small: `shrink` builds the model from another alias; drop \['model'\]"),
])
def test_bad_shrink_entries_name_the_key(entry, message):
    cfg = tiny()
    cfg["models"]["small"] = entry
    with pytest.raises(ConfigError, match=message):
        check(cfg)


def test_a_shrink_layer_list_must_be_indices():
    cfg = tiny()
    cfg["models"]["small"] = {"shrink": {"from": "teacher-nano", "layers": [0, -1]}}
    with pytest.raises(ConfigError, match=r"models\.small\.shrink\.layers"):
        validate_schema(cfg, SCHEMA)


def test_a_cot_demonstration_whose_answer_is_not_one_of_its_choices_is_an_error():
    cfg = tiny()
    cfg["teacher"]["cot"] = {"demos": [
        {"input": "Where do apples grow?", "rationale": "On trees.", "answer": "tree", "choices": ["tree", "sea"]},
        {"input": "What is wet?", "rationale": "Water is.", "answer": "the sea", "choices": ["tree", "sea"]}]}
    with pytest.raises(ConfigError, match=r"teacher\.cot\.demos\[1\]\.answer: 'the sea' is not one of its choices"):
        check(cfg)
    cfg["teacher"]["cot"]["demos"][1]["answer"] = "sea"
    check(cfg)
