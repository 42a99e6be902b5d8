"""Stage ``attribute``: which input words drive the teacher's answer.

For every example, captum's ``Saliency`` gives the gradient of the answer's log-probability
(sum over its tokens, teacher-forced) with respect to the encoder's input embeddings, for a whole
batch at once: the forward function returns one score per example and the weights are frozen, so
the backward computes input gradients only.  Each token's score is the L2 (or L1) norm of its
gradient over the hidden size.  Only tokens of the example's own text compete: a token counts
when its characters fall inside a field's span of the rendered prompt, so template text, task
prefixes, special and padding tokens never get a score.  Sub-word pieces are merged into words
(sum of piece scores by default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from captum.attr import Saliency

from .progress import progress
from .generation import length_sorted_batches
from .tasks import Rendered, fields_dict, render

WORD = re.compile(r"\d+(?:[.,]\d+)*|\w+(?:['’]\w+)*|[^\w\s]")


@dataclass
class Words:
    """The words of one example's own text, with their field and character span in that field."""

    text: list[str]
    field: list[str]
    start: list[int]
    end: list[int]
    abs_start: list[int]  # span inside the rendered prompt
    abs_end: list[int]


def split_words(rendered: Rendered, fields: dict[str, str]) -> Words:
    w = Words([], [], [], [], [], [])
    for name, a, b in rendered.spans:
        for m in WORD.finditer(fields[name]):
            w.text.append(m.group())
            w.field.append(name)
            w.start.append(m.start())
            w.end.append(m.end())
            w.abs_start.append(a + m.start())
            w.abs_end.append(a + m.end())
    return w


def token_to_word(offsets: Sequence[tuple[int, int]], words: Words, special: Sequence[bool]) -> np.ndarray:
    """For each token, the index of the word it belongs to, or -1 (template, special, padding).

    A token belongs to the word its characters overlap most; a token that covers only whitespace
    right before a word (SentencePiece's lone "▁") joins that word.
    """
    out = np.full(len(offsets), -1, dtype=np.int64)
    starts = np.asarray(words.abs_start)
    ends = np.asarray(words.abs_end)
    if len(starts) == 0:
        return out
    for t, ((a, b), sp) in enumerate(zip(offsets, special)):
        if sp or b <= a:
            continue
        overlap = np.minimum(ends, b) - np.maximum(starts, a)
        j = int(np.argmax(overlap))
        if overlap[j] > 0:
            out[t] = j
        else:
            nxt = np.nonzero(starts == b)[0]
            if len(nxt):
                out[t] = int(nxt[0])
    return out


def merge_scores(token_scores: np.ndarray, tok2word: np.ndarray, n_words: int, how: str = "sum") -> np.ndarray:
    scores = np.zeros(n_words, dtype=np.float64)
    if how == "sum":
        np.add.at(scores, tok2word[tok2word >= 0], token_scores[tok2word >= 0])
        return scores
    for j in range(n_words):
        s = token_scores[tok2word == j]
        scores[j] = (s.max() if how == "max" else s.mean()) if len(s) else 0.0
    return scores


def answer_logprob(model, inputs_embeds, attention_mask, labels) -> torch.Tensor:
    """Sum of the answer tokens' log-probabilities per example (labels padded with -100)."""
    dec_in = model._shift_right(labels.clamp(min=0).masked_fill(labels < 0, model.config.pad_token_id))
    logits = model(inputs_embeds=inputs_embeds, attention_mask=attention_mask, decoder_input_ids=dec_in).logits
    logp = torch.log_softmax(logits if logits.dtype == torch.float64 else logits.float(), dim=-1)
    mask = labels >= 0
    picked = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(-1)


def attribute(
    model,
    tokenizer,
    examples: Sequence[dict],
    targets: Sequence[str],
    style: str = "prompt",
    reduce: str = "l2",
    aggregate: str = "sum",
    batch_size: int = 16,
    max_input_tokens: int = 1024,
    show_progress: bool = True,
) -> list[dict]:
    """One row (ATTRIBUTIONS layout) per example, in input order."""
    if reduce not in ("l2", "l1"):
        raise ValueError(f"attribution.reduce must be l2 or l1, got {reduce!r}")
    model.eval()
    model.requires_grad_(False)
    device = next(model.parameters()).device
    embed = model.get_encoder().embed_tokens
    saliency = Saliency(lambda emb, mask, labels: answer_logprob(model, emb, mask, labels))

    rendered = [render(e["task"], fields_dict(e["fields"]), style, tokenizer.eos_token or "</s>") for e in examples]
    rows: list[dict | None] = [None] * len(examples)
    bar = progress(len(examples), "attribute", "ex", disable=not show_progress)
    for idx in length_sorted_batches([len(r.text) for r in rendered], batch_size):
        enc = tokenizer([rendered[i].text for i in idx], return_tensors="pt", padding=True, truncation=True,
                        max_length=max_input_tokens, return_offsets_mapping=True, return_special_tokens_mask=True)
        labels = tokenizer(text_target=[targets[i] for i in idx], return_tensors="pt", padding=True)["input_ids"]
        labels[labels == tokenizer.pad_token_id] = -100
        input_ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
        emb = embed(input_ids).detach().requires_grad_(True)
        grads = saliency.attribute(emb, additional_forward_args=(mask, labels.to(device)), abs=False)
        g = grads.detach().double()
        tok_scores = (g.norm(dim=-1) if reduce == "l2" else g.abs().sum(-1)).cpu().numpy()
        for b, i in enumerate(idx):
            ex = examples[i]
            words = split_words(rendered[i], fields_dict(ex["fields"]))
            special = (enc["special_tokens_mask"][b] | (1 - enc["attention_mask"][b])).bool().tolist()
            t2w = token_to_word(enc["offset_mapping"][b].tolist(), words, special)
            rows[i] = {
                "id": ex["id"],
                "target": targets[i],
                "words": words.text,
                "word_field": words.field,
                "word_start": words.start,
                "word_end": words.end,
                "scores": merge_scores(tok_scores[b], t2w, len(words.text), aggregate).tolist(),
            }
        bar.update(len(idx))
    bar.close()
    return rows  # type: ignore[return-value]
