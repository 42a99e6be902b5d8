"""Stage ``attribute``: which input words drive the teacher's answer.

The score being explained is the sum of the answer tokens' log-probabilities, teacher-forced
(the teacher's own prediction by default, or the gold label).  captum's core attribution classes
(``Saliency``, ``InputXGradient``, ``IntegratedGradients``) run on the input embeddings of a whole
batch at once: the forward function returns one score per example, and the weights are frozen, so
the backward computes input gradients only.  Encoder-decoder models (T5, BART) attribute the
encoder input; decoder-only models (Llama family, GPT-2) attribute the prompt tokens for the answer
continuation.

Per token, saliency reduces the gradient to its L2 (or L1) norm over the hidden size; input x
gradient and integrated gradients sum over the hidden size (signed, so that integrated gradients
keeps completeness).  Only tokens of the example's own text compete: a token counts when its
characters fall inside a field's span of the rendered prompt, so template text, task prefixes,
special and padding tokens never get a score.  Sub-word pieces are merged into words (sum of piece
scores by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field
from typing import Callable, Sequence

import numpy as np
import torch
from captum.attr import FeatureAblation, InputXGradient, IntegratedGradients, Saliency

from .generation import length_sorted_batches
from .precision import autocast
from .progress import progress
from .scoring import continuation_ids, encode_prompts, logprob_sum
from .tasks import Rendered, fields_dict, render
from .words import WORD

METHODS = ("saliency", "input_x_gradient", "integrated_gradients", "feature_ablation")


@dataclass
class Settings:
    method: str = "saliency"
    reduce: str = "l2"  # saliency only: l2 | l1 | sum (signed, as captum's LLM attribution reports)
    aggregate: str = "sum"  # pieces -> word: sum | max | mean
    n_steps: int = 32  # integrated gradients
    batch_size: int = 16
    max_input_tokens: int = 1024
    truncation: str = "left"  # the teacher's prompt keeps its end (left); a student's input its start (right)
    template: str = "prompt"
    prefix: str = ""  # text before the rendered input (the student's "predict: "); never competes
    precision: str = "auto"  # auto (bf16 autocast on a GPU) | float32 | bf16 (see akd.precision)
    score: str = "logprob"  # what is explained: logprob | logit | log_odds (see SCORES)

    @classmethod
    def from_dict(cls, d: dict) -> "Settings":
        """The attribution fields of a job's settings (other keys, such as the model or the device,
        are the job's and are ignored; the config schema has checked their names)."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in known})

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"attribution method {self.method!r} unknown; expected one of {METHODS}")
        if self.reduce not in ("l2", "l1", "sum"):
            raise ValueError(f"attribution.reduce must be l2, l1 or sum, got {self.reduce!r}")
        if self.score not in SCORES:
            raise ValueError(f"attribution.score must be one of {SCORES}, got {self.score!r}")
        if self.aggregate not in ("sum", "max", "mean"):
            raise ValueError(f"attribution.aggregate must be sum, max or mean, got {self.aggregate!r}")


@dataclass
class Words:
    """The words of one example's own text, with their field and character span in that field."""

    text: list[str] = _field(default_factory=list)
    field: list[str] = _field(default_factory=list)
    start: list[int] = _field(default_factory=list)
    end: list[int] = _field(default_factory=list)
    abs_start: list[int] = _field(default_factory=list)  # span inside the rendered prompt
    abs_end: list[int] = _field(default_factory=list)


def split_words(rendered: Rendered, fields: dict[str, str]) -> Words:
    w = Words()
    for name, a, _ in rendered.spans:
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
    if not words.text:
        return out
    starts, ends = np.asarray(words.abs_start), np.asarray(words.abs_end)
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
    keep = tok2word >= 0
    if how == "sum":
        np.add.at(scores, tok2word[keep], token_scores[keep])
        return scores
    for j in range(n_words):
        s = token_scores[tok2word == j]
        scores[j] = (s.max() if how == "max" else s.mean()) if len(s) else 0.0
    return scores


# ------------------------------------------------------------------------------- the score

