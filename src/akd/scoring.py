"""Log-probabilities of answers given prompts: how a prompt and its continuation are tokenised, and
the batched ranking of candidate answers.

A (prompt, continuation) pair is tokenised as lm-evaluation-harness (0.4.13, ``_encode_pair``)
does: whitespace at the end of the prompt moves to the front of the continuation (after a chat
template's assistant tag that is its ``\\n``, the same for every candidate of a prompt); an
encoder-decoder model reads the prompt in its encoder and the continuation, encoded alone without
special tokens (so no end-of-sequence token), as decoder targets; a decoder-only model's
continuation is what encoding prompt + continuation *together* adds after the prompt's own tokens
(SentencePiece tokenizers that prepend "▁" give other ids for a continuation encoded alone).  A
prompt longer than the limit keeps its *last* tokens (cut from the left, as lm-eval cuts, so the
answer cue stays; lm-eval cuts prompt and continuation together at the model's length, the same
whenever the prompt fits); a student's input is cut from the right, as DSS's tokenizer call cuts
it, so its task prefix stays.  Special tokens: added to a plain prompt, not to a chat template's
text (which writes its own); lm-eval adds them unless the text starts with the BOS token, the same
but for a template that omits a BOS its tokenizer would add.  Attribution (:mod:`akd.attribution`),
faithfulness and training use the same functions, so an answer is explained, tested and learnt
exactly as it was scored.

Ranking encodes each prompt once for all its candidates: encoder-decoder models run the encoder and
the decoder's first step once per example, and its candidates share the cached cross-attention keys
and values (the candidates' remaining tokens go through the decoder in one pass per candidate
length, so no position is padding); decoder-only models run the prompt once (left padded, so every
prompt ends at the same position) and its KV cache is shared by its candidates.
"""

from __future__ import annotations

import copy
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .generation import length_sorted_batches
from .progress import progress

#: Which end of a prompt that is too long is cut: ``left`` keeps its end (the teacher's answer
#: cue; lm-eval), ``right`` keeps its start (a student's ``predict:`` prefix; DSS).
TRUNCATION = ("left", "right")


def logprob_sum(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Sum over positions of log p(label), one per row; labels < 0 are ignored."""
    logp = torch.log_softmax(logits if logits.dtype == torch.float64 else logits.float(), dim=-1)
    mask = labels >= 0
    picked = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(-1)


def move_trailing_space(prompt: str, continuation: str) -> tuple[str, str]:
    """The prompt's trailing whitespace moved to the front of its continuation (lm-eval's rule)."""
    n = len(prompt) - len(prompt.rstrip())
    return (prompt[:-n], prompt[-n:] + continuation) if n else (prompt, continuation)


@dataclass
class Encoded:
    """One prompt, tokenised and cut to the limit: its ids, the character span of each id in the
    prompt text ((0, 0) for special tokens), which ids are special, and whether it was cut."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    special: list[bool]
    truncated: bool
    text: str  # the prompt as encoded (its trailing whitespace moved to the continuations)


def encode_prompts(tokenizer, prompts: Sequence[str], max_tokens: int, truncation: str = "left",
                   add_special_tokens: bool = True, scored: bool = True) -> list[Encoded]:
    """The prompts' tokens, each cut to its last (``left``, as lm-eval slices) or first (``right``,
    the tokenizer's own truncation, as DSS calls it) ``max_tokens`` tokens.  A prompt whose
    continuations are ``scored`` leaves its trailing whitespace to them; a prompt to generate from
    keeps it (as lm-eval's ``generate_until`` does)."""
    if truncation not in TRUNCATION:
        raise ValueError(f"truncation must be one of {TRUNCATION}, got {truncation!r}")
    texts = [move_trailing_space(p, "")[0] if scored else p for p in prompts]
    kw = dict(return_offsets_mapping=True, return_special_tokens_mask=True, add_special_tokens=add_special_tokens)
    enc = tokenizer(texts, **kw)
    lengths = [len(x) for x in enc["input_ids"]]
    if truncation == "right" and max(lengths, default=0) > max_tokens:
        # the tokenizer's own cut (DSS's call): the end of the text goes, special tokens stay
        enc = tokenizer(texts, truncation=True, max_length=max_tokens, **kw)
    out = []
    for i, text in enumerate(texts):
        ids = list(enc["input_ids"][i])
        offs = [tuple(o) for o in enc["offset_mapping"][i]]
        spec = [bool(s) for s in enc["special_tokens_mask"][i]]
        if truncation == "left":  # lm-eval's cut: the last max_tokens ids, whatever they are
            ids, offs, spec = ids[-max_tokens:], offs[-max_tokens:], spec[-max_tokens:]
        out.append(Encoded(ids, offs, spec, lengths[i] > max_tokens, text))
    return out


