import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _texts():
    from akd.sources.synthetic import generate
    from akd.tasks import fields_dict, render

    ex = generate("nli", 200, 0, "train") + generate("math", 200, 0, "train")
    texts = [e["input"] for e in ex] + [e["label"] for e in ex]
    texts += [render(e["task"], fields_dict(e["fields"]), "prompt").text for e in ex]
    return texts + ["predict: explain:"]


def _build(tmp_path_factory, preset):
    from akd.models import build_tiny

    out = tmp_path_factory.mktemp(preset) / "model"
    build_tiny(preset, _texts(), out, seed=0)
    return str(out)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A random t5-nano with a tokenizer trained on synthetic NLI + math text."""
    return _build(tmp_path_factory, "t5-nano")


@pytest.fixture(scope="session")
def tiny_decoder_dir(tmp_path_factory):
    """A random llama-nano (decoder-only) with the same kind of tokenizer."""
    return _build(tmp_path_factory, "llama-nano")


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """One random tiny model per architecture: encoder-decoder and two decoder-only families."""
    from akd.models import load_model

    return {p: load_model(_build(tmp_path_factory, p)) for p in ("t5-nano", "gpt2-nano", "llama-nano")}


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    from akd.models import load_model

    return load_model(tiny_model_dir)


@pytest.fixture()
def paper_offline(tmp_path):
    """configs/paper-offline.yaml pointed at a small DSS-format copy (tests/dss_fixture.py)."""
    import yaml

    from dss_fixture import write_dss
    from workflow_helpers import ROOT

    root = write_dss(tmp_path / "dss")
    cfg = yaml.safe_load((ROOT / "configs/paper-offline.yaml").read_text())
    cfg["sources"]["dss"]["root"] = str(root)
    cfg["datasets"]["esnli"]["valid_size"] = 2
    path = tmp_path / "offline.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path
