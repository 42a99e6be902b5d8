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
from workflow_helpers import ROOT, TINY, documented, documented_errors, planned_jobs, snakemake

SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def tiny() -> dict:
    return yaml.safe_load(TINY.read_text())


@pytest.fixture()
def dss_root(tmp_path):
    return write_dss(tmp_path / "dss")


def test_misspelled_key_names_the_key_and_the_likely_one():
    cfg = tiny()
    cfg["attribution"]["n_stesp"] = cfg["attribution"].pop("n_steps")
    with pytest.raises(ConfigError, match=r"attribution\.n_stesp: unknown key; did you mean 'n_steps'\?") as caught:
        validate_schema(cfg, SCHEMA)
    documented("misspelled key", str(caught.value))


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
    with pytest.raises(ConfigError, match=message) as caught:
        validate_schema(cfg, SCHEMA)
    if where == ("rationales", "k"):
        documented("wrong type", str(caught.value))


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
                                        r"of its 50 training examples have at most 40 distinct eligible words") as caught:
        check_k("syn-math", stats, [1, 40])
    documented("k larger than the inputs allow", str(caught.value))


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
    with pytest.raises(DataError, match=r"anli1_valid\.json:7") as caught:
        load_split(dss_root, "anli1", "nli", "valid")
    documented("malformed JSON line", str(caught.value))


def test_empty_input(dss_root, tmp_path):
    (dss_root / "cqa" / "cqa_test.json").write_text("")
    with pytest.raises(DataError, match=r"cqa_test\.json: the file holds no examples") as caught:
        load_split(dss_root, "cqa", "mc", "test")
    documented("empty input", str(caught.value))
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
    with pytest.raises(DataError, match=rf"{f}:1: .*{message}") as caught:
        load_file(str(f), task, None)
    documented("label outside the label set", str(caught.value))


def test_llm_outputs_that_do_not_match_the_split(dss_root):
    (dss_root / "svamp" / "llm" / "test_CoT_1.json").write_text(json.dumps(["a", "b", "c"]))
    with pytest.raises(DataError, match=r"hold 7 outputs but the split has 6 rows") as caught:
        load_split(dss_root, "svamp", "math", "test")
    documented("LLM outputs not matching the split", str(caught.value))


@pytest.mark.parametrize("spec, message", [
    ("tiny:t5-huge", r"models\.student-nano\.model: model 'tiny:t5-huge': unknown tiny preset"),
    ("./no/such/folder", r"models\.student-nano\.model: model './no/such/folder' looks like a folder path, but no such"),
    ("~/no-such-model-folder", r"model '~/no-such-model-folder' looks like a folder path"),
    ("google/flan t5", r"is neither a tiny: preset .* an existing folder, nor a hub name"),
])
def test_model_spec_that_is_no_hub_name_folder_or_preset(spec, message):
    cfg = tiny()
    cfg["models"]["student-nano"]["model"] = spec
    with pytest.raises(ConfigError, match=message) as caught:
        check(cfg)
    if spec == "./no/such/folder":
        documented("model spec that is nothing known", str(caught.value))


def test_trust_remote_code_is_refused():
    cfg = tiny()
    cfg["models"]["teacher-nano"] = {"model": "someorg/custom-model", "trust_remote_code": True}
    with pytest.raises(ConfigError, match=r"models\.teacher-nano\.trust_remote_code: remote code is not allowed") as caught:
        check(cfg)
    documented("`trust_remote_code: true`", str(caught.value))


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


@pytest.mark.parametrize("field", ["input", "rationale", "answer"])
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_field_of_a_cot_demonstration_is_an_error(field, value):
    """An empty rationale would make the demonstration `A:  So the answer is (c) ...`."""
    cfg = tiny()
    cfg["teacher"]["cot"] = {"demos": [
        {"input": "Where do apples grow?", "rationale": "On trees.", "answer": "tree", "choices": ["tree", "sea"]},
        {"input": "What is 1 + 1?", "rationale": "One and one make two.", "answer": "( 1 + 1 )"}]}
    cfg["teacher"]["cot"]["demos"][1][field] = value
    with pytest.raises(ConfigError, match=rf"^teacher\.cot\.demos\[1\]\.{field}: is empty") as caught:
        check(cfg)
    documented("empty chain-of-thought demonstration", str(caught.value))


