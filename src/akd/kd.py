"""Logit distillation (Hinton et al. 2015; word-level KD, Kim and Rush 2016) over a sparse teacher.

The teacher's distribution at temperature ``T`` over each label token is kept as its ``N`` most
probable token ids with their log-probabilities, and the log of the mass left over (every other
token, as one number).  The divergence is then computed between two distributions over ``N + 1``
outcomes: the kept tokens one by one, and "any other token" (for the student: the log of its mass
on every token outside the kept ids).  That is the divergence of the full distributions *coarsened*
to those outcomes: exact when ``N`` covers the vocabulary (nothing left over), and otherwise never
larger than the full one (the data-processing inequality), the gap being how the student spreads
the left-over mass among tokens the teacher did not keep.  With ``N`` = 20 a peaked teacher leaves
little mass over; the teacher stage records it, so the gap can be bounded per dataset.

``forward`` is KL(p_teacher || q_student) (Hinton's KD), ``reverse`` KL(q || p) (MiniLLM), ``jsd``
the Jensen-Shannon divergence (GKD's beta = 0.5).  The label task's loss is
``(1 - alpha) * CE(gold) + alpha * T**2 * D``, each term the mean over the batch's label tokens.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .errors import AkdError

DIVERGENCES = ("forward", "reverse", "jsd")


def sparse_teacher(logits: torch.Tensor, top: int, temperature: float = 1.0):
    """From the teacher's logits ``[..., V]``: the ``top`` most probable ids at ``temperature``, their
    log-probabilities, and the log of the probability of every other token (``-inf`` when ``top``
    covers the vocabulary), computed from the logits themselves (a log-sum-exp over the tokens not
    kept, never ``1 - sum``, so a small left-over mass keeps its precision)."""
    logp = torch.log_softmax(logits.double() / temperature, dim=-1)
    top = min(top, logits.shape[-1])
    kept, ids = logp.topk(top, dim=-1)
    return ids, kept, rest_logprob(logp, ids)


def rest_logprob(logp: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """The log of the probability of every token but ``ids`` (``logp``: full log-probabilities);
    ``-inf``, without a gradient, when ``ids`` are the whole vocabulary."""
    if ids.shape[-1] >= logp.shape[-1]:
        return torch.full(logp.shape[:-1], float("-inf"), dtype=logp.dtype, device=logp.device)
    masked = logp.scatter(-1, ids, float("-inf"))
    return torch.logsumexp(masked, dim=-1)


def _kl(logp: torch.Tensor, logq: torch.Tensor) -> torch.Tensor:
    """KL(p || q) over the last dimension, with 0 * log(0 / q) = 0."""
    p = logp.exp()
    return torch.where(p > 0, p * (logp - logq), torch.zeros_like(p)).sum(-1)


def sparse_divergence(student_logits: torch.Tensor, ids: torch.Tensor, teacher_logp: torch.Tensor,
                      teacher_rest: torch.Tensor, divergence: str = "forward", temperature: float = 1.0) -> torch.Tensor:
    """The divergence at each position (``[...]``) between the teacher, kept as ``ids`` / ``teacher_logp``
    ``[..., N]`` and ``teacher_rest`` ``[...]`` (:func:`sparse_teacher`), and the student's
    distribution at ``temperature`` (``student_logits`` ``[..., V]``), over the N kept tokens and
    the rest (module docstring).  Differentiable in the student's logits; computed in the logits'
    precision (float32 at least)."""
    if divergence not in DIVERGENCES:
        raise ValueError(f"divergence {divergence!r}: one of {list(DIVERGENCES)}")
    dtype = torch.float64 if student_logits.dtype == torch.float64 else torch.float32
    logq_full = torch.log_softmax(student_logits.to(dtype) / temperature, dim=-1)
    logq = torch.cat([logq_full.gather(-1, ids), rest_logprob(logq_full, ids).unsqueeze(-1)], dim=-1)
    logp = torch.cat([teacher_logp.to(dtype), teacher_rest.to(dtype).unsqueeze(-1)], dim=-1)
    if divergence == "forward":
        return _kl(logp, logq)
    if divergence == "reverse":
        return _kl(logq, logp)
    logm = torch.logaddexp(logp, logq) - torch.log(torch.tensor(2.0, dtype=dtype))
    return 0.5 * _kl(logp, logm) + 0.5 * _kl(logq, logm)


def target_logits(model, ids, mask, labels, encoded: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The logits at every position that predicts a target token, row by row in order (each row's
    target tokens as its labels list them), and those tokens.  The output layer is computed only
    there: a decoder-only model's prompt positions and a T5 decoder's padding are never scored.
    No key-value cache is built (``use_cache=False``): nothing is generated.  ``encoded``: a T5
    encoder's output for ``ids`` already computed (:func:`t5_encode_together`)."""
    if model.config.is_encoder_decoder:
        rows, cols = (labels >= 0).nonzero(as_tuple=True)
        if model.config.model_type not in ("t5", "mt5"):  # another encoder-decoder: its own forward
            logits = model(input_ids=ids, attention_mask=mask, decoder_input_ids=model._shift_right(labels),
                           use_cache=False).logits
            return logits[rows, cols], labels[rows, cols]
        # T5ForConditionalGeneration.forward, with the output layer at the target positions only
        if encoded is None:
            encoded = model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state
        hidden = model.get_decoder()(input_ids=model._shift_right(labels), encoder_hidden_states=encoded,
                                     encoder_attention_mask=mask, use_cache=False).last_hidden_state[rows, cols]
        if model.config.scale_decoder_outputs:  # T5 1.0's tied output layer (not v1.1 / Flan-T5)
            hidden = hidden * (model.model_dim ** -0.5)
        return model.lm_head(hidden), labels[rows, cols]
    hidden = model.base_model(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
    rows, cols = (labels[:, 1:] >= 0).nonzero(as_tuple=True)  # position t predicts token t + 1
    return model.get_output_embeddings()(hidden[rows, cols]), labels[rows, cols + 1]


def shares_encoder(model) -> bool:
    """Whether :func:`target_logits` runs the encoder itself (T5 and mT5), so that batches can share
    one encoder pass (:func:`t5_encode_together`)."""
    return bool(model.config.is_encoder_decoder) and model.config.model_type in ("t5", "mt5")


def t5_encode_together(model, batches: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> list[torch.Tensor]:
    """One encoder pass over the rows of several (ids, mask) batches, padded to the widest, and each
    batch's encoder output cut back to its own width: what separate passes give (the padding is
    masked out of attention, and T5's position bias is relative), with larger matrix products."""
    width = max(ids.shape[1] for ids, _ in batches)

    def widened(x, value):
        return torch.nn.functional.pad(x, (0, width - x.shape[1]), value=value)

    pad = model.config.pad_token_id or 0
    ids = torch.cat([widened(i, pad) for i, _ in batches])
    mask = torch.cat([widened(m, 0) for _, m in batches])
    encoded = model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state
    out, start = [], 0
    for i, _ in batches:
        out.append(encoded[start: start + i.shape[0], : i.shape[1]])
        start += i.shape[0]
    return out


def float_logits(logits: torch.Tensor) -> torch.Tensor:
    return logits if logits.dtype == torch.float64 else logits.float()


def forced_batch(model, prompts: Sequence[Sequence[int]], targets: Sequence[Sequence[int]], pad: int, device):
    """Teacher forcing on given target ids: (input ids, mask, labels) that :func:`target_logits`
    reads.  Decoder-only: prompt then targets in one right-padded row, labels -100 on the prompt;
    encoder-decoder: the prompt in the encoder, the targets as labels."""
    def padded(rows, value):
        return torch.nn.utils.rnn.pad_sequence([torch.tensor(list(r), dtype=torch.long) for r in rows],
                                               batch_first=True, padding_value=value)

    if model.config.is_encoder_decoder:
        ids = padded(prompts, pad)
        mask = padded([[1] * len(p) for p in prompts], 0)
        return ids.to(device), mask.to(device), padded(targets, -100).to(device)
    rows = [list(p) + list(t) for p, t in zip(prompts, targets)]
    ids, mask = padded(rows, pad), padded([[1] * len(r) for r in rows], 0)
    labels = padded([[-100] * len(p) + list(t) for p, t in zip(prompts, targets)], -100)
    return ids.to(device), mask.to(device), labels.to(device)


def teacher_distributions(model, tokenizer, prompts: Sequence[Sequence[int]], targets: Sequence[Sequence[int]],
                          top: int, temperature: float, batch_size: int = 16, precision: str = "auto",
                          on_batch=None) -> list[dict]:
    """Per row: the teacher, forced on ``targets`` (each row's label tokens) after its ``prompts``
    (token ids), at each label token: its ``top`` most probable ids, their log-probabilities and
    the log of the rest (:func:`sparse_teacher`), as TEACHER_LOGITS stores them (float32).  Rows go
    in the length-sorted batches of :func:`akd.generation.length_sorted_batches` (prompt and label
    tokens), so a shard cut along them computes the very numbers one job does; the result is in the
    rows' order."""
    from .generation import length_sorted_batches
    from .precision import autocast

    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out: list[dict | None] = [None] * len(prompts)
    model.eval()
    for chunk in length_sorted_batches([len(p) + len(t) for p, t in zip(prompts, targets)], batch_size):
        batch = forced_batch(model, [prompts[i] for i in chunk], [targets[i] for i in chunk], pad, device)
        with torch.no_grad(), autocast(device, precision):
            logits, _ = target_logits(model, *batch)
        ids, logp, rest = (x.cpu().numpy() for x in sparse_teacher(logits.float(), top, temperature))
        start = 0
        for i in chunk:
            n = len(targets[i])
            out[i] = {"label_ids": list(targets[i]), "top_ids": list(ids[start: start + n].astype(np.int32)),
                      "top_logprobs": list(logp[start: start + n].astype(np.float32)),
                      "rest_logprob": rest[start: start + n].astype(np.float32)}
            start += n
        if on_batch is not None:
            on_batch(len(chunk))
    return out


class TokenizerMismatch(AkdError, ValueError):
    """The teacher's and the student's tokenizers give different ids: no logit distillation."""


def check_tokenizers(teacher_tokenizer, student_tokenizer, teacher: str, student: str) -> None:
    """Logit distillation compares the two models' distributions token id by token id: their
    vocabularies must be the same (token for token), else a one-line error naming both models."""
    from .specs import vocabulary_difference

    reason = vocabulary_difference(teacher_tokenizer.get_vocab(), student_tokenizer.get_vocab(), teacher, student)
    if reason:
        raise TokenizerMismatch(reason)