#: What attribution explains: the answer's summed log-probability (default), the sum of its
#: tokens' logits (before the softmax), or its log-odds log p - log(1 - p), p = exp(log-probability).
SCORES = ("logprob", "logit", "log_odds")


def answer_logits(model, inputs_embeds, attention_mask, labels) -> tuple[torch.Tensor, torch.Tensor]:
    """The logits at the positions that predict answer tokens and the labels they predict (-100
    elsewhere).  Encoder-decoder: ``labels`` are the decoder targets.  Decoder-only: ``labels`` run
    along the prompt+answer sequence, -100 outside the answer; position t predicts token t + 1."""
    if model.config.is_encoder_decoder:
        pad = model.config.pad_token_id
        dec_in = model._shift_right(labels.masked_fill(labels < 0, pad))
        logits = model(inputs_embeds=inputs_embeds, attention_mask=attention_mask, decoder_input_ids=dec_in).logits
        return logits, labels
    # only the positions that predict answer tokens need the (vocabulary-sized) output layer
    pred = (labels[:, 1:] >= 0).any(0).nonzero().flatten()
    keep = torch.arange(int(pred.min()), int(pred.max()) + 1, device=labels.device)
    logits = model(inputs_embeds=inputs_embeds, attention_mask=attention_mask, logits_to_keep=keep).logits
    return logits, labels[:, keep + 1]


def answer_logprob(model, inputs_embeds, attention_mask, labels) -> torch.Tensor:
    """Sum of the answer tokens' log-probabilities, one per example (labels padded with -100)."""
    return logprob_sum(*answer_logits(model, inputs_embeds, attention_mask, labels))


def answer_score(model, inputs_embeds, attention_mask, labels, score: str = "logprob") -> torch.Tensor:
    """The score attribution explains (:data:`SCORES`), one per example."""
    if score == "logprob":
        return answer_logprob(model, inputs_embeds, attention_mask, labels)
    logits, lab = answer_logits(model, inputs_embeds, attention_mask, labels)
    if score == "logit":
        picked = logits.gather(-1, lab.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        return (picked * (lab >= 0)).sum(-1)
    if score == "log_odds":
        lp = logprob_sum(logits, lab).clamp(max=-1e-30)  # p = 1 exactly would give infinite odds
        return lp - torch.log(-torch.expm1(lp))
    raise ValueError(f"attribution.score must be one of {SCORES}, got {score!r}")


def input_embeddings(model) -> torch.nn.Module:
    """The embedding table whose output is attributed (T5's encoder has its own ``embed_tokens``)."""
    if model.config.is_encoder_decoder:
        return model.get_encoder().embed_tokens
    return model.get_input_embeddings()


@dataclass
class Batch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    offsets: list[list[tuple[int, int]]]  # per token; (0, 0) for tokens that are not prompt text
    special: list[list[bool]]


def encode_batch(model, tokenizer, prompts: Sequence[str], targets: Sequence[str], max_input_tokens: int,
                 add_special_tokens: bool = True, truncation: str = "left") -> Batch:
    """Prompts and their exact continuations (``targets``), tokenised and cut as :mod:`akd.scoring`
    scores them."""
    encoder_decoder = bool(model.config.is_encoder_decoder)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    encs = encode_prompts(tokenizer, prompts, max_input_tokens, truncation, add_special_tokens)
    conts = continuation_ids(tokenizer, prompts, targets, encoder_decoder, add_special_tokens)
    if encoder_decoder:  # prompts in the encoder (right padding), continuations as decoder targets
        rows, labs = [e.ids for e in encs], conts
        offs = [list(e.offsets) for e in encs]
        specs = [list(e.special) for e in encs]
    else:  # decoder-only: prompt tokens, then the continuation's; right padding
        rows = [e.ids + c for e, c in zip(encs, conts)]
        labs = [[-100] * len(e.ids) + c for e, c in zip(encs, conts)]
        offs = [list(e.offsets) + [(0, 0)] * len(c) for e, c in zip(encs, conts)]
        specs = [list(e.special) + [True] * len(c) for e, c in zip(encs, conts)]
    n = max(len(r) for r in rows)
    ids = torch.full((len(rows), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), n), dtype=torch.long)
    labels = torch.full((len(rows), max(len(x) for x in labs)), -100, dtype=torch.long)
    for i, (r, lab) in enumerate(zip(rows, labs)):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
        labels[i, : len(lab)] = torch.tensor(lab)
        offs[i] += [(0, 0)] * (n - len(r))
        specs[i] += [True] * (n - len(r))
    if not encoder_decoder:
        labels = torch.cat([labels, torch.full((len(rows), n - labels.shape[1]), -100, dtype=torch.long)], 1)
    return Batch(ids, mask, labels, offs, specs)


