"""Batched greedy generation, length-sorted, under ``torch.inference_mode`` with the KV cache."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Sequence

import torch

from .progress import progress


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (longest first), so padding stays small."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def shard_rows(lengths: Sequence[int], batch_size: int, shard: int, n_shards: int) -> list[int]:
    """The rows of shard ``shard`` (0-based) of ``n_shards``, in input order.

    Shards are cut along the length-sorted batches a single job would run, so every batch (and so
    every padded shape and every number) is the same whether a split runs as one job or as many.
    """
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} is not in 0..{n_shards - 1}")
    batches = length_sorted_batches(lengths, batch_size)
    lo, hi = shard * len(batches) // n_shards, (shard + 1) * len(batches) // n_shards
    return sorted(i for b in batches[lo:hi] for i in b)


def generate(
    model,
    tokenizer,
    texts: Sequence[str],
    batch_size: int = 32,
    max_new_tokens: int = 64,
    max_input_tokens: int = 1024,
    desc: str = "generate",
    show_progress: bool = True,
    add_special_tokens: bool = True,
    raw: bool = False,
    truncation: str = "right",
) -> list[str]:
    """Greedy answers for ``texts``, returned in input order; a text longer than
    ``max_input_tokens`` is cut as :func:`akd.scoring.encode_prompts` cuts it (``left``: the
    teacher's prompt keeps its end; ``right``: a student's input keeps its start).

    By default an answer is stripped, and a decoder-only model's is cut after its first line (it
    runs on after its answer); ``raw=True`` returns the decoded new tokens as they are.
    """
    from .scoring import encode_prompts

    model.eval()
    device = next(model.parameters()).device
    lengths = [len(t) for t in texts]
    out: list[str] = [""] * len(texts)
    bar = progress(len(texts), desc, "ex", disable=not show_progress)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
    decoder_only = not model.config.is_encoder_decoder
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    with torch.inference_mode(), autocast:
        for idx in length_sorted_batches(lengths, batch_size):
            rows = [e.ids for e in encode_prompts(tokenizer, [texts[i] for i in idx], max_input_tokens, truncation,
                                                  add_special_tokens, scored=False)]
            n = max(len(r) for r in rows)
            ids = torch.full((len(rows), n), pad_id, dtype=torch.long)
            mask = torch.zeros((len(rows), n), dtype=torch.long)
            for b, r in enumerate(rows):  # left padding for a decoder-only model: new tokens follow every prompt
                at = slice(n - len(r), n) if decoder_only else slice(0, len(r))
                ids[b, at], mask[b, at] = torch.tensor(r, dtype=torch.long), 1
            new = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), max_new_tokens=max_new_tokens,
                                 do_sample=False, num_beams=1, use_cache=True, pad_token_id=pad_id)
            if decoder_only:
                new = new[:, n:]
            for i, text in zip(idx, tokenizer.batch_decode(new, skip_special_tokens=True)):
                if raw:
                    out[i] = text
                else:  # a decoder-only model runs on after its answer: keep the first line
                    out[i] = text.strip().split("\n")[0].strip() if decoder_only else text.strip()
            bar.update(len(idx))
    bar.close()
    return out
