"""Every attribution method on every architecture: batching changes nothing, IG is complete."""

import copy

import numpy as np
import pytest
import torch

from akd.attribution import METHODS, Settings, answer_logprob, attribute, encode_batch, input_embeddings, token_scores
from akd.sources.synthetic import generate
from akd.tasks import fields_dict, render
from lm_eval_rule import pair_ids

ARCHS = ("t5-nano", "gpt2-nano", "llama-nano")


def _prompt_batch(model, tok, n=3):
    targets = ["entailment", "neutral", "contradiction"][:n]
    prompts = [render(e["task"], fields_dict(e["fields"]), "prompt", tok.eos_token).text for e in _examples()[:n]]
    if not model.config.is_encoder_decoder:  # the continuation of a decoder-only prompt: a space, then the answer
        targets = [" " + t for t in targets]
    return prompts, targets, encode_batch(model, tok, prompts, targets, 1024)


def _examples():
    ex = generate("nli", 5, 7, "test")
    ex[0]["fields"][0]["text"] = "the dog ."
    ex[1]["fields"][0]["text"] = " ".join(["the old fox sleeps near the barn ."] * 10)
    return ex


@pytest.fixture(scope="module")
def models64(tiny_models):
    return {k: (copy.deepcopy(m).double(), t) for k, (m, t) in tiny_models.items()}


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("method", METHODS)
def test_batched_equals_per_example(models64, arch, method):
    model, tok = models64[arch]
    ex = _examples()
    targets = ["entailment", "neutral", "contradiction", "neutral maybe", "x"]
    kw = dict(method=method, n_steps=8)
    batched = attribute(model, tok, ex, targets, Settings(batch_size=5, **kw), show_progress=False)
    single = attribute(model, tok, ex, targets, Settings(batch_size=1, **kw), show_progress=False)
    for a, b in zip(batched, single):
        assert a["words"] == b["words"] and len(a["words"]) > 0
        np.testing.assert_allclose(a["scores"], b["scores"], rtol=1e-8, atol=1e-14)
        assert a["target_logprob"] == pytest.approx(b["target_logprob"], rel=1e-10)
        assert a["target_logprob"] < 0


@pytest.mark.parametrize("arch", ARCHS)
def test_saliency_equals_autograd_written_out(models64, arch):
    """No captum: the gradient of the summed answer log-probs, computed directly."""
    model, tok = models64[arch]
    prompts, targets, batch = _prompt_batch(model, tok)
    scores, values = token_scores(model, batch, Settings(method="saliency"))
    for i, (p, t) in enumerate(zip(prompts, targets)):
        if model.config.is_encoder_decoder:
            ids = tok(p, return_tensors="pt")["input_ids"]
            lab = torch.tensor([pair_ids(tok, p, t, True)[1]])
            emb = input_embeddings(model)(ids).detach().requires_grad_(True)
            dec = torch.cat([torch.zeros_like(lab[:, :1]), lab[:, :-1]], 1)
            logits = model(inputs_embeds=emb, decoder_input_ids=dec).logits
            lp = torch.log_softmax(logits, -1).gather(-1, lab.unsqueeze(-1)).sum()
        else:
            pid, aid = pair_ids(tok, p, t, False)
            ids = torch.tensor([pid + aid])
            emb = input_embeddings(model)(ids).detach().requires_grad_(True)
            logp = torch.log_softmax(model(inputs_embeds=emb).logits, -1)
            lp = sum(logp[0, len(pid) + j - 1, a] for j, a in enumerate(aid))
        (g,) = torch.autograd.grad(lp, emb)
        n = ids.shape[1]
        np.testing.assert_allclose(scores[i, :n], g[0].norm(dim=-1).numpy(), rtol=1e-10, atol=1e-14)
        assert np.all(scores[i, n:] == 0)  # padding gets nothing
        assert values[i] == pytest.approx(lp.item(), rel=1e-10)


@pytest.mark.parametrize("arch", ARCHS)
def test_integrated_gradients_completeness(models64, arch):
    model, tok = models64[arch]
    _, _, batch = _prompt_batch(model, tok)
    # Llama's pad row is all zeros (padding_idx) and RMSNorm is scale-invariant, so the path from a zero
    # baseline is steep near it: 64 steps leave ~12% error there, 256 steps < 1e-5.
    n_steps = 256 if arch == "llama-nano" else 64
    scores, values = token_scores(model, batch, Settings(method="integrated_gradients", n_steps=n_steps, batch_size=3))
    embed = input_embeddings(model)
    pad = model.config.pad_token_id
    with torch.no_grad():
        f_x = answer_logprob(model, embed(batch.input_ids), batch.attention_mask, batch.labels).numpy()
        base = embed(torch.full_like(batch.input_ids, pad))
        f_b = answer_logprob(model, base, batch.attention_mask, batch.labels).numpy()
    np.testing.assert_allclose(values, f_x, rtol=1e-10)
    np.testing.assert_allclose(scores.sum(-1), f_x - f_b, rtol=0.01)
    assert np.all(np.abs(f_x - f_b) > 1e-3)  # the check is not vacuous