def token_scores(model, batch: Batch, settings: Settings, word_of_token: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(B, T) token scores and the (B,) answer log-probabilities, for one batch.  ``word_of_token``
    (B, T; -1 outside the example's words) groups tokens for ``feature_ablation``: every token of a
    word gets the fall of the answer's log-probability when the word's tokens are all replaced by
    the pad embedding (captum's ``FeatureAblation``, word j of every example in one forward)."""
    device = next(model.parameters()).device
    embed = input_embeddings(model)
    ids, mask, labels = batch.input_ids.to(device), batch.attention_mask.to(device), batch.labels.to(device)
    emb = embed(ids).detach().requires_grad_(True)
    stash: dict[str, torch.Tensor] = {}

    def forward(e, m, lab):
        out = answer_score(model, e, m, lab, settings.score)
        stash.setdefault("value", out.detach())  # the first call sees the real inputs
        return out

    args = (mask, labels)
    if settings.method == "saliency":
        g = Saliency(forward).attribute(emb, additional_forward_args=args, abs=False).detach()
        g = g.double() if g.dtype != torch.float64 else g
        scores = {"l2": lambda: g.norm(dim=-1), "l1": lambda: g.abs().sum(-1), "sum": lambda: g.sum(-1)}[settings.reduce]()
    elif settings.method == "feature_ablation":
        if word_of_token is None:
            raise ValueError("feature_ablation needs the words of each token")
        words = torch.as_tensor(word_of_token, device=device)
        mask_ids = torch.where(words >= 0, words, int(words.max()) + 1)  # one feature for all non-word tokens
        base = embed(torch.full_like(ids, tokenizer_pad_id(model))).detach()
        with torch.no_grad():
            scores = FeatureAblation(forward).attribute(
                emb.detach(), baselines=base, additional_forward_args=args,
                feature_mask=mask_ids.unsqueeze(-1).expand_as(emb)).double()[..., 0]
    elif settings.method == "input_x_gradient":
        scores = InputXGradient(forward).attribute(emb, additional_forward_args=args).detach().double().sum(-1)
    else:
        pad = tokenizer_pad_id(model)
        base = embed(torch.full_like(ids, pad)).detach()
        ig = IntegratedGradients(forward)
        scores = ig.attribute(emb, baselines=base, additional_forward_args=args, n_steps=settings.n_steps,
                              internal_batch_size=max(1, settings.batch_size)).detach().double().sum(-1)
        stash.pop("value", None)
    if settings.score != "logprob" or "value" not in stash:  # the answer's log-probability, as recorded
        with torch.no_grad():
            stash["value"] = answer_logprob(model, emb, mask, labels)
    return scores.cpu().numpy(), stash["value"].double().cpu().numpy()


def tokenizer_pad_id(model) -> int:
    pad = model.config.pad_token_id
    if pad is None:
        pad = model.config.eos_token_id
    return int(pad if not isinstance(pad, list) else pad[0])


def _prefixed(r: Rendered, prefix: str) -> Rendered:
    if not prefix:
        return r
    n = len(prefix)
    return Rendered(prefix + r.text, tuple((f, a + n, b + n) for f, a, b in r.spans))


def render_all(tokenizer, examples: Sequence[dict], settings: Settings) -> list[Rendered]:
    """The texts attribution runs on; batches are sorted by their length (``len(r.text)``).  With
    the ``dss`` template that is the example's stored input (what a student trained and was tested
    on: DSS's rendering with the literal ``</s>`` between NLI's premise and hypothesis, whatever the
    model's own EOS token is), checked against it."""
    out = []
    for e in examples:
        r = render(e["task"], fields_dict(e["fields"]), settings.template)
        if settings.template == "dss" and "input" in e and r.text != e["input"]:
            raise ValueError(f"example {e['id']!r}: its rendering differs from its stored input")
        out.append(_prefixed(r, settings.prefix))
    return out


def _is_oom(err: BaseException) -> bool:
    return isinstance(err, torch.cuda.OutOfMemoryError) or "out of memory" in str(err).lower()


def attribute(
    model,
    tokenizer,
    examples: Sequence[dict],
    targets: Sequence[str],
    settings: Settings | None = None,
    show_progress: bool = True,
    done: dict[int, dict] | None = None,
    on_batch: Callable[[dict[int, dict]], None] | None = None,
    prompts: Sequence[Rendered] | None = None,
    add_special_tokens: bool = True,
    **overrides,
) -> list[dict]:
    """One row (ATTRIBUTIONS layout) per example, in input order.

    ``prompts``: the exact prompts (text and the spans of the example's fields), e.g. the teacher's
    from its predictions table; ``targets`` are then the exact continuations that were scored.
    Without them, prompts are rendered with ``settings.template`` and a decoder-only model's target
    follows the prompt after a space.

    ``done``: rows already computed (by example position), from a killed run's checkpoint; their
    batches are skipped and every other batch is the same as in a fresh run.  ``on_batch`` is called
    with all rows so far after each batch (the caller decides when to save them).
    """
    settings = settings or Settings(**overrides)
    model.eval()
    model.requires_grad_(False)
    device = next(model.parameters()).device
    if prompts is None:
        rendered = render_all(tokenizer, examples, settings)
        if not model.config.is_encoder_decoder:
            targets = [" " + t.strip() for t in targets]
    else:
        rendered = list(prompts)
    rows: list[dict | None] = [None] * len(examples)
    finished: dict[int, dict] = {}
    bar = progress(len(examples), f"attribute ({settings.method})", "ex", disable=not show_progress)
    pending = length_sorted_batches([len(r.text) for r in rendered], settings.batch_size)
    if done:
        kept = []
        for idx in pending:
            if all(i in done for i in idx):
                for i in idx:
                    rows[i] = finished[i] = done[i]
                bar.update(len(idx))
            else:
                kept.append(idx)
        pending = kept
    while pending:
        idx = pending.pop(0)
        batch = encode_batch(model, tokenizer, [rendered[i].text for i in idx], [targets[i] for i in idx],
                             settings.max_input_tokens, add_special_tokens, settings.truncation)
        words = [split_words(rendered[i], fields_dict(examples[i]["fields"])) for i in idx]
        t2w = np.stack([token_to_word(batch.offsets[b], w, batch.special[b]) for b, w in enumerate(words)])
        try:
            with autocast(device, settings.precision):
                scores, values = token_scores(model, batch, settings, t2w)
        except RuntimeError as err:
            if not _is_oom(err) or len(idx) == 1:
                raise
            torch.cuda.empty_cache()
            half = len(idx) // 2
            pending[:0] = [idx[:half], idx[half:]]  # halve the batch and retry
            continue
        how = "mean" if settings.method == "feature_ablation" else settings.aggregate  # its tokens share one value
        for b, i in enumerate(idx):
            w = words[b]
            rows[i] = {
                "id": examples[i]["id"],
                "target": targets[i],
                "target_logprob": float(values[b]),
                "words": w.text,
                "word_field": w.field,
                "word_start": w.start,
                "word_end": w.end,
                "scores": merge_scores(scores[b], t2w[b], len(w.text), how).tolist(),
            }
            finished[i] = rows[i]
        bar.update(len(idx))
        if on_batch is not None:
            on_batch(finished)
    bar.close()
    return rows  # type: ignore[return-value]
