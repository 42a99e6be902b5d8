"""The sparse logit-distillation divergence (akd.kd) against the full-vocabulary one, computed
independently in float64 with numpy."""

import numpy as np
import pytest
import torch

from akd.kd import sparse_divergence, sparse_teacher

V = 40


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _kl(p, q):
    return np.where(p > 0, p * (np.log(np.where(p > 0, p, 1)) - np.log(q)), 0).sum(-1)


def _reference(p, q, divergence):
    if divergence == "forward":
        return _kl(p, q)
    if divergence == "reverse":
        return _kl(q, p)
    m = (p + q) / 2
    return 0.5 * _kl(p, m) + 0.5 * _kl(q, m)


def _coarsened(p, kept):
    """p over the kept ids one by one, then every other id as one outcome."""
    rest = np.ones(p.shape[-1], bool)
    rest[kept] = False
    return np.concatenate([p[kept], [p[rest].sum()]])


@pytest.fixture
def logits():
    g = np.random.default_rng(0)
    return 3 * g.normal(size=(5, V)), 3 * g.normal(size=(5, V))  # teacher, student: 5 positions


@pytest.mark.parametrize("divergence", ["forward", "reverse", "jsd"])
@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_with_the_whole_vocabulary_kept_it_is_the_full_divergence(logits, divergence, temperature):
    t, s = logits
    ids, logp, rest = sparse_teacher(torch.tensor(t), V, temperature)
    assert torch.isinf(rest).all()
    got = sparse_divergence(torch.tensor(s), ids, logp, rest, divergence, temperature)
    want = _reference(_softmax(t / temperature), _softmax(s / temperature), divergence)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("divergence", ["forward", "reverse", "jsd"])
def test_top_n_is_the_divergence_over_the_kept_tokens_and_the_rest(logits, divergence):
    """N = 5 of 40: the divergence between the two distributions coarsened to the teacher's 5 most
    probable tokens and "any other"; never above the full divergence."""
    t, s = logits
    ids, logp, rest = sparse_teacher(torch.tensor(t), 5, 1.5)
    got = sparse_divergence(torch.tensor(s), ids, logp, rest, divergence, 1.5).numpy()
    p, q = _softmax(t / 1.5), _softmax(s / 1.5)
    for i in range(len(t)):
        kept = np.argsort(-p[i])[:5]
        assert sorted(ids[i].tolist()) == sorted(kept.tolist())
        np.testing.assert_allclose(rest[i].exp().item(), 1 - p[i][kept].sum(), rtol=1e-9)
        order = ids[i].numpy()
        want = _reference(_coarsened(p[i], order), _coarsened(q[i], order), divergence)
        assert got[i] == pytest.approx(want, rel=1e-9, abs=1e-12)
        assert got[i] <= _reference(p[i], q[i], divergence) + 1e-12


def test_the_gradient_is_finite_and_zero_where_the_student_is_the_teacher(logits):
    t, _ = logits
    for top in (V, 7):
        ids, logp, rest = sparse_teacher(torch.tensor(t), top)
        s = torch.tensor(t, requires_grad=True)
        d = sparse_divergence(s, ids, logp, rest, "forward").sum()
        d.backward()
        assert d.item() == pytest.approx(0, abs=1e-12)
        assert torch.isfinite(s.grad).all() and s.grad.abs().max() < 1e-10


def test_an_unknown_divergence_is_refused(logits):
    t, s = logits
    ids, logp, rest = sparse_teacher(torch.tensor(t), 3)
    with pytest.raises(ValueError, match="forward"):
        sparse_divergence(torch.tensor(s), ids, logp, rest, "kl")


# ------------------------------------------------------------------ the teacher stage (teacher_logits)

def _settings(model, student, top=5, temperature=2.0):
    return {"device": "cpu", "template": "prompt", "batch_size": 4, "threads": 1, "model": model,
            "max_input_tokens": 512, "chat": "off",
            "kd": {"top": top, "temperature": temperature},
            "student": {"model": student, "device": "cpu", "train": {"max_input_tokens": 512, "max_target_tokens": 64}}}