def test_unknown_method_is_an_error():
    with pytest.raises(ValueError, match="unknown"):
        Settings(method="gradcam")


def test_out_of_memory_halves_the_batch_and_retries(tiny_models, monkeypatch):
    import akd.attribution as A

    model, tok = tiny_models["t5-nano"]
    ex = _examples()
    targets = [e["label"] for e in ex]
    expected = attribute(model, tok, ex, targets, Settings(batch_size=1), show_progress=False)
    real, sizes = A.token_scores, []

    def flaky(model, batch, settings, word_of_token=None):
        sizes.append(batch.input_ids.shape[0])
        if batch.input_ids.shape[0] > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(model, batch, settings, word_of_token)

    monkeypatch.setattr(A, "token_scores", flaky)
    got = attribute(model, tok, ex, targets, Settings(batch_size=5), show_progress=False)
    assert sizes == [5, 2, 3, 1, 2]  # 5 fails -> 2 ok + 3 fails -> 1 ok + 2 ok
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a["scores"], b["scores"], rtol=1e-5)


def test_other_errors_are_not_swallowed(tiny_models, monkeypatch):
    import akd.attribution as A

    model, tok = tiny_models["t5-nano"]
    monkeypatch.setattr(A, "token_scores", lambda *a: (_ for _ in ()).throw(RuntimeError("shape mismatch")))
    with pytest.raises(RuntimeError, match="shape mismatch"):
        attribute(model, tok, _examples(), ["x"] * 5, Settings(batch_size=5), show_progress=False)


@pytest.mark.parametrize("arch", ARCHS)
def test_feature_ablation_is_the_fall_when_a_word_is_blanked(models64, arch):
    """No captum: a word's feature-ablation score is log p(answer) minus log p(answer) with every
    token of that word replaced by the pad embedding, computed one word at a time."""
    from akd.attribution import split_words, token_to_word, tokenizer_pad_id

    model, tok = models64[arch]
    ex = _examples()[:2]
    targets = ["entailment", "neutral"]
    rows = attribute(model, tok, ex, targets, Settings(method="feature_ablation", batch_size=2), show_progress=False)
    rendered = [render(e["task"], fields_dict(e["fields"]), "prompt", tok.eos_token) for e in ex]
    spaced = [" " + t if not model.config.is_encoder_decoder else t for t in targets]  # as attribute says them
    batch = encode_batch(model, tok, [r.text for r in rendered], spaced, 1024)
    embed = input_embeddings(model)
    pad = embed(torch.full_like(batch.input_ids, tokenizer_pad_id(model)))
    with torch.no_grad():
        full = answer_logprob(model, embed(batch.input_ids), batch.attention_mask, batch.labels)
        for b, (e, r, row) in enumerate(zip(ex, rendered, rows)):
            t2w = token_to_word(batch.offsets[b], split_words(r, fields_dict(e["fields"])), batch.special[b])
            for j in range(0, len(row["words"]), 3):  # every third word
                emb = embed(batch.input_ids).clone()
                blank = torch.as_tensor(t2w == j)
                emb[b, blank] = pad[b, blank]
                fell = full[b] - answer_logprob(model, emb, batch.attention_mask, batch.labels)[b]
                assert row["scores"][j] == pytest.approx(float(fell), rel=1e-6, abs=1e-10), (row["words"][j], j)


@pytest.mark.parametrize("arch", ["t5-nano", "llama-nano"])
def test_the_attributed_score_can_be_the_logit_or_the_log_odds(models64, arch):
    """score: logit explains the answer tokens' summed logits (saliency = the norm of their
    gradient, written out); score: log_odds = log p - log(1 - p), whose gradient is the
    log-probability's scaled by 1 / (1 - p): the same direction, each example's scores rescaled."""
    from akd.attribution import answer_logits

    model, tok = models64[arch]
    prompts, targets, batch = _prompt_batch(model, tok)
    lp_scores, lp = token_scores(model, batch, Settings(method="saliency"))
    odds_scores, lp_again = token_scores(model, batch, Settings(method="saliency", score="log_odds"))
    logit_scores, _ = token_scores(model, batch, Settings(method="saliency", score="logit"))
    np.testing.assert_allclose(lp_again, lp, rtol=1e-12)  # the recorded value stays the log-probability
    scale = 1 / -np.expm1(lp)
    # (two gradient runs of the float64 llama-nano agree to ~5e-8 relative, not to float64 rounding)
    np.testing.assert_allclose(odds_scores, lp_scores * scale[:, None], rtol=1e-6, atol=1e-14)
    emb = input_embeddings(model)(batch.input_ids).detach().requires_grad_(True)
    logits, lab = answer_logits(model, emb, batch.attention_mask, batch.labels)
    total = sum(logits[i, t, lab[i, t]] for i in range(lab.shape[0]) for t in range(lab.shape[1]) if lab[i, t] >= 0)
    (grad,) = torch.autograd.grad(total, emb)
    np.testing.assert_allclose(logit_scores, grad.norm(dim=-1).numpy(), rtol=1e-8, atol=1e-14)
    assert not np.allclose(logit_scores, lp_scores)
