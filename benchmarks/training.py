"""Student training throughput: our loop vs the DSS setup, same data, model and steps, in one run.

- ours: ``akd.training.train`` (batches from length-sorted groups, padded to their own longest
  sequence, label and rationale batches from the same examples);
- DSS: Hugging Face ``Seq2SeqTrainer`` as Distilling Step-by-Step uses it: a collator that pads
  each batch, random batches (no length grouping), and a ``compute_loss`` that runs the label pass
  and the rationale pass separately and mixes them with the same weight.

Throughput is non-padding tokens (inputs + targets of both tasks) per second of training; no
evaluation runs inside the timed steps.  Data: a train split with PaLM rationales from the DSS
release (``--dataset``: cqa, anli1 or svamp; e-SNLI's release has no train split here).

    python benchmarks/training.py --model t5-small --steps 30 --batch-size 16 --dataset cqa [--precision bf16]

Each side runs --warmup-steps untimed steps first and the timed steps after them in the same run;
the sides alternate (--repeats runs each, DSS first then ours first) and the best run of each is
reported.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import arguments, command_line, report  # noqa: E402

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


def dss_trainer_run(model, tok, rows: list[Example], steps: int, batch_size: int, lr: float, w: float,
                    precision: str = "float32") -> list[dict]:
    """DSS's training; one row per optimiser step: the clock at its end, its non-padding tokens and
    its computed positions (inputs + targets of both passes)."""
    from datasets import Dataset
    from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments, TrainerCallback

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
    per_step, pending = [], {"tokens": 0, "padded": 0}

    def collate(features):  # DSS's TaskPrefixDataCollator: two padded batches from the same examples
        pred = base([{k: f[k] for k in ("input_ids", "attention_mask", "labels")} for f in features])
        expl = base([{"input_ids": f["expl_input_ids"], "attention_mask": f["expl_attention_mask"],
                      "labels": f["expl_labels"]} for f in features])
        return {"pred": pred, "expl": expl}

    class TaskPrefixTrainer(Seq2SeqTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            for b in (inputs["pred"], inputs["expl"]):  # counted here: the batch this step trains on
                pending["tokens"] += int(b["attention_mask"].sum()) + int((b["labels"] >= 0).sum())
                pending["padded"] += b["input_ids"].numel() + b["labels"].numel()
            pred = model(**inputs["pred"])
            expl = model(**inputs["expl"])
            loss = (1 - w) * pred.loss + w * expl.loss
            return (loss, {"pred": pred, "expl": expl}) if return_outputs else loss

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            per_step.append({"t": time.perf_counter(), **pending})
            pending.update(tokens=0, padded=0)

    args = Seq2SeqTrainingArguments(output_dir="/tmp/akd-bench-trainer", max_steps=steps, per_device_train_batch_size=batch_size,
                                    learning_rate=lr, logging_steps=10_000, save_strategy="no", report_to=[],
                                    remove_unused_columns=False, seed=0, disable_tqdm=True, dataloader_num_workers=0,
                                    lr_scheduler_type="linear", warmup_steps=0, max_grad_norm=1.0, use_cpu=True,
                                    bf16=precision == "bf16")  # DSS's --bf16: autocast
    trainer = TaskPrefixTrainer(model=model, args=args, train_dataset=ds, data_collator=collate, callbacks=[Clock()])
    trainer.train()
    return per_step


def ours_run(model, tok, rows: list[Example], task: str, steps: int, batch_size: int, lr: float,
             precision: str = "float32") -> list[dict]:
    """``akd.training.train``; the same rows per step as :func:`dss_trainer_run`."""
    import akd.training as T

    cfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, eval_every=10**9, max_input_tokens=1024,
                      max_target_tokens=256, precision=precision)
    padded, encode = [], T._encode

    def counting(*a, **kw):  # the positions (real + padding) our loop computes on
        ids, mask, lab, n = encode(*a, **kw)
        padded.append(ids.numel() + lab.numel())
        return ids, mask, lab, n

    T._encode = counting
    try:
        res = train(model, tok, rows, [], task, cfg, multitask=True, show_progress=False, log=lambda s: None)
    finally:
        T._encode = encode
    per = len(padded) // len(res.curve)  # encoded batches per step (label and rationale)
    return [{"t": r["seconds"], "tokens": r["tokens"], "padded": sum(padded[i * per:(i + 1) * per])}
            for i, r in enumerate(res.curve)]


def timed(per_step: list[dict], warmup: int) -> dict:
    """The steps after the first ``warmup``: seconds, tokens, tokens per second, padding share."""
    secs = per_step[-1]["t"] - per_step[warmup - 1]["t"]
    rest = per_step[warmup:]
    tokens, padded = sum(r["tokens"] for r in rest), sum(r["padded"] for r in rest)
    return {"seconds": secs, "steps": len(rest), "tokens": tokens, "tokens_per_s": tokens / secs,
            "padding_share": 1 - tokens / padded}


def main() -> None:
    ap = command_line(__doc__, model="t5-small", steps=(30, "timed steps per run"),
                      warmup_steps=(3, "steps before the timed ones, in the same run"),
                      repeats=(2, "runs of each side, alternating; the best is reported"), batch_size=16,
                      n=(2000, "training examples to draw batches from"))
    ap.add_argument("--dataset", default="cqa", choices=sorted(TASKS))
    ap.add_argument("--precision", default="float32", choices=["float32", "bf16"],
                    help="both sides: float32, or bf16 autocast (DSS's --bf16, our precision: bf16)")
    args = arguments(ap)
    from akd.models import train_tokenizer

    task = TASKS[args.dataset]
    ex = [e for e in load_split(args.dss_root, args.dataset, task, "train") if e["llm_rationale"]][: args.n]
    rows = [Example(e["input"], e["label"], e["llm_rationale"]) for e in ex]
    tok = train_tokenizer([r.input for r in rows] + [r.rationale for r in rows] + [r.label for r in rows], 32000)
    lengths = [len(tok(r.input)["input_ids"]) for r in rows]
    figures = {"dataset": args.dataset, "examples": len(rows), "input_tokens_mean": float(np.mean(lengths)),
               "input_tokens_p95": float(np.percentile(lengths, 95)), "input_tokens_max": int(max(lengths)),
               "model": args.model, "steps": args.steps, "warmup_steps": args.warmup_steps, "batch_size": args.batch_size,
               "threads": args.threads, "precision": args.precision, "runs": {"dss": [], "ours": []}}
    total = args.warmup_steps + args.steps
    model, p = lambda: make_model(args.model, tok), args.precision
    sides = {"dss": lambda: dss_trainer_run(model(), tok, rows, total, args.batch_size, 5e-4, 0.5, p),
             "ours": lambda: ours_run(model(), tok, rows, task, total, args.batch_size, 5e-4, p)}
    for r in range(args.repeats):  # DSS first, then ours first, ...
        for side in (("dss", "ours") if r % 2 == 0 else ("ours", "dss")):
            run = timed(sides[side](), args.warmup_steps)
            figures["runs"][side].append(run)
            print(f"{side:>4}: {run['tokens_per_s']:9.1f} tokens/s ({run['seconds']:.1f}s, "
                  f"padding {run['padding_share']:.1%} of computed positions)", flush=True)
    for side in ("dss", "ours"):
        figures[side] = max(figures["runs"][side], key=lambda x: x["tokens_per_s"])
    figures["speedup_tokens_per_s"] = figures["ours"]["tokens_per_s"] / figures["dss"]["tokens_per_s"]
    print(f"ours / DSS (best of {args.repeats} each): {figures['speedup_tokens_per_s']:.2f}x tokens/s")
    report(figures, args.json)


if __name__ == "__main__":
    main()
