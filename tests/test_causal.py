"""Decoder-only students: causal language modelling, prompt then target, the loss on target tokens
only, the output layer only where a target token is predicted; left-padded generation."""

import copy
import json

import pytest
import numpy as np
import torch

from akd.generation import generate
from akd.training import Example, TrainConfig, causal_batch, causal_loss, train

SOURCES = ["predict: Ann had 5 apples and found 3 more. How many?", "predict: 2 + 2"]
TARGETS = ["( 5 + 3 )", "4"]


@pytest.fixture(params=["llama-nano", "gpt2-nano"])
def decoder(request, tiny_models):
    model, tok = tiny_models[request.param]
    return copy.deepcopy(model).double(), tok


def test_labels_cover_the_target_and_eos_only(decoder):
    _, tok = decoder
    ids, mask, labels, n = causal_batch(tok, SOURCES, [" " + t for t in TARGETS], 64, 16)
    for i, (src, tgt) in enumerate(zip(SOURCES, TARGETS)):
        p = len(tok(src)["input_ids"])
        a = tok(" " + tgt, add_special_tokens=False)["input_ids"]
        assert labels[i, :p].eq(-100).all() and labels[i, p: p + len(a)].tolist() == a
        assert labels[i, p + len(a)] == tok.eos_token_id and labels[i, p + len(a) + 1:].eq(-100).all()
    assert n == int(mask.sum())


def test_loss_counts_target_tokens_only_and_equals_the_full_output_layer(decoder):
    model, tok = decoder
    ids, mask, labels, _ = causal_batch(tok, SOURCES, [" " + t for t in TARGETS], 64, 16)
    loss = causal_loss(model, ids, mask, labels)
    # independently: the output layer at every position, the log-probability of each target token
    # (labels[t] is predicted at t - 1), averaged; in float64 (the library's loss casts to float32)
    logp = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits, -1)
    picked = [-logp[i, t - 1, labels[i, t]] for i in range(len(ids)) for t in range(1, ids.shape[1]) if labels[i, t] >= 0]
    full = torch.stack(picked).mean()
    assert len(picked) == int((labels >= 0).sum()) and torch.allclose(loss, full, atol=1e-12)
    # the same gradients
    loss.backward()
    mine = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    full.backward()
    for a, (name, p) in zip(mine, model.named_parameters()):
        assert torch.allclose(a, p.grad, rtol=1e-9, atol=1e-12), (name, float((a - p.grad).abs().max()))


def test_left_padded_generation_equals_one_at_a_time(tiny_models):
    model, tok = tiny_models["llama-nano"]
    texts = ["predict: 2 + 2", "predict: Ann had 5 apples and found 3 more apples in the garden. How many?",
             "predict: premise hypothesis"]
    batched = generate(model, tok, texts, batch_size=3, max_new_tokens=6, show_progress=False, raw=True)
    single = [generate(model, tok, [t], batch_size=1, max_new_tokens=6, show_progress=False, raw=True)[0] for t in texts]
    assert batched == single


def test_a_decoder_only_student_learns_both_tasks(tiny_models):
    model, tok = tiny_models["llama-nano"]
    model = copy.deepcopy(model)
    rows = [Example(f"{a} plus {b}", str(a + b), f"add {a} and {b}") for a in range(4) for b in range(4)]
    cfg = TrainConfig(steps=60, batch_size=8, lr=3e-3, eval_every=30, max_new_tokens=4, seed=0)
    result = train(model, tok, rows, rows[:8], "math", cfg, multitask=True, log=lambda s: None, show_progress=False)
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < losses[0] and result.tokens > 0