def continuation_ids(tokenizer, prompts: Sequence[str], continuations: Sequence[str], encoder_decoder: bool,
                     add_special_tokens: bool = True) -> list[list[int]]:
    """The ids of each continuation after its prompt, as lm-eval 0.4.13 (``_encode_pair``) makes
    them, the prompt's trailing whitespace joining the continuation: encoder-decoder, the
    continuation encoded alone without special tokens (decoder targets, no EOS); decoder-only, the
    ids that prompt + continuation encoded together have after the prompt's own ids."""
    pairs = [move_trailing_space(p, c) for p, c in zip(prompts, continuations)]
    if encoder_decoder:
        return [list(x) for x in tokenizer([c for _, c in pairs], add_special_tokens=False)["input_ids"]]
    whole = tokenizer([p + c for p, c in pairs], add_special_tokens=add_special_tokens)["input_ids"]
    alone = tokenizer(list(dict.fromkeys(p for p, _ in pairs)), add_special_tokens=add_special_tokens)["input_ids"]
    n_prompt = dict(zip(dict.fromkeys(p for p, _ in pairs), (len(a) for a in alone)))
    return [list(w[n_prompt[p]:]) for w, (p, _) in zip(whole, pairs)]


def truncated(tokenizer, prompts: Sequence[str], max_tokens: int, add_special_tokens: bool = True) -> list[bool]:
    """Whether each prompt is longer than ``max_tokens`` tokens (and so is cut)."""
    texts = [move_trailing_space(p, "")[0] for p in prompts]
    return [len(x) > max_tokens for x in tokenizer(texts, add_special_tokens=add_special_tokens)["input_ids"]]


def _pad(rows: Sequence[Sequence[int]], value: int, left: bool = False) -> torch.Tensor:
    n = max((len(r) for r in rows), default=0)
    out = torch.full((len(rows), n), value, dtype=torch.long)
    for i, r in enumerate(rows):
        if len(r):
            if left:
                out[i, n - len(r):] = torch.tensor(list(r))
            else:
                out[i, : len(r)] = torch.tensor(list(r))
    return out


def _select_cache(cache, rows: torch.Tensor):
    """A cache holding ``rows`` of ``cache`` (left as it is): shallow copies of the cache and its
    layers, each layer then indexed once (``batch_select_indices`` rebinds, never writes in place)."""
    def part(c):
        c = copy.copy(c)
        c.layers = [copy.copy(layer) for layer in c.layers]
        for layer in c.layers:
            layer.batch_select_indices(rows)
        return c

    out = copy.copy(cache)
    out.self_attention_cache = part(cache.self_attention_cache)
    out.cross_attention_cache = part(cache.cross_attention_cache)
    out.is_updated = dict(cache.is_updated)
    return out


def _rank_encoder_decoder(model, prompt_ids, cont_ids, pad_id) -> torch.Tensor:
    from transformers.modeling_outputs import BaseModelOutput

    device = next(model.parameters()).device
    ids = _pad(prompt_ids, pad_id).to(device)
    mask = (_pad([[1] * len(p) for p in prompt_ids], 0)).to(device)
    hidden = model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state
    # the decoder's first step once per prompt: it predicts every candidate's first token and caches
    # the cross-attention keys and values, which the candidates then share
    start = torch.full((len(prompt_ids), 1), model.config.decoder_start_token_id, dtype=torch.long, device=device)
    out = model(encoder_outputs=BaseModelOutput(last_hidden_state=hidden), attention_mask=mask,
                decoder_input_ids=start, use_cache=True)
    flat = [c for cs in cont_ids for c in cs]
    owner = torch.arange(len(cont_ids), device=device).repeat_interleave(
        torch.tensor([len(c) for c in cont_ids], device=device))
    labels = _pad(flat, -100).to(device)
    last = out.logits[:, -1]
    first = torch.log_softmax(last if last.dtype == torch.float64 else last.float(), dim=-1)  # once per prompt
    scores = first[owner].gather(-1, labels[:, :1]).squeeze(-1)
    # the candidates' remaining tokens, one decoder pass per candidate length (no padded positions)
    lengths = torch.tensor([len(c) for c in flat], device=device)
    for n in sorted(set(lengths.tolist()) - {1}):
        sel = (lengths == n).nonzero().flatten()
        cache = _select_cache(out.past_key_values, owner[sel])
        # cross-attention reads its cached keys and values; the encoder states only give the shape
        states = hidden[:1].expand(len(sel), -1, -1)
        rest = model(encoder_outputs=BaseModelOutput(last_hidden_state=states),
                     attention_mask=mask[owner[sel]], decoder_input_ids=labels[sel, : n - 1],
                     past_key_values=cache, use_cache=True)
        scores[sel] += logprob_sum(rest.logits, labels[sel, 1:n])
    return scores


