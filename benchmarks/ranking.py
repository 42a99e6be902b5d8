"""Ranking throughput: our prompt-shared candidate scoring vs one full forward per candidate.

Both score every answer choice of CommonsenseQA test questions by its summed log-probability given
the teacher's prompt (choices listed, answered with the choice's text), on the same model and
inputs, in one run:

- ours: ``akd.scoring.rank``: each prompt is encoded once for its five candidates (encoder-decoder:
  one encoder pass, the decoder on every candidate; decoder-only: the prompt's KV cache shared by
  its candidates), prompts length-sorted, batches of ``--batch-size`` prompts;
- per candidate: one log-likelihood request per candidate, prompt + candidate as one sequence, the
  way lm-evaluation-harness scores multiple choice; length-sorted batches of the same number of
  sequences as ours scores candidates per batch (batch size x 5), and, to make it a hard baseline,
  the output layer only at the positions that predict candidate tokens (lm-evaluation-harness
  computes it everywhere).

The scores of both must agree (the largest difference is printed).

    python benchmarks/ranking.py --model t5-small --n 300
    python benchmarks/ranking.py --model smollm2 --n 200
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import arguments, command_line  # noqa: E402

from attribution import build_model  # noqa: E402

from akd.generation import length_sorted_batches  # noqa: E402
from akd.prompts import PromptSettings, build_prompt, use_chat  # noqa: E402
from akd.scoring import continuation_ids, encode_prompts, logprob_sum, rank  # noqa: E402
from akd.sources.dss import load_split  # noqa: E402


def per_candidate(model, tok, prompts, conts, batch_size, add_special_tokens):
    """One forward of prompt + candidate per candidate (batched by sequences)."""
    enc_dec = model.config.is_encoder_decoder
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    reqs = [(i, j, encode_prompts(tok, [p], 1024, add_special_tokens=add_special_tokens)[0].ids,
             continuation_ids(tok, [p], [c], enc_dec, add_special_tokens)[0])
            for i, (p, cs) in enumerate(zip(prompts, conts)) for j, c in enumerate(cs)]
    out = [np.zeros(len(cs)) for cs in conts]
    with torch.inference_mode():
        for idx in length_sorted_batches([len(r[2]) + len(r[3]) for r in reqs], batch_size):
            batch = [reqs[k] for k in idx]
            if enc_dec:
                n, m = max(len(b[2]) for b in batch), max(len(b[3]) for b in batch)
                ids = torch.tensor([b[2] + [pad] * (n - len(b[2])) for b in batch])
                mask = (torch.arange(n)[None] < torch.tensor([len(b[2]) for b in batch])[:, None]).long()
                labels = torch.tensor([b[3] + [-100] * (m - len(b[3])) for b in batch])
                dec_in = model._shift_right(labels.masked_fill(labels < 0, pad))
                scores = logprob_sum(model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec_in).logits, labels)
            else:
                seqs = [b[2] + b[3] for b in batch]
                n = max(len(s) for s in seqs)
                ids = torch.tensor([s + [pad] * (n - len(s)) for s in seqs])
                mask = (torch.arange(n)[None] < torch.tensor([len(s) for s in seqs])[:, None]).long()
                labels = torch.tensor([[-100] * len(b[2]) + b[3] + [-100] * (n - len(b[2]) - len(b[3])) for b in batch])
                pred = (labels[:, 1:] >= 0).any(0).nonzero().flatten()
                keep = torch.arange(int(pred.min()), int(pred.max()) + 1)
                logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=keep).logits
                scores = logprob_sum(logits, labels[:, keep + 1])
            for (i, j, _, _), s in zip(batch, scores.double().numpy()):
                out[i][j] = s
    return out


def main() -> None:
    ap = command_line(__doc__, n=300, batch_size=(16, "prompts per batch (per-candidate: x 5 sequences)"),
                      repeats=(2, "timed runs of each (alternating); the best counts"))
    ap.add_argument("--model", default="t5-small", choices=["t5-small", "t5-base", "flan-t5-xl", "smollm2"])
    args = arguments(ap)
    examples = load_split(args.dss_root, "cqa", "mc", "test")[: args.n]
    settings = PromptSettings(format="choices")
    texts = [build_prompt(e, settings).text for e in examples] + [e["label"] for e in examples]
    model, tok = build_model(args.model, texts, torch.device("cpu"))
    model.eval()
    decoder_only = not model.config.is_encoder_decoder
    chat = use_chat("auto", tok, "SmolLM2-135M-Instruct" if args.model == "smollm2" else args.model)
    settings = PromptSettings(format="choices", chat=chat)
    ps = [build_prompt(e, settings, tok, decoder_only) for e in examples]
    prompts = [p.text for p in ps]
    conts = [[p.continuation(a.said) for a in p.candidates] for p in ps]
    n_cands = sum(len(c) for c in conts)

    # warm-up of both (several batches, so that the allocator has grown), then alternate the two and
    # keep each one's best time over the repeats
    rank(model, tok, prompts[:48], conts[:48], args.batch_size, add_special_tokens=not chat, show_progress=False)
    per_candidate(model, tok, prompts[:48], conts[:48], args.batch_size * 5, not chat)
    t_ours, t_base = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        ours = rank(model, tok, prompts, conts, args.batch_size, add_special_tokens=not chat, show_progress=False)
        t_ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        base = per_candidate(model, tok, prompts, conts, args.batch_size * 5, not chat)
        t_base.append(time.perf_counter() - t0)
    diff = max(float(np.max(np.abs(o[0] - b))) for o, b in zip(ours, base))
    same_choice = float(np.mean([int(np.argmax(o[0])) == int(np.argmax(b)) for o, b in zip(ours, base)]))
    prompt_tokens = float(np.mean([len(e.ids) for e in encode_prompts(tok, prompts, 1024, add_special_tokens=not chat)]))
    result = {
        "model": args.model, "parameters": sum(p.numel() for p in model.parameters()), "examples": len(examples),
        "candidates": n_cands, "chat": chat, "mean_prompt_tokens": round(prompt_tokens, 1),
        "batch_size_prompts": args.batch_size, "threads": args.threads, "cpu": platform.processor() or platform.machine(),
        "repeats": args.repeats, "ours_seconds": [round(t, 2) for t in t_ours],
        "per_candidate_seconds": [round(t, 2) for t in t_base],
        "ours_examples_per_s": round(len(examples) / min(t_ours), 2),
        "per_candidate_examples_per_s": round(len(examples) / min(t_base), 2),
        "speedup": round(min(t_base) / min(t_ours), 2), "max_abs_score_difference": diff, "same_choice_share": same_choice,
        "date": time.strftime("%Y-%m-%d"),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
