"""Student variants are defined once (akd.variants): names expand, parse back and order the same
way everywhere, and the config schema offers exactly the kinds and attribution methods there are."""

import re

import pytest
import yaml

from akd.variants import KINDS, parse, run_names, sort_key, wildcard, with_fractions
from workflow_helpers import ROOT

SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())


def test_run_names_expand_and_parse_back():
    names = run_names(["standard", "saliency", "random", "masked", "llm"], ["saliency", "integrated_gradients"], [1, 3])
    assert names == ["standard", "saliency-k1", "saliency-k3", "integrated_gradients-k1", "integrated_gradients-k3",
                     "random-k1", "random-k3", "masked-k1", "masked-k3", "llm"]
    assert run_names(["standard", "llm"], ["saliency"], [1], has_llm=False) == ["standard"]
    # a per-k kind named with its k runs at that k only (the others at every k)
    assert run_names(["saliency", "random-k5", "masked-k5"], ["saliency"], [1, 3, 5]) == [
        "saliency-k1", "saliency-k3", "saliency-k5", "random-k5", "masked-k5"]
    assert run_names(["saliency-k3"], ["saliency", "integrated_gradients"], [1]) == ["saliency-k3", "integrated_gradients-k3"]
    pattern = re.compile(wildcard(["saliency", "integrated_gradients"]))
    for name in names:
        run = parse(name, ["saliency", "integrated_gradients"])
        assert pattern.fullmatch(name) and run.name == name
    assert parse("integrated_gradients-k3").kind.name == "saliency" and parse("integrated_gradients-k3").source == "integrated_gradients"
    assert parse("masked-k5").kind.name == "masked" and parse("masked-k5").k == 5
    assert not parse("standard").kind.multitask and parse("llm").kind.multitask


def test_seqkd_runs_learn_the_teachers_answers():
    names = run_names(["standard", "seqkd", "seqkd-saliency"], ["saliency", "integrated_gradients"], [1, 3])
    assert names == ["standard", "seqkd", "seqkd-saliency-k1", "seqkd-saliency-k3",
                     "seqkd-integrated_gradients-k1", "seqkd-integrated_gradients-k3"]
    assert run_names(["seqkd-saliency-k5"], ["saliency"], [1]) == ["seqkd-saliency-k5"]
    pattern = re.compile(wildcard(["saliency", "integrated_gradients"]))
    for name in names:
        run = parse(name, ["saliency", "integrated_gradients"])
        assert pattern.fullmatch(name) and run.name == name
    run = parse("seqkd-integrated_gradients-k3", ["saliency", "integrated_gradients"])
    assert (run.kind.name, run.source, run.k, run.kind.labels) == ("seqkd-saliency", "integrated_gradients", 3, "teacher")
    assert parse("seqkd").kind.labels == "teacher" and not parse("seqkd").kind.multitask
    assert parse("saliency-k3").kind.labels == "gold"
    assert not pattern.fullmatch("seqkd-random-k3")  # controls keep the gold labels
    assert sorted(["seqkd", "seqkd-saliency-k1", "saliency-k1", "standard"], key=sort_key) == [
        "standard", "seqkd", "saliency-k1", "seqkd-saliency-k1"]


def test_kd_runs_learn_the_teachers_distributions():
    names = run_names(["kd", "kd-saliency", "seqkd-saliency-k2"], ["saliency", "integrated_gradients"], [1])
    assert names == ["kd", "kd-saliency-k1", "kd-integrated_gradients-k1", "seqkd-saliency-k2",
                     "seqkd-integrated_gradients-k2"]
    pattern = re.compile(wildcard(["saliency", "integrated_gradients"]))
    for name in names + ["kd-saliency-k1-data0.5"]:
        assert pattern.fullmatch(name) and parse(name, ["saliency", "integrated_gradients"]).name == name
    run = parse("kd-integrated_gradients-k1", ["saliency", "integrated_gradients"])
    assert (run.kind.name, run.source, run.k, run.kind.labels, run.kind.logits) == (
        "kd-saliency", "integrated_gradients", 1, "gold", True)
    assert parse("kd").kind.logits and not parse("kd").kind.multitask and parse("kd").kind.needs_teacher
    assert not parse("seqkd-saliency-k2").kind.logits and not parse("saliency-k2").kind.logits
    assert not pattern.fullmatch("kd-random-k3")  # controls keep the gold labels alone


def test_report_order_puts_labels_first_then_by_k_then_llm():
    names = ["llm", "random-k3", "saliency-k3", "standard", "saliency-k1", "masked-k1"]
    assert sorted(names, key=sort_key) == ["standard", "saliency-k1", "masked-k1", "saliency-k3", "random-k3", "llm"]


def test_unknown_names_are_errors():
    with pytest.raises(ValueError, match="neither a control"):
        parse("gradcam-k3", ["saliency"])
    with pytest.raises(ValueError, match="is not a student variant"):
        parse("saliency")


def test_the_schema_offers_the_kinds_and_methods_there_are():
    from akd.attribution import METHODS

    student = SCHEMA["properties"]["student"]["properties"]
    kinds, one_k = student["variants"]["items"]["anyOf"]
    assert set(kinds["enum"]) == set(KINDS)
    assert one_k["pattern"] == "^(" + "|".join(k.name for k in KINDS.values() if k.per_k) + ")-k[1-9][0-9]*$"
    methods = SCHEMA["properties"]["attribution"]["properties"]["methods"]["items"]["enum"]
    assert set(methods) == set(METHODS)


def test_runs_on_shares_of_the_training_data():
    names = with_fractions(["standard", "saliency-k3"], [0.25, 1.0, 0.5])
    assert names == ["standard", "saliency-k3", "standard-data0.5", "saliency-k3-data0.5",
                     "standard-data0.25", "saliency-k3-data0.25"]
    assert with_fractions(["llm"], []) == ["llm"] and with_fractions(["llm"], [0.125]) == ["llm-data0.125"]
    run = parse("seqkd-saliency-k3-data0.125", ["saliency"])
    assert (run.kind.name, run.source, run.k, run.fraction) == ("seqkd-saliency", "saliency", 3, 0.125)
    assert parse("standard").fraction == 1.0 and parse("standard-data0.5").kind.name == "standard"
    pattern = re.compile(wildcard(["saliency"]))
    assert all(pattern.fullmatch(n) for n in names) and not pattern.fullmatch("standard-data1.5")
    assert sorted(names, key=sort_key)[:2] == ["standard", "saliency-k3"]