def _rank_decoder_only(model, prompt_ids, cont_ids, pad_id) -> torch.Tensor:
    device = next(model.parameters()).device
    ids = _pad(prompt_ids, pad_id, left=True).to(device)
    mask = _pad([[1] * len(p) for p in prompt_ids], 0, left=True).to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1)
    first = out.logits[:, -1]  # (B, V): predicts every candidate's first token
    reps = torch.tensor([len(c) for c in cont_ids], device=device)
    flat = [c for cs in cont_ids for c in cs]
    labels = _pad(flat, -100).to(device)
    first = torch.log_softmax(first if first.dtype == torch.float64 else first.float(), dim=-1)  # once per prompt
    first_lp = first.repeat_interleave(reps, 0).gather(-1, labels[:, :1]).squeeze(-1)
    if labels.shape[1] == 1:
        return first_lp
    cache = out.past_key_values
    cache.batch_repeat_interleave(reps)
    cmask = (labels >= 0).long()
    cpos = mask.sum(-1).repeat_interleave(reps, 0)[:, None] + torch.arange(labels.shape[1], device=device)[None]
    rest = model(input_ids=labels.clamp(min=0).masked_fill(labels < 0, pad_id),
                 attention_mask=torch.cat([mask.repeat_interleave(reps, 0), cmask], dim=1),
                 position_ids=cpos, past_key_values=cache, use_cache=True)
    return first_lp + logprob_sum(rest.logits[:, :-1], labels[:, 1:])


def rank(model, tokenizer, prompts: Sequence[str], continuations: Sequence[Sequence[str]], batch_size: int = 16,
         max_input_tokens: int = 1024, add_special_tokens: bool = True, desc: str = "rank",
         show_progress: bool = True, truncation: str = "left") -> list[tuple[np.ndarray, np.ndarray]]:
    """Per prompt: (summed log-probability, token count) of each of its continuations, in order
    (tokenised as :func:`continuation_ids` says, the prompt cut as :func:`encode_prompts` cuts it).

    ``batch_size`` counts prompts; their candidates run together.  Prompts are sorted by length.
    """
    model.eval()
    device = next(model.parameters()).device
    encoder_decoder = bool(model.config.is_encoder_decoder)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros(0), np.zeros(0, dtype=np.int64))] * len(prompts)
    bar = progress(len(prompts), desc, "ex", disable=not show_progress)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
    with torch.inference_mode(), autocast:
        for idx in length_sorted_batches([len(p) for p in prompts], batch_size):
            p_ids = [e.ids for e in encode_prompts(tokenizer, [prompts[i] for i in idx], max_input_tokens,
                                                   truncation, add_special_tokens)]
            flat = continuation_ids(tokenizer, [prompts[i] for i in idx for _ in continuations[i]],
                                    [c for i in idx for c in continuations[i]], encoder_decoder, add_special_tokens)
            it = iter(flat)
            c_ids = [[next(it) for _ in continuations[i]] for i in idx]
            if any(not c for cs in c_ids for c in cs):
                raise ValueError("a candidate answer has no tokens")
            fn = _rank_encoder_decoder if encoder_decoder else _rank_decoder_only
            scores = fn(model, p_ids, c_ids, pad_id).double().cpu().numpy()
            pos = 0
            for i, cs in zip(idx, c_ids):
                out[i] = (scores[pos: pos + len(cs)], np.array([len(c) for c in cs], dtype=np.int64))
                pos += len(cs)
            bar.update(len(idx))
    bar.close()
    return out


def choose(logprobs: np.ndarray, n_tokens: np.ndarray, continuations: Sequence[str], normalise: str = "sum"
           ) -> tuple[int, np.ndarray]:
    """The chosen candidate (first on ties) and the scores it was chosen by: summed log-prob
    (lm-evaluation-harness ``acc``), per token, or per character of the answer (``acc_norm``: lm-eval
    divides by the length of the choice itself, so a continuation's leading whitespace, its target
    delimiter, is not counted)."""
    if normalise == "sum":
        scores = np.asarray(logprobs, dtype=np.float64)
    elif normalise == "tokens":
        scores = np.asarray(logprobs, dtype=np.float64) / np.maximum(1, n_tokens)
    elif normalise == "chars":
        scores = np.asarray(logprobs, dtype=np.float64) / np.maximum(1, [len(c.lstrip()) for c in continuations])
    else:
        raise ValueError(f"unknown normalisation {normalise!r}")
    return int(np.argmax(scores)), scores


def ranked_answers(model, tokenizer, prompts: Sequence[str], spaces: Sequence[Sequence[str]], normalise: str = "sum",
                   batch_size: int = 16, max_input_tokens: int = 1024, show_progress: bool = True,
                   truncation: str = "right") -> list[str]:
    """A student's answer to each prompt chosen from its label space ``spaces[i]`` by the
    log-probability of each answer as its continuation (a space before it for a decoder-only
    model), normalised as :func:`choose` says; the input cut as in training (``right``)."""
    decoder_only = not model.config.is_encoder_decoder
    conts = [[" " + a.strip() if decoder_only else a.strip() for a in space] for space in spaces]
    ranked = rank(model, tokenizer, prompts, conts, batch_size, max_input_tokens, desc="rank",
                  show_progress=show_progress, truncation=truncation)
    return [space[choose(lp, n, c, normalise)[0]] for space, c, (lp, n) in zip(spaces, conts, ranked)]
