"""Ranked teacher answers: the batched, prompt-shared scoring equals a plain forward per candidate."""

import copy

import numpy as np
import pytest
import torch

from akd.prompts import PromptSettings, build_prompt
from akd.scoring import choose, continuation_ids, rank
from akd.sources.synthetic import generate


@torch.no_grad()
def _independent(model, tok, prompt: str, cont: str, add_special: bool) -> float:
    """log p(cont | prompt) from one forward of prompt + candidate, written out directly."""
    if model.config.is_encoder_decoder:
        enc = tok(prompt, return_tensors="pt")
        labels = tok(text_target=cont, return_tensors="pt")["input_ids"]
        dec_in = torch.cat([torch.zeros_like(labels[:, :1]), labels[:, :-1]], dim=1)
        logits = model(input_ids=enc["input_ids"], decoder_input_ids=dec_in).logits
        return float(torch.log_softmax(logits, -1).gather(-1, labels.unsqueeze(-1)).sum())
    p = tok(prompt, add_special_tokens=add_special)["input_ids"]
    c = tok(cont, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([p + c])
    logp = torch.log_softmax(model(input_ids=ids).logits[0], -1)
    return float(sum(logp[len(p) - 1 + j, t] for j, t in enumerate(c)))


@pytest.mark.parametrize("arch", ["t5-nano", "gpt2-nano", "llama-nano"])
def test_ranked_scores_equal_one_forward_per_candidate(tiny_models, arch):
    model, tok = tiny_models[arch]
    model = copy.deepcopy(model).double()
    decoder_only = not model.config.is_encoder_decoder
    ex = generate("mc", 5, 1, "test") + generate("nli", 4, 2, "test")
    ex[1]["fields"][0]["text"] = " ".join(["which one is a fruit"] * 6)  # very different prompt lengths
    prompts = [build_prompt(e, PromptSettings(format=f), tok, decoder_only)
               for e in ex for f in ("choices", "cloze")]
    texts = [p.text for p in prompts]
    conts = [[p.continuation(a.said) for a in p.candidates] for p in prompts]
    got = rank(model, tok, texts, conts, batch_size=3, show_progress=False)
    for p, cs, (lp, n) in zip(texts, conts, got):
        want = [_independent(model, tok, p, c, True) for c in cs]
        np.testing.assert_allclose(lp, want, rtol=0, atol=1e-6)
        assert list(n) == [len(continuation_ids(tok, c, not decoder_only)) for c in cs]


def test_choose_normalisations():
    lp, n = np.array([-3.0, -4.0, -6.0]), np.array([1, 2, 6])
    conts = ["ab", "abcdefgh", "x" * 30]
    assert choose(lp, n, conts, "sum")[0] == 0
    assert choose(lp, n, conts, "tokens")[0] == 2  # -1.0 per token
    assert choose(lp, n, conts, "chars")[0] == 2  # -0.2 per character
    assert choose(np.array([-1.0, -1.0]), np.array([1, 1]), ["a", "b"])[0] == 0  # ties: the first
