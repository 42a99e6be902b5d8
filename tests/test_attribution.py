import numpy as np
import pytest
import torch

from akd.attribution import attribute, split_words, token_to_word
from akd.rationales import rationale_rows, top_k
from akd.sources.synthetic import generate
from akd.tasks import fields_dict, render
from lm_eval_rule import pair_ids


def _examples():
    ex = generate("nli", 6, 3, "test")
    # very different lengths in one batch
    ex[0]["fields"][0]["text"] = "the dog ."
    ex[1]["fields"][0]["text"] = " ".join(["the old fox sleeps near the barn ."] * 12)
    ex[2]["fields"][1]["text"] = "the supercalifragilistic robot perhaps walks ."
    return ex


def _independent_word_scores(model, tok, ex, target):
    """Gradient of the summed answer log-probs w.r.t. the input embeddings, written out directly."""
    r = render(ex["task"], fields_dict(ex["fields"]), "prompt")
    enc = tok(r.text, return_tensors="pt", return_offsets_mapping=True)
    emb = model.get_encoder().embed_tokens(enc["input_ids"]).detach().requires_grad_(True)
    labels = torch.tensor([pair_ids(tok, r.text, target, True)[1]])  # lm-eval's seq2seq continuation: no EOS
    dec_in = torch.cat([torch.zeros_like(labels[:, :1]), labels[:, :-1]], dim=1)
    logits = model(inputs_embeds=emb, attention_mask=enc["attention_mask"], decoder_input_ids=dec_in).logits
    logp = torch.log_softmax(logits, -1).gather(-1, labels.unsqueeze(-1)).sum()
    (grad,) = torch.autograd.grad(logp, emb)
    tok_scores = grad[0].norm(dim=-1).double().numpy()
    words = split_words(r, fields_dict(ex["fields"]))
    offsets = enc["offset_mapping"][0].tolist()
    out = []
    for a, b in zip(words.abs_start, words.abs_end):
        # a token counts for the word it overlaps, or, if it is a lone "▁" right before it, that word
        s = sum(tok_scores[t] for t, (x, y) in enumerate(offsets)
                if y > x and (min(y, b) - max(x, a) > 0 or (y == a and not r.text[x:y].strip())))
        out.append(s)
    return np.array(out)


@pytest.fixture(scope="module")
def model64(tiny_model):
    import copy

    model, tok = tiny_model
    return copy.deepcopy(model).double(), tok


def test_saliency_equals_independent_autograd(model64):
    model, tok = model64
    ex = _examples()
    targets = [e["label"] for e in ex]
    rows = attribute(model, tok, ex, targets, batch_size=4, show_progress=False)
    for e, row, t in zip(ex, rows, targets):
        expected = _independent_word_scores(model, tok, e, t)
        np.testing.assert_allclose(np.array(row["scores"]), expected, rtol=1e-8, atol=1e-12)


def test_batched_equals_one_example_per_forward(model64):
    model, tok = model64
    ex = _examples()
    targets = ["entailment", "neutral", "contradiction", "x", "( 1.0 + 2.0 )", "neutral"]
    batched = attribute(model, tok, ex, targets, batch_size=6, show_progress=False)
    single = attribute(model, tok, ex, targets, batch_size=1, show_progress=False)
    for a, b in zip(batched, single):
        assert a["words"] == b["words"]
        np.testing.assert_allclose(a["scores"], b["scores"], rtol=1e-8, atol=0)


def test_template_and_special_tokens_never_compete(tiny_model):
    model, tok = tiny_model
    ex = _examples()
    rows = attribute(model, tok, ex, [e["label"] for e in ex], show_progress=False)
    template_words = {"Premise", "Hypothesis", "Does", "Options", "Answer", "</s>", "<pad>"}
    for e, row in zip(ex, rows):
        fields = fields_dict(e["fields"])
        assert not template_words & set(row["words"])
        for w, f, a, b in zip(row["words"], row["word_field"], row["word_start"], row["word_end"]):
            assert fields[f][a:b] == w  # every word is the example's own text, with its span
        top = rationale_rows([row], 10)[0]["words"]
        assert not template_words & set(top)


def test_subword_pieces_merge_into_one_word(tiny_model):
    _, tok = tiny_model
    fields = {"premise": "a dog .", "hypothesis": "the supercalifragilistic robot"}
    r = render("nli", fields, "prompt")
    words = split_words(r, fields)
    enc = tok(r.text, return_offsets_mapping=True, return_special_tokens_mask=True)
    t2w = token_to_word(enc["offset_mapping"], words, [bool(s) for s in enc["special_tokens_mask"]])
    j = words.text.index("supercalifragilistic")
    assert (t2w == j).sum() >= 3  # the tokenizer never saw the word: several pieces
    from akd.attribution import merge_scores

    scores = np.arange(len(t2w), dtype=float) + 1.0
    merged = merge_scores(scores, t2w, len(words.text), "sum")
    assert merged[j] == pytest.approx(scores[t2w == j].sum())
    assert merge_scores(scores, t2w, len(words.text), "max")[j] == scores[t2w == j].max()
    # the template tokens belong to no word
    prem = r.text.index("Premise")
    assert all(w == -1 for (a, b), w in zip(enc["offset_mapping"], t2w) if a <= prem < b)


def test_top_k_distinct_words_in_input_order():
    words = ["the", "dog", "the", "barks", "loud"]
    scores = [5.0, 1.0, 4.0, 3.0, 0.5]
    assert top_k(words, scores, 2) == [0, 3]  # "the" once, then "barks"; input order
    assert top_k(words, scores, 10) == [0, 1, 3, 4]


def test_punctuation_and_stopword_options():
    words = ["the", ".", "dog", "never", "barks", "of"]
    scores = [9.0, 8.0, 1.0, 7.0, 2.0, 6.0]
    assert top_k(words, scores, 2) == [0, 1]
    assert top_k(words, scores, 2, exclude_punctuation=True) == [0, 3]
    assert top_k(words, scores, 2, exclude_punctuation=True, exclude_stopwords=True) == [3, 4]


def test_a_student_is_attributed_on_the_input_it_trained_on(tiny_models):
    """The similarity analysis renders a student's input with the dss template: that is the
    example's stored input (DSS's premise</s>hypothesis with the literal </s>), whatever the
    student's own EOS token is (<|endoftext|> for Qwen or SmolLM2 students)."""
    import copy

    from akd.attribution import Settings, render_all

    _, tok = tiny_models["llama-nano"]
    tok = copy.deepcopy(tok)
    tok.add_special_tokens({"eos_token": "<|endoftext|>"})
    assert tok.eos_token == "<|endoftext|>"
    ex = generate("nli", 3, 0, "test")
    got = render_all(tok, ex, Settings(template="dss", prefix="predict: "))
    assert [r.text for r in got] == ["predict: " + e["input"] for e in ex]
    assert all("</s>" in e["input"] and "<|endoftext|>" not in e["input"] for e in ex)
