"""Ranked answers as lm-evaluation-harness 0.4.13 scores them (``_encode_pair``, ``acc`` /
``acc_norm``): the batched, prompt-shared scoring equals a plain forward per candidate of the ids
lm-eval's rule gives, computed here independently."""

import copy

import numpy as np
import pytest
import torch

from akd.prompts import PromptSettings, build_prompt
from akd.scoring import choose, rank
from akd.sources.synthetic import generate
from lm_eval_rule import pair_ids as _lm_eval_pair


@torch.no_grad()
def _independent(model, tok, prompt: str, cont: str, add_special: bool = True) -> tuple[float, int]:
    """(log p(cont | prompt), its token count) from one forward of the pair's ids."""
    enc_dec = model.config.is_encoder_decoder
    p, c = _lm_eval_pair(tok, prompt, cont, enc_dec, add_special)
    if enc_dec:
        labels = torch.tensor([c])
        dec_in = torch.cat([torch.full_like(labels[:, :1], model.config.decoder_start_token_id), labels[:, :-1]], 1)
        logits = model(input_ids=torch.tensor([p]), decoder_input_ids=dec_in).logits
        return float(torch.log_softmax(logits, -1).gather(-1, labels.unsqueeze(-1)).sum()), len(c)
    logp = torch.log_softmax(model(input_ids=torch.tensor([p + c])).logits[0], -1)
    return float(sum(logp[len(p) - 1 + j, t] for j, t in enumerate(c))), len(c)


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
        want = [_independent(model, tok, p, c) for c in cs]
        np.testing.assert_allclose(lp, [w for w, _ in want], rtol=0, atol=1e-6)
        assert list(n) == [k for _, k in want]


def _prepending_tokenizer():
    """A SentencePiece-style tokenizer as Llama-2 / Mistral / TinyLlama ship it (normaliser: prepend
    "▁", spaces to "▁"), built offline with the ``tokenizers`` library."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.pre_tokenizer = pre_tokenizers.Split("▁", behavior="merged_with_next")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.Strip(" ", 1, 0)])
    texts = ["Question: is it so?\nAnswer: True", "Answer: False", "Answer: Neither", "True False Neither"] * 20
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=200, special_tokens=["<pad>", "</s>", "<unk>"],
                                                       show_progress=False))
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def test_a_prepending_tokenizer_scores_the_continuation_in_context():
    """With a prepending tokenizer " True" alone is two pieces ("▁", "▁True"), after "Answer:" one:
    ranking (and so attribution) scores the in-context ids, against a plain forward of the joined ids."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = _prepending_tokenizer()
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                                         pad_token_id=0, eos_token_id=1, bos_token_id=1)).double().eval()
    prompt, conts = "Question: is it so?\nAnswer:", [" True", " False", " Neither"]
    alone = tok(" True", add_special_tokens=False)["input_ids"]
    joined = tok(prompt + " True", add_special_tokens=False)["input_ids"][len(tok(prompt)["input_ids"]):]
    assert tok.convert_ids_to_tokens(alone) == ["▁", "▁True"] and tok.convert_ids_to_tokens(joined) == ["▁True"]
    (lp, n), = rank(model, tok, [prompt], [conts], show_progress=False)
    want = [_independent(model, tok, prompt, c) for c in conts]
    assert list(n) == [k for _, k in want] == [1, 1, 1]
    np.testing.assert_allclose(lp, [w for w, _ in want], rtol=0, atol=1e-9)
    # the attribution target is those ids too: its recorded log-probability is the ranked one
    from akd.attribution import Settings, attribute
    from akd.tasks import Rendered

    ex = {"id": "q", "task": "nli", "fields": [{"name": "question", "text": "is it so?"}]}
    row, = attribute(model, tok, [ex], [" True"], Settings(batch_size=1), show_progress=False,
                     prompts=[Rendered(prompt, (("question", 10, 19),))])
    np.testing.assert_allclose(row["target_logprob"], lp[0], rtol=0, atol=1e-9)


def test_trailing_whitespace_joins_the_continuation(tiny_models):
    """A prompt that ends in a newline (a chat template's assistant tag): lm-eval scores the newline
    as part of every candidate, the same here."""
    model, tok = tiny_models["gpt2-nano"]
    model = copy.deepcopy(model).double()
    prompt = "Premise: a dog runs\nHypothesis: an animal moves\nAnswer:\n"
    conts = ["entailment", "neutral", "contradiction"]
    (lp, n), = rank(model, tok, [prompt], [conts], show_progress=False)
    want = [_independent(model, tok, prompt, c) for c in conts]
    np.testing.assert_allclose(lp, [w for w, _ in want], rtol=0, atol=1e-9)
    assert list(n) == [k for _, k in want]


def test_choose_normalisations():
    lp, n = np.array([-3.0, -4.0, -6.0]), np.array([1, 2, 6])
    conts = ["ab", "abcdefgh", "x" * 30]
    assert choose(lp, n, conts, "sum")[0] == 0
    assert choose(lp, n, conts, "tokens")[0] == 2  # -1.0 per token
    assert choose(lp, n, conts, "chars")[0] == 2  # -0.2 per character
    assert choose(np.array([-1.0, -1.0]), np.array([1, 1]), ["a", "b"])[0] == 0  # ties: the first


@pytest.mark.parametrize("delimiter", ["", " "])
def test_acc_norm_divides_by_the_choice_without_its_delimiter(delimiter):
    """lm-eval's acc_norm: argmax of loglikelihood / len(choice), the choice as doc_to_choice gives it
    (the target delimiter is not counted).  Built so that counting the delimiter flips the answer."""
    choices, lp = ["ab", "abcdef"], np.array([-2.1, -6.0])
    want = int(np.argmax(lp / np.array([len(c) for c in choices], dtype=float)))  # -1.05 vs -1.0: "abcdef"
    with_delim = int(np.argmax(lp / np.array([len(delimiter + c) for c in choices], dtype=float)))
    got, scores = choose(lp, np.array([1, 3]), [delimiter + c for c in choices], "chars")
    assert got == want == 1
    np.testing.assert_allclose(scores, lp / np.array([2.0, 6.0]))
    if delimiter:
        assert with_delim == 0  # the old division (by " ab", " abcdef") chose the other one