def _pretrained(tmp_path, **config_json) -> str:
    """A model folder holding only its config.json (all the config check reads of it)."""
    folder = tmp_path / f"pretrained-{config_json['model_type']}"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config_json))
    return str(folder)


T5_JSON = {"model_type": "t5", "num_layers": 4, "num_decoder_layers": 3, "d_model": 16}
LLAMA_JSON = {"model_type": "llama", "num_hidden_layers": 30, "hidden_size": 16}


@pytest.mark.parametrize("source, shrink, message", [
    (T5_JSON, {"layers": 1}, r"models\.small\.shrink\.layers: the source '.*pretrained-t5' is an encoder-decoder t5 "
                             r"model: its layers are chosen by encoder_layers and decoder_layers"),
    (LLAMA_JSON, {"encoder_layers": 2, "decoder_layers": 1},
     r"models\.small\.shrink\.encoder_layers: the source '.*pretrained-llama' is a decoder-only llama model: its "
     r"layers are chosen by layers"),
    (T5_JSON, {"encoder_layers": 5}, r"models\.small\.shrink\.encoder_layers: cannot keep 5 of the 4 encoder layers of the source '"),
    (T5_JSON, {"decoder_layers": [0, 3]}, r"models\.small\.shrink\.decoder_layers: \[0, 3\] must be increasing layer "
                                          r"indices within 0\.\.2 \(the source '.*pretrained-t5' has 3 decoder layers\)"),
    (LLAMA_JSON, {"layers": [0, 30]}, r"models\.small\.shrink\.layers: \[0, 30\] must be increasing layer indices "
                                      r"within 0\.\.29"),
    (LLAMA_JSON, {"layers": [5, 2]}, r"models\.small\.shrink\.layers: \[5, 2\] must be increasing"),
    ({"model_type": "bart", "encoder_layers": 12}, {"layers": 2},
     r"models\.small\.shrink\.from: shrinking a 'bart' model is not supported; supported: "),
])
def test_a_shrink_spec_is_checked_against_the_source_s_config_json(tmp_path, source, shrink, message):
    """Read from the source's config.json before any job (the job would load the whole source first)."""
    cfg = tiny()
    cfg["models"]["pretrained"] = {"model": _pretrained(tmp_path, **source)}
    cfg["models"]["small"] = {"shrink": {"from": "pretrained", **shrink}}
    with pytest.raises(ConfigError, match=message) as caught:
        check(cfg)
    if shrink == {"encoder_layers": 5}:
        documented("shrink layers out of range", str(caught.value))


def test_a_shrink_spec_that_fits_its_source_passes(tmp_path):
    cfg = tiny()
    cfg["models"]["t5"] = {"model": _pretrained(tmp_path, **T5_JSON)}
    cfg["models"]["llama"] = {"model": _pretrained(tmp_path, **LLAMA_JSON)}
    cfg["models"]["small-t5"] = {"shrink": {"from": "t5", "encoder_layers": 4, "decoder_layers": [0, 2]}}
    cfg["models"]["small-llama"] = {"shrink": {"from": "llama", "layers": [0, 29]}}
    cfg["models"]["same-t5"] = {"shrink": {"from": "t5"}}
    check(cfg)