@pytest.fixture(scope="module")
def train_split(tmp_path_factory):
    from akd.prepare import write_splits

    d = tmp_path_factory.mktemp("kd")
    out = {s: str(d / f"{s}.parquet") for s in ("train", "valid", "test")}
    write_splits({"name": "syn", "source": "synthetic", "task": "nli", "sizes": {"train": 13, "valid": 2, "test": 2},
                  "seed": 3}, out)
    return d, out["train"]


@pytest.mark.parametrize("model_dir", ["tiny_model_dir", "tiny_decoder_dir"])
def test_the_teacher_stage_keeps_its_top_tokens_on_the_students_label_tokens(model_dir, train_split, request):
    """Per example and label token: the teacher's 5 most probable ids at T = 2 and their
    log-probabilities, against a plain forward of the teacher's prompt then the student's label
    tokens (T5: the label as decoder targets; decoder-only: lm-eval's pair rule for " label", then
    EOS); sharded in 3, the same table."""
    import pyarrow.parquet as pq
    from lm_eval_rule import pair_ids

    from akd import io, schemas, stages
    from akd.models import load_model
    from akd.prompts import PromptSettings, build_prompt

    path = request.getfixturevalue(model_dir)
    d, examples = train_split
    out = str(d / f"{model_dir}.parquet")
    stages.teacher_logits(path, path, examples, out, _settings(path, path))
    got = io.read_parquet(out, schemas.TEACHER_LOGITS)
    model, tok = load_model(path)
    ex = io.read_parquet(examples, schemas.EXAMPLES).to_dict("records")
    assert list(got["id"]) == [e["id"] for e in ex]
    for e, row in zip(ex, got.itertuples()):
        prompt = build_prompt(e, PromptSettings(chat=False), tok, not model.config.is_encoder_decoder).text
        with torch.no_grad():
            if model.config.is_encoder_decoder:
                labels = tok(text_target=e["label"])["input_ids"]
                enc = tok(prompt, return_tensors="pt")
                logits = model(**enc, labels=torch.tensor([labels])).logits[0]
            else:
                labels = pair_ids(tok, e["input"], " " + e["label"], False)[1] + [tok.eos_token_id]
                p = tok(prompt)["input_ids"]
                logits = model(input_ids=torch.tensor([p + labels])).logits[0, len(p) - 1: len(p) + len(labels) - 1]
        logp = torch.log_softmax(logits.double() / 2.0, -1)
        assert list(row.label_ids) == labels
        for j in range(len(labels)):
            top = logp[j].topk(5)
            assert list(row.top_ids[j]) == top.indices.tolist()
            np.testing.assert_allclose(row.top_logprobs[j], top.values.numpy(), rtol=1e-4, atol=1e-5)
            rest = 1 - top.values.exp().sum().item()
            assert np.exp(row.rest_logprob[j]) == pytest.approx(rest, rel=1e-3)
    shards = [str(d / f"{model_dir}-{i}.parquet") for i in range(3)]
    for i, s in enumerate(shards):
        stages.teacher_logits(path, path, examples, s, _settings(path, path), shard=(i, 3))
    merged = str(d / f"{model_dir}-merged.parquet")
    stages.merge_shards(shards, examples, merged, schemas.TEACHER_LOGITS)
    assert pq.read_table(merged).equals(pq.read_table(out))


