"""Seq2seq training: the two-task student of the paper, plain fine-tuning, and teacher fine-tuning.

One readable loop.  Each step takes a batch of examples and builds from the *same* examples a label
batch (``predict: x -> y``) and, when the variant has rationales, a rationale batch
(``explain: x -> r``); the loss is ``(1 - w) * L_label + w * L_rationale``.  Validation accuracy is
measured every ``eval_every`` steps; the best checkpoint is the one kept.
"""

from __future__ import annotations

import copy
import math
import random
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from .progress import progress
from .generation import generate
from .tasks import PREFIX_LABEL, PREFIX_RATIONALE, is_correct


@dataclass
class TrainConfig:
    steps: int = 1000
    batch_size: int = 32
    lr: float = 5e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    rationale_weight: float = 0.5
    eval_every: int = 200
    eval_batch_size: int = 64
    max_input_tokens: int = 512
    max_target_tokens: int = 64
    max_new_tokens: int = 64
    seed: int = 0

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown training settings {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d)


@dataclass
class Example:
    input: str
    label: str
    rationale: str | None = None


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)
    best_step: int = 0
    best_accuracy: float = -1.0
    seconds: float = 0.0


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _batch_loss(model, tokenizer, sources: list[str], targets: list[str], cfg: TrainConfig, device) -> torch.Tensor:
    enc = tokenizer(sources, return_tensors="pt", padding=True, truncation=True, max_length=cfg.max_input_tokens)
    lab = tokenizer(text_target=targets, return_tensors="pt", padding=True, truncation=True,
                    max_length=cfg.max_target_tokens)["input_ids"]
    lab[lab == tokenizer.pad_token_id] = -100
    return model(input_ids=enc["input_ids"].to(device), attention_mask=enc["attention_mask"].to(device),
                 labels=lab.to(device)).loss


def validation_accuracy(model, tokenizer, rows: Sequence[Example], task: str, cfg: TrainConfig, prefix: str) -> float:
    preds = generate(model, tokenizer, [prefix + r.input for r in rows], cfg.eval_batch_size, cfg.max_new_tokens,
                     cfg.max_input_tokens, show_progress=False)
    return float(np.mean([is_correct(task, p, r.label) for p, r in zip(preds, rows)])) if rows else 0.0


def train(
    model,
    tokenizer,
    train_rows: Sequence[Example],
    valid_rows: Sequence[Example],
    task: str,
    cfg: TrainConfig,
    multitask: bool,
    log: Callable[[str], None] = print,
    show_progress: bool = True,
) -> TrainResult:
    """Train in place; on return ``model`` holds the best-on-validation weights."""
    seed_everything(cfg.seed)
    device = next(model.parameters()).device
    label_prefix = PREFIX_LABEL if multitask else ""
    model.requires_grad_(True)  # a model that was used for attribution comes back frozen
    if multitask and any(r.rationale is None for r in train_rows):
        raise ValueError("multitask training needs a rationale for every training example")
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                            weight_decay=cfg.weight_decay)

    def lr_at(step: int) -> float:  # linear warm-up, then linear decay to zero
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        return max(0.0, (cfg.steps - step) / max(1, cfg.steps - cfg.warmup_steps))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
    rng = random.Random(cfg.seed)
    order: list[int] = []
    result = TrainResult()
    best_state = None
    start = time.time()
    bar = progress(cfg.steps, "train", "step", disable=not show_progress)
    for step in range(1, cfg.steps + 1):
        model.train()
        if len(order) < cfg.batch_size:
            more = list(range(len(train_rows)))
            rng.shuffle(more)
            order += more
        idx, order = order[: cfg.batch_size], order[cfg.batch_size :]
        batch = [train_rows[i] for i in idx]
        with autocast:
            loss = _batch_loss(model, tokenizer, [label_prefix + r.input for r in batch], [r.label for r in batch], cfg, device)
            if multitask:
                r_loss = _batch_loss(model, tokenizer, [PREFIX_RATIONALE + r.input for r in batch],
                                     [r.rationale for r in batch], cfg, device)
                loss = (1 - cfg.rationale_weight) * loss + cfg.rationale_weight * r_loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        if not math.isfinite(loss.item()):
            raise FloatingPointError(f"training loss is {loss.item()} at step {step}")
        bar.set_postfix(loss=f"{loss.item():.3f}")
        bar.update(1)
        if step % cfg.eval_every == 0 or step == cfg.steps:
            acc = validation_accuracy(model, tokenizer, valid_rows, task, cfg, label_prefix)
            result.history.append({"step": step, "loss": float(loss.item()), "valid_accuracy": acc,
                                   "seconds": round(time.time() - start, 2)})
            log(f"step {step}: loss {loss.item():.4f}, valid accuracy {acc:.4f}")
            if acc > result.best_accuracy:
                result.best_accuracy, result.best_step = acc, step
                best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    result.seconds = time.time() - start
    return result