def test_a_shrink_source_that_cannot_be_read_offline_is_left_to_the_job(tmp_path, monkeypatch):
    """A hub model not in the local cache (nothing is downloaded by a config check), or a folder
    without config.json (a GGUF file): the shrink job checks the spec once it has the model."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    cfg = tiny()
    cfg["models"]["pretrained"] = {"model": "someorg/not-cached-t5"}
    cfg["models"]["small"] = {"shrink": {"from": "pretrained", "layers": 1}}
    check(cfg)
    (tmp_path / "gguf").mkdir()
    (tmp_path / "gguf/model.gguf").write_bytes(b"GGUF")
    cfg["models"]["pretrained"] = {"model": str(tmp_path / "gguf"), "gguf_file": "model.gguf"}
    check(cfg)


def _hub_cache(cache, repo: str, config_json: dict) -> None:
    """A model in the local Hugging Face cache, as huggingface_hub lays it out (config.json only)."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs/main").write_text("0" * 40)
    snapshot = folder / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps(config_json))


def test_a_shrink_key_of_the_other_architecture_stops_the_workflow_before_any_job(tmp_path):
    """`shrink: {layers: 1}` on a T5 source kept every layer ("1.8M of 1.8M parameters"); a hub
    source already in the local cache is checked from its cached config.json."""
    import os

    cache = tmp_path / "hf-cache"
    _hub_cache(cache, "someorg/some-t5", T5_JSON)
    cfg = tiny()
    cfg["models"]["pretrained"] = {"model": "someorg/some-t5"}
    cfg["models"]["small"] = {"shrink": {"from": "pretrained", "layers": 1}}
    cfg["student"]["model"] = "small"
    path = tmp_path / "shrink.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run = snakemake("-n", "--configfile", str(path), cwd=tmp_path, env=dict(os.environ, HF_HUB_CACHE=str(cache)))
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert ("models.small.shrink.layers: the source 'someorg/some-t5' is an encoder-decoder t5 model: its layers are "
            "chosen by encoder_layers and decoder_layers") in out, out[-3000:]
    documented("shrink key of the other architecture", out)
    assert "Traceback" not in out and "Job stats" not in out


def test_a_shrink_key_of_the_other_architecture_is_an_error_in_the_job_too():
    """Where the config check could not read the source (not cached, GGUF), the job stops on it."""
    from transformers import T5Config

    from akd.shrink import chosen_layers
    from akd.specs import ModelSpecError

    config = T5Config(vocab_size=64, d_model=16, d_ff=32, d_kv=8, num_heads=2, num_layers=4, num_decoder_layers=3)
    with pytest.raises(ModelSpecError, match=r"shrink\.layers: the source is an encoder-decoder t5 model: its layers "
                                             r"are chosen by encoder_layers and decoder_layers"):
        chosen_layers(config, {"layers": 1})


def test_a_misspelled_variant_names_the_valid_ones():
    cfg = tiny()
    cfg["student"]["variants"] = ["standard", "salency"]
    with pytest.raises(ConfigError) as caught:
        validate_schema(cfg, SCHEMA)
    documented("misspelled variant", str(caught.value))
    assert str(caught.value).splitlines()[1].strip() == (
        "student.variants[1]: 'salency' is not one of standard, saliency, random, masked, llm, cot, seqkd, "
        "seqkd-saliency, kd, kd-saliency, or a per-k kind at one k (saliency-k5, random-k5, masked-k5, "
        "seqkd-saliency-k5, kd-saliency-k5); did you mean 'saliency'?")


def test_a_misspelled_enum_value_suggests_the_likely_one():
    cfg = tiny()
    cfg["attribution"]["methods"] = ["salincy"]
    with pytest.raises(ConfigError, match=r"attribution\.methods\[0\]: 'salincy' is not one of \['saliency', .*\]; "
                                          r"did you mean 'saliency'\?"):
        validate_schema(cfg, SCHEMA)


def test_a_results_path_that_is_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").write_text("")
    cfg = tiny()
    for results, message in [("out", r"^results: out is a file, not a folder"),
                             ("out/run1", r"^results: out/run1 cannot be a folder: out is a file")]:
        cfg["results"] = results
        with pytest.raises(ConfigError, match=message):
            check(cfg)
    cfg["results"] = "fresh/run1"
    check(cfg)