def test_a_student_with_another_tokenizer_is_refused_naming_both(tiny_model_dir, train_split):
    """(The tiny presets share one tokenizer when trained on the same text: this student's is
    trained on other text.)"""
    from akd import stages
    from akd.kd import TokenizerMismatch
    from akd.models import build_tiny

    d, examples = train_split
    other = d / "other"
    build_tiny("t5-nano", ["a wholly different vocabulary of words", "zebra quartz jumps"] * 50, other, seed=0)
    from workflow_helpers import documented

    with pytest.raises(TokenizerMismatch, match="share their tokenizer's ids: teacher-x .* and student-y") as e:
        stages.teacher_logits(tiny_model_dir, str(other), examples, str(d / "no.parquet"), _settings("teacher-x", "student-y"))
    assert not (d / "no.parquet").exists()
    documented("a kd student with another tokenizer", str(e.value))


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_t5_target_logits_are_the_models_own_forward_at_the_target_positions(version):
    """The T5 path runs encoder, decoder and output layer itself, the output layer at the target
    positions only: its logits and the gradients through them are those of
    T5ForConditionalGeneration's own forward (float64), for T5 1.0 (its decoder output scaled before
    the tied output layer) and v1.1 (neither)."""
    from transformers import T5Config, T5ForConditionalGeneration

    from akd.kd import target_logits

    extra = {} if version == "1.0" else {"tie_word_embeddings": False, "feed_forward_proj": "gated-gelu"}
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(T5Config(vocab_size=50, d_model=16, d_ff=32, d_kv=4, num_heads=4,
                                                num_layers=2, dropout_rate=0.0, decoder_start_token_id=0, **extra))
    model = model.double()
    assert model.config.scale_decoder_outputs == (version == "1.0")
    ids = torch.randint(3, 50, (3, 7))
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    labels = torch.randint(3, 50, (3, 5))
    labels[0, 2:] = -100  # targets of 2, 5 and 4 tokens
    labels[2, 4:] = -100
    mine, targets = target_logits(model, ids, mask, labels)
    want = model(input_ids=ids, attention_mask=mask, labels=labels).logits[labels >= 0]
    assert mine.shape == (11, 50) and torch.equal(targets, labels[labels >= 0])
    torch.testing.assert_close(mine, want, rtol=0, atol=1e-12)
    weights = torch.randn(11, 50, dtype=torch.float64)
    grads = [torch.autograd.grad((x * weights).sum(), list(model.parameters()), allow_unused=True) for x in
             (target_logits(model, ids, mask, labels)[0],
              model(input_ids=ids, attention_mask=mask, labels=labels).logits[labels >= 0])]
    for a, b in zip(*grads):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_t5_batches_encoded_together_are_encoded_as_apart():
    """Two batches of different widths and padding in one encoder pass: each batch's output at its
    real positions, and the gradients through them, are those of its own encoder pass (float64)."""
    from transformers import T5Config, T5ForConditionalGeneration

    from akd.kd import shares_encoder, t5_encode_together

    torch.manual_seed(0)
    model = T5ForConditionalGeneration(T5Config(vocab_size=50, d_model=16, d_ff=32, d_kv=4, num_heads=4,
                                                num_layers=2, dropout_rate=0.0, decoder_start_token_id=0)).double()
    assert shares_encoder(model)
    a, b = torch.randint(3, 50, (3, 7)), torch.randint(3, 50, (2, 11))
    ma, mb = torch.ones_like(a), torch.ones_like(b)
    ma[1, 4:] = 0
    mb[0, 9:] = 0
    together = t5_encode_together(model, [(a, ma), (b, mb)])
    apart = [model.get_encoder()(input_ids=i, attention_mask=m).last_hidden_state for i, m in ((a, ma), (b, mb))]
    weights = [torch.randn_like(x) * m.unsqueeze(-1) for x, m in zip(apart, (ma, mb))]  # real positions only
    for x, y, m in zip(together, apart, (ma, mb)):
        assert x.shape == y.shape
        torch.testing.assert_close(x[m.bool()], y[m.bool()], rtol=0, atol=1e-12)
    grads = [torch.autograd.grad(sum((x * w).sum() for x, w in zip(out, weights)), list(model.encoder.parameters()))
             for out in (together, apart)]
    for g, h in zip(*grads):
        torch.testing.assert_close(g, h, rtol=0, atol=1e-12)