def test_the_workflow_trains_and_evaluates_a_decoder_only_student(tmp_path):
    """The tiny config with a Llama-family student: standard and saliency students train, are
    evaluated (with the teacher-student similarity) and reach the accuracy table."""
    import pandas as pd
    import yaml

    from workflow_helpers import TINY, snakemake

    cfg = yaml.safe_load(TINY.read_text())
    cfg["models"]["student-nano"] = {"model": "tiny:llama-nano"}
    cfg["datasets"] = {"syn-nli": cfg["datasets"]["syn-nli"]}
    cfg["attribution"]["methods"] = ["saliency"]
    cfg["student"]["variants"] = ["standard", "saliency", "seqkd"]  # seqkd: the teacher's answers as labels
    cfg["student"]["answer"] = "rank"  # validation and test answers chosen from the label space
    path = tmp_path / "decoder.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run = snakemake("--cores", "2", "--configfile", str(path), cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    table = pd.read_csv(tmp_path / "results/tables/accuracy.csv")
    assert set(table["variant"]) == {"standard", "saliency-k2", "seqkd"} and table["mean"].between(0, 100).all()
    info = (tmp_path / "results/syn-nli/students/student-nano/saliency-k2/seed0/model/config.json").read_text()
    assert '"model_type": "llama"' in info
    similarity = json.loads((tmp_path / "results/syn-nli/students/student-nano/saliency-k2/seed0/similarity.json").read_text())
    assert 0 <= similarity["topk_jaccard"] <= 1
    metrics = json.loads((tmp_path / "results/syn-nli/students/student-nano/saliency-k2/seed0/metrics.json").read_text())
    assert metrics["answer"] == "rank" and 0 <= metrics["generated_accuracy"] <= 1
    preds = pd.read_parquet(tmp_path / "results/syn-nli/students/student-nano/saliency-k2/seed0/test_predictions.parquet")
    assert set(preds["prediction"]) <= {"entailment", "neutral", "contradiction"}
    assert abs(preds["correct"].mean() - metrics["accuracy"]) < 1e-9


@pytest.mark.parametrize("arch", ["llama-nano", "t5-nano"])
def test_ranked_answers_are_the_most_likely_label(tiny_models, arch):
    """A student's ranked answer is the candidate with the highest log-probability as computed by
    one plain forward per candidate (float64), for both architectures."""
    from akd.scoring import ranked_answers

    model, tok = tiny_models[arch]
    model = copy.deepcopy(model).double().eval()
    prompts = ["predict: the cat sat", "predict: a man is walking his dog in the park", "predict: 3 apples"]
    spaces = [["entailment", "neutral", "contradiction"], ["red", "blue"], ["one apple", "two", "three apples"]]
    got = ranked_answers(model, tok, prompts, spaces, "sum", batch_size=2, show_progress=False)
    for prompt, space, answer in zip(prompts, spaces, got):
        scores = []
        for cand in space:
            with torch.no_grad():
                if model.config.is_encoder_decoder:
                    enc = tok(prompt, return_tensors="pt")
                    lab = tok(text_target=cand, return_tensors="pt")["input_ids"]
                    logp = torch.log_softmax(model(**enc, labels=lab).logits, -1)
                    scores.append(float(logp[0].gather(-1, lab[0][:, None]).sum()))
                else:
                    p = tok(prompt)["input_ids"]
                    c = tok(" " + cand, add_special_tokens=False)["input_ids"]
                    logp = torch.log_softmax(model(torch.tensor([p + c])).logits[0], -1)
                    scores.append(sum(float(logp[len(p) - 1 + i, t]) for i, t in enumerate(c)))
        assert answer == space[int(np.argmax(scores))]


def test_a_model_from_a_gguf_file_saves_as_plain_weights(tiny_models, tmp_path):
    """transformers keeps its GGUF quantizer on a model it dequantised (save_pretrained refuses it,
    and the saved config would say quantized); plain_weights forgets both."""
    from types import SimpleNamespace

    from akd.models import load_model, plain_weights

    model = copy.deepcopy(tiny_models["llama-nano"][0])
    model.hf_quantizer = SimpleNamespace(quantization_config=SimpleNamespace(quant_method="gguf"))
    model.config.quantization_config = {"quant_method": "gguf", "gguf_file": "x.gguf", "dequantize": False}
    with pytest.raises(ValueError, match="not serializable"):
        model.save_pretrained(tmp_path / "refused")
    plain_weights(model).save_pretrained(tmp_path / "saved")
    assert "quantization_config" not in json.loads((tmp_path / "saved/config.json").read_text())


def test_a_bf16_checkpoint_loads_in_float32(tiny_models, tmp_path):
    """Weights are the optimiser's master copy: a checkpoint saved in bf16 (as Qwen and Llama are)
    loads in float32, not in its own dtype."""
    from akd.models import load_model

    model, tok = tiny_models["llama-nano"]
    copy.deepcopy(model).to(torch.bfloat16).save_pretrained(tmp_path / "bf16")
    tok.save_pretrained(tmp_path / "bf16")
    assert json.loads((tmp_path / "bf16/config.json").read_text())["dtype"] == "bfloat16"
    loaded, _ = load_model(str(tmp_path / "bf16"))
    assert {p.dtype for p in loaded.parameters()} == {torch.float32}