def test_a_results_path_that_is_a_file_stops_the_workflow_with_one_line(tmp_path):
    (tmp_path / "resfile").write_text("")
    run = snakemake("-n", "--configfile", str(TINY), "--config", "results=resfile", cwd=tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode != 0 and "results: resfile is a file, not a folder" in out
    documented("`results` is a file", out)
    assert "Traceback" not in out and "NotADirectoryError" not in out


def _dss_config(tmp_path, root, **esnli) -> str:
    cfg = tiny()
    cfg["datasets"] = {"esnli": {"source": "dss", "task": "nli", **esnli}}
    cfg["sources"] = {"dss": {"root": str(root)}}
    cfg["student"]["variants"] = ["standard"]
    path = tmp_path / "dss.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


@pytest.mark.parametrize("case", ["no root", "no dataset folder", "no split file", "a gap in the CoT files"])
def test_missing_dss_files_stop_the_workflow_before_any_job(tmp_path, dss_root, case):
    """Each was a MissingInputException or an InputFunctionException with a traceback."""
    root, esnli = dss_root, {"splits": {"train": "valid", "valid": None}, "valid_size": 2}
    if case == "no root":
        root = tmp_path / "no-such-dss"
        expected = (f"sources.dss.root: {root} is not a folder (datasets ['esnli'] read from it); unzip DSS's "
                    f"datasets.zip so that {root}/<name>/<name>_train.json exists, or point sources.dss.root at it")
    elif case == "no dataset folder":
        esnli["name"] = "e-snli"
        expected = (f"datasets.esnli.name: {dss_root}/e-snli: DSS dataset folder not found (sources.dss.root is "
                    f"{dss_root}; its folders: ['anli1', 'cqa', 'esnli', 'svamp'])")
    elif case == "no split file":
        esnli = {}
        expected = (f"datasets.esnli.splits.train: {dss_root}/esnli/esnli_train.json: split file not found. Map the "
                    "split to another split's file in the dataset's `splits` (e.g. splits: {train: valid}) or set "
                    "it to null to carve it from train.")
    else:
        llm = dss_root / "esnli" / "llm"
        (llm / "test_CoT_1.json").rename(llm / "test_CoT_2.json")
        expected = (f"datasets.esnli.splits.test: {llm}: test_CoT_1.json is missing (found test_CoT_0.json, "
                    "test_CoT_2.json); the files are read in order 0, 1, 2, ...")
    run = snakemake("-n", "--configfile", _dss_config(tmp_path, root, **esnli), cwd=tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode != 0 and f"Error in the config: {expected}" in out.splitlines(), out[-3000:]  # one line
    documented({"no root": "DSS root missing", "no dataset folder": "DSS dataset folder missing",
                "no split file": "dataset folder missing a split", "a gap in the CoT files": "a gap in the CoT file numbers"}[case], out)
    assert "Traceback" not in out and "Exception" not in out and "Job stats" not in out


def test_a_dss_dataset_that_is_all_there_plans(tmp_path, dss_root):
    run = snakemake("-n", "--configfile", _dss_config(tmp_path, dss_root, splits={"train": "valid", "valid": None},
                                                      valid_size=2), cwd=tmp_path)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]


def test_two_limits_for_the_teachers_prompt_are_an_error():
    """The teacher's prompt is cut at teacher.max_input_tokens wherever it is read; another value
    for attribution or the teacher's fine-tuning names both keys (an equal one is accepted)."""
    cfg = tiny()
    cfg["teacher"]["max_input_tokens"] = 512
    cfg["attribution"]["max_input_tokens"] = 512
    check(cfg)  # the same limit: fine
    cfg["attribution"]["max_input_tokens"] = 1024
    with pytest.raises(ConfigError, match=r"attribution\.max_input_tokens: 1024 differs from "
                                          r"teacher\.max_input_tokens \(512\)") as caught:
        check(cfg)
    documented("two prompt limits", str(caught.value))
    del cfg["attribution"]["max_input_tokens"]
    cfg["teacher"]["finetune"] = {"steps": 1, "batch_size": 2, "lr": 0.001, "max_input_tokens": 256}
    with pytest.raises(ConfigError, match=r"teacher\.finetune\.max_input_tokens: 256 differs"):
        check(cfg)


def test_every_message_docs_errors_md_quotes_is_checked_against_the_code():
    """Each row of docs/errors.md is checked by a test that makes the code print it."""
    import re

    checked = set()
    for test_file in (ROOT / "tests").glob("test_*.py"):
        source = test_file.read_text()
        checked |= set(re.findall(r'documented\("([^"]+)"', source))
        for mapping in re.findall(r"documented\(\{([^}]*)\}", source):
            checked |= set(re.findall(r'"[^"]+": "([^"]+)"', mapping))
    assert set(documented_errors()) == checked


def _tokenizer_folder(tmp_path, name, vocab, added=()):
    """A model folder holding only a tokenizer.json (all the kd check reads of it)."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "tokenizer.json").write_text(json.dumps({"model": {"type": "BPE", "vocab": vocab},
                                                       "added_tokens": [{"id": i, "content": c} for c, i in added]}))
    return str(folder)


def _kd_config(teacher_spec, student_spec):
    cfg = tiny()
    cfg["models"] = {"teacher-nano": {"model": teacher_spec}, "student-nano": {"model": student_spec}}
    cfg["student"]["variants"] = ["standard", "kd"]
    return cfg


def test_a_kd_student_whose_tokenizer_differs_is_refused_before_any_job(tmp_path):
    with pytest.raises(ConfigError, match=r"student\.variants: .*tiny:t5-tiny \(1500 tokens\) and tiny:t5-nano "
                                          r"\(600 tokens\) cannot") as caught:
        check(_kd_config("tiny:t5-tiny", "tiny:t5-nano"))
    documented("a kd student with another tokenizer", str(caught.value))
    a = _tokenizer_folder(tmp_path, "a", {"x": 0, "y": 1, "z": 2}, [("<pad>", 3)])
    b = _tokenizer_folder(tmp_path, "b", {"x": 0, "z": 1, "y": 2}, [("<pad>", 3)])
    same = _tokenizer_folder(tmp_path, "same", {"x": 0, "y": 1, "z": 2}, [("<pad>", 3)])
    with pytest.raises(ConfigError, match=r"student\.variants: logit distillation .*/a \(4 tokens\) and .*/b "
                                          r"\(4 tokens\) differ in 4 \(token, id\) pairs") as caught:
        check(_kd_config(a, b))
    documented("a kd student with another tokenizer", str(caught.value))
    check(_kd_config(a, same))  # the same ids: no error
    check(_kd_config("tiny:t5-nano", "tiny:t5-nano"))  # the same preset, trained on the same text
    cfg = _kd_config(a, b)
    cfg["student"]["variants"] = ["standard"]  # no kd: nothing to compare
    check(cfg)
    unread = tmp_path / "no-tokenizer-json"
    unread.mkdir()
    check(_kd_config(a, str(unread)))  # cannot be read offline: the teacher_logits job compares them


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_a_file_s_own_rationale_column_counts_as_llm_rationales(tmp_path, suffix):
    import pandas as pd

    from akd.config import has_llm_rationales

    def dataset(rows):
        path = tmp_path / f"rows{suffix}"
        df = pd.DataFrame([{k: v for k, v in r.items() if k != "choices"} for r in rows])
        {".jsonl": lambda: _jsonl(path, rows), ".csv": lambda: df.to_csv(path, index=False),
         ".parquet": lambda: df.to_parquet(path)}[suffix]()
        return {"source": "file", "task": "mc", "files": {"train": str(path), "test": str(path)}}

    assert has_llm_rationales(dataset([dict(r, rationale="Things go in boxes.") for r in MC]))
    assert not has_llm_rationales(dataset(MC))
    assert has_llm_rationales(dict(dataset([dict(r, why="Boxes.") for r in MC]), columns={"rationale": "why"}))
    assert not has_llm_rationales(dict(dataset([dict(r, rationale="Boxes.") for r in MC]), columns={"rationale": "why"}))
    assert has_llm_rationales({"source": "hub", "task": "mc", "name": "x/y", "columns": {"rationale": "why"}})
    assert not has_llm_rationales({"source": "hub", "task": "mc", "name": "x/y"})
    assert not has_llm_rationales(dataset([dict(r, rationale=" ") for r in MC]))  # blank: none
    assert has_llm_rationales(dataset([dict(r, rationale=None if i else "Boxes.") for i, r in enumerate(MC)]))
    # `splits` overrides `files` when the data is loaded, so it does here too
    other = tmp_path / "other.jsonl"
    _jsonl(other, [dict(r, rationale="Boxes.") for r in MC])
    assert has_llm_rationales(dict(dataset(MC), splits={"train": str(other)}))
    assert not has_llm_rationales({"source": "file", "task": "mc", "files": {"train": str(tmp_path / "none.jsonl")}})


def test_a_jsonl_file_s_rationale_is_found_in_any_row_and_after_a_byte_order_mark(tmp_path):
    from akd.config import has_llm_rationales

    rows = [dict(r, rationale="Things go in boxes.") if i == 3 else dict(r) for i, r in enumerate(MC)]
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(r) + "\n" for r in rows).encode())
    assert [e["llm_rationale"] for e in load_file(str(path), "mc", None)] == [None] * 3 + ["Things go in boxes."]
    assert has_llm_rationales({"source": "file", "task": "mc", "files": {"train": str(path), "test": str(path)}})


def test_a_file_dataset_without_files_is_named_before_its_rationales_are_looked_for():
    cfg = tiny()
    cfg["datasets"] = {"mine": {"source": "file", "task": "mc"}}
    cfg["student"]["variants"] = ["cot"]
    with pytest.raises(ConfigError, match=r"datasets\.mine: source file needs `files"):
        check(cfg)


def test_llm_on_a_dataset_without_rationales_is_noted_at_planning_and_not_planned(tmp_path):
    cfg = tiny()
    bare = _jsonl(tmp_path / "bare.jsonl", [dict(r, id=f"b{i}") for i, r in enumerate(MC * 6)])
    own = _jsonl(tmp_path / "own.jsonl", [dict(r, id=f"o{i}", rationale="Things go in boxes.") for i, r in enumerate(MC * 6)])
    cfg["datasets"] = {name: {"source": "file", "task": "mc", "files": {"train": f, "valid": f, "test": f}}
                       for name, f in (("bare", bare), ("own", own))}
    cfg["student"]["variants"] = ["standard", "llm"]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run = snakemake("-n", "--configfile", str(path), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert ("Note on the config: student.variants: llm trains on a dataset's LLM rationales, and ['bare'] have none"
            in run.stderr)
    trained = {(j["wildcards"]["dataset"], j["wildcards"]["variant"]) for j in planned_jobs(run.stdout) if j["rule"] == "train_student"}
    assert trained == {("bare", "standard"), ("own", "standard"), ("own", "llm")}


def test_zero_shot_cot_needs_no_rationales(tmp_path):
    cfg = tiny()
    path = _jsonl(tmp_path / "bare.jsonl", MC)
    cfg["datasets"] = {"mine": {"source": "file", "task": "mc", "files": {"train": path, "valid": None, "test": path},
                                "valid_size": 1}}
    cfg["student"]["variants"] = ["cot"]
    with pytest.raises(ConfigError, match="have none; write demonstrations in teacher.cot.demos"):
        check(cfg)
    cfg["teacher"]["cot"] = {"shots": 0}
    check(cfg)  # no demonstrations to draw
