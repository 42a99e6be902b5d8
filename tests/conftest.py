import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A random t5-nano with a tokenizer trained on synthetic NLI + math text."""
    from akd.models import build_tiny
    from akd.sources.synthetic import generate
    from akd.tasks import fields_dict, render

    ex = generate("nli", 200, 0, "train") + generate("math", 200, 0, "train")
    texts = [e["input"] for e in ex] + [e["label"] for e in ex]
    texts += [render(e["task"], fields_dict(e["fields"]), "prompt").text for e in ex]
    # a rare long word, so the tokenizer must split it into several pieces
    texts.append("predict: explain:")
    out = tmp_path_factory.mktemp("tiny") / "model"
    build_tiny("t5-nano", texts, out, seed=0)
    return str(out)


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    from akd.models import load_seq2seq

    return load_seq2seq(tiny_model_dir)
