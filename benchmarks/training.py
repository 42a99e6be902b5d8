"""Student training throughput: our loop vs the DSS setup, same data, model and steps, in one run.

- ours: ``akd.training.train`` (batches from length-sorted groups, padded to their own longest
  sequence, label and rationale batches from the same examples);
- DSS: Hugging Face ``Seq2SeqTrainer`` as Distilling Step-by-Step uses it: a collator that pads
  each batch, random batches (no length grouping), and a ``compute_loss`` that runs the label pass
  and the rationale pass separately and mixes them with the same weight.

Throughput is non-padding tokens (inputs + targets of both tasks) per second of training; no
evaluation runs inside the timed steps.  Data: a train split with PaLM rationales from the DSS
release (``--dataset``: cqa, anli1 or svamp; e-SNLI's release has no train split here).

    python benchmarks/training.py --model t5-small --steps 30 --batch-size 16 --dataset cqa
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from akd.sources.dss import load_split  # noqa: E402
from akd.tasks import PREFIX_LABEL, PREFIX_RATIONALE  # noqa: E402
from akd.training import Example, TrainConfig, train  # noqa: E402

TASKS = {"cqa": "mc", "anli1": "nli", "svamp": "math"}


def make_model(name: str, tok):
    from transformers import T5Config, T5ForConditionalGeneration

    from attribution import SHAPES

    torch.manual_seed(0)
    cfg = T5Config(vocab_size=max(32128, len(tok)), decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
                   dropout_rate=0.0, **SHAPES[name])
    return T5ForConditionalGeneration(cfg)


def dss_trainer_run(model, tok, rows: list[Example], steps: int, batch_size: int, lr: float, w: float) -> tuple[float, int]:
    from datasets import Dataset
    from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments

    def encode(ex):
        p = tok(PREFIX_LABEL + ex["input"], truncation=True, max_length=1024)
        e = tok(PREFIX_RATIONALE + ex["input"], truncation=True, max_length=1024)
        return {"input_ids": p["input_ids"], "attention_mask": p["attention_mask"],
                "labels": tok(text_target=ex["label"], truncation=True, max_length=256)["input_ids"],
                "expl_input_ids": e["input_ids"], "expl_attention_mask": e["attention_mask"],
                "expl_labels": tok(text_target=ex["rationale"], truncation=True, max_length=256)["input_ids"]}

    ds = Dataset.from_list([{"input": r.input, "label": r.label, "rationale": r.rationale} for r in rows]).map(
        encode, remove_columns=["input", "label", "rationale"])
    base = DataCollatorForSeq2Seq(tok, model=model, padding=True)
    counted = {"tokens": 0, "padded": 0}

    def collate(features):  # DSS's TaskPrefixDataCollator: two padded batches from the same examples
        pred = base([{k: f[k] for k in ("input_ids", "attention_mask", "labels")} for f in features])
        expl = base([{"input_ids": f["expl_input_ids"], "attention_mask": f["expl_attention_mask"],
                      "labels": f["expl_labels"]} for f in features])
        for b in (pred, expl):
            counted["tokens"] += int(b["attention_mask"].sum()) + int((b["labels"] >= 0).sum())
            counted["padded"] += b["input_ids"].numel() + b["labels"].numel()
        return {"pred": pred, "expl": expl}

    class TaskPrefixTrainer(Seq2SeqTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            pred = model(**inputs["pred"])
            expl = model(**inputs["expl"])
            loss = (1 - w) * pred.loss + w * expl.loss
            return (loss, {"pred": pred, "expl": expl}) if return_outputs else loss

    args = Seq2SeqTrainingArguments(output_dir="/tmp/akd-bench-trainer", max_steps=steps, per_device_train_batch_size=batch_size,
                                    learning_rate=lr, logging_steps=10_000, save_strategy="no", report_to=[],
                                    remove_unused_columns=False, seed=0, disable_tqdm=True, dataloader_num_workers=0,
                                    lr_scheduler_type="linear", warmup_steps=0, max_grad_norm=1.0, use_cpu=True)
    trainer = TaskPrefixTrainer(model=model, args=args, train_dataset=ds, data_collator=collate)
    t0 = time.perf_counter()
    trainer.train()
    return time.perf_counter() - t0, counted["tokens"], counted["padded"]


def count_padded_positions() -> dict:
    """Count the positions (real + padding) our loop computes on, by wrapping its batch encoder."""
    import akd.training as T

    counted, encode = {"n": 0}, T._encode

    def wrapped(*a, **kw):
        ids, mask, lab, n = encode(*a, **kw)
        counted["n"] += ids.numel() + lab.numel()
        return ids, mask, lab, n

    T._encode = wrapped
    return counted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="t5-small")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--n", type=int, default=2000, help="training examples to draw batches from")
    ap.add_argument("--dataset", default="cqa", choices=sorted(TASKS))
    ap.add_argument("--dss-root", default=str(ROOT.parent / "shared/data/dss"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from akd.models import train_tokenizer

    task = TASKS[args.dataset]
    ex = [e for e in load_split(args.dss_root, args.dataset, task, "train") if e["llm_rationale"]][: args.n]
    rows = [Example(e["input"], e["label"], e["llm_rationale"]) for e in ex]
    tok = train_tokenizer([r.input for r in rows] + [r.rationale for r in rows] + [r.label for r in rows], 32000)
    lengths = [len(tok(r.input)["input_ids"]) for r in rows]
    figures = {"dataset": args.dataset, "examples": len(rows), "input_tokens_mean": float(np.mean(lengths)),
               "input_tokens_p95": float(np.percentile(lengths, 95)), "input_tokens_max": int(max(lengths)),
               "model": args.model, "steps": args.steps, "batch_size": args.batch_size, "threads": args.threads}

    model = make_model(args.model, tok)
    secs, tokens, padded = dss_trainer_run(model, tok, rows, args.steps, args.batch_size, 5e-4, 0.5)
    figures.update(dss_s=secs, dss_tokens=tokens, dss_padded_positions=padded, dss_tok_per_s=tokens / secs)
    print(f"DSS Seq2SeqTrainer: {tokens / secs:9.1f} tokens/s ({secs:.1f}s)", flush=True)

    model = make_model(args.model, tok)
    cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=5e-4, eval_every=10**9, max_input_tokens=1024,
                      max_target_tokens=256)
    padded = count_padded_positions()
    res = train(model, tok, rows, [], task, cfg, multitask=True, show_progress=False, log=lambda s: None)
    secs = res.seconds
    figures.update(ours_s=secs, ours_tokens=res.tokens, ours_padded_positions=padded["n"], ours_tok_per_s=res.tokens / secs)
    for who in ("dss", "ours"):  # share of the computed positions (inputs + targets) that are padding
        figures[f"{who}_padding_share"] = 1 - figures[f"{who}_tokens"] / figures[f"{who}_padded_positions"]
    print(f"padding share of computed positions: DSS {figures['dss_padding_share']:.1%}, "
          f"ours {figures['ours_padding_share']:.1%}", flush=True)
    print(f"ours:               {res.tokens / secs:9.1f} tokens/s ({secs:.1f}s)", flush=True)
    figures["speedup_tokens_per_s"] = figures["ours_tok_per_s"] / figures["dss_tok_per_s"]
    figures["speedup_steps_per_s"] = figures["dss_s"] / figures["ours_s"]
    print(f"ours / DSS: {figures['speedup_tokens_per_s']:.2f}x tokens/s, {figures['speedup_steps_per_s']:.2f}x steps/s")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
