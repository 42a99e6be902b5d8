"""Student training: the two-task student of the paper, plain fine-tuning, and teacher fine-tuning, for
encoder-decoder models (seq2seq) and decoder-only ones (causal language modelling, prompt then target).

One readable loop.  Each step takes a batch of examples and builds from the *same* examples a label
batch (``predict: x -> y``) and, when the variant has rationales, a rationale batch
(``explain: x -> r``); the loss is ``(1 - w) * L_label + w * L_rationale``.  Batches are padded
to their own longest sequence and drawn from groups sorted by token counts, so little compute goes to
padding; micro-batches with gradient accumulation reach the configured batch size.  Validation
accuracy is measured every ``eval_every`` steps; the best checkpoint is the one kept.  With a
``state_dir``, the whole training state (weights, optimiser, schedule, data order, RNG, best
checkpoint) is saved every ``save_every`` steps, and a rerun resumes from it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .kd import float_logits as _float, shares_encoder, t5_encode_together, target_logits
from .precision import autocast
from .progress import progress
from .sources.common import text_or_none
from .evaluation import answers
from .tasks import PREFIX_LABEL, PREFIX_RATIONALE, is_correct


@dataclass
class TrainConfig:
    steps: int = 1000
    batch_size: int = 32  # examples per optimiser step
    micro_batch_size: int | None = None  # examples per forward/backward (default: batch_size)
    lr: float = 5e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    rationale_weight: float = 0.5
    eval_every: int = 200
    eval_batch_size: int = 64
    max_input_tokens: int = 512
    truncation: str = "right"  # a longer input keeps its start (DSS; the task prefix); the teacher's prompt: left
    max_target_tokens: int = 64
    max_new_tokens: int = 64
    group_by_length: bool = True  # batches from groups of 50 batches sorted by token counts
    save_every: int = 0  # steps between saved training states (0: at every evaluation)
    seed: int = 0
    precision: str = "auto"  # auto (bf16 autocast on a GPU) | float32 | bf16 (see akd.precision)
    answer: str = "generate"  # validation answers: generate | rank (over each example's label space)
    normalise: str = "sum"  # rank by summed log-prob | tokens | chars (see akd.scoring.choose)
    # logit distillation of the label task: {alpha, temperature, divergence} (akd.kd); the rows carry
    # the teacher's distributions (Example.teacher); None or alpha 0: the gold labels alone
    kd: dict | None = None

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
    choices: list[str] | None = None  # the label space, for answers chosen by rank
    teacher: dict | None = None  # its label tokens' sparse teacher distributions (logit distillation: akd.kd)
    id: str | None = None  # the example's id in its split


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)
    best_step: int = 0
    best_accuracy: float = -1.0
    seconds: float = 0.0
    resumed_from: int = 0
    tokens: int = 0  # non-padding input + target tokens seen
    curve: list[dict] = field(default_factory=list)  # a row a step: train_log.parquet (akd.schemas.TRAIN_LOG)


@dataclass
class StepLoss:
    """One batch's loss as trained, each task's mean cross-entropy per target token (the gold label's
    for the label task, whether or not it also learns the teacher's distributions), its tokens."""
    total: float
    label: float
    rationale: float  # NaN: no rationale task in this batch
    tokens: int
    kd: float = math.nan  # the mean divergence from the teacher per label token (logit distillation; else NaN)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def spaced(target: str) -> str:
    """A decoder-only student's continuation of its prompt: one space, then the target."""
    return " " + target.strip()


def _encode(tokenizer, sources: list[str], targets: list[str], cfg: TrainConfig, device, decoder_only: bool = False,
            say: Callable[[str], str] = spaced):
    """A batch: (input ids, attention mask, labels, non-padding tokens).  Encoder-decoder: the source
    in the encoder, the target (with EOS) as labels.  Decoder-only: source then ``say(target)``
    (EOS after) as one right-padded sequence, labels -100 everywhere but the target.  Sources are
    cut to ``cfg.max_input_tokens`` as :func:`akd.scoring.encode_prompts` cuts them."""
    if decoder_only:
        return causal_batch(tokenizer, sources, [say(t) for t in targets], cfg.max_input_tokens,
                            cfg.max_target_tokens, device, cfg.truncation)
    from .scoring import encode_prompts

    src = [e.ids for e in encode_prompts(tokenizer, sources, cfg.max_input_tokens, cfg.truncation)]
    tgt = tokenizer(text_target=targets, truncation=True, max_length=cfg.max_target_tokens)["input_ids"]
    ids, mask = _padded(src, tokenizer.pad_token_id)
    lab, _ = _padded(tgt, -100)
    n_tokens = int(mask.sum()) + int((lab >= 0).sum())
    return ids.to(device), mask.to(device), lab.to(device), n_tokens


def _padded(rows: Sequence[Sequence[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and their attention mask."""
    n = max(len(r) for r in rows)
    ids = torch.full((len(rows), n), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), n), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(list(r), dtype=torch.long)
        mask[i, : len(r)] = 1
    return ids, mask


def causal_batch(tokenizer, sources: list[str], targets: list[str], max_source: int, max_target: int, device="cpu",
                 truncation: str = "right"):
    """Decoder-only training rows: prompt tokens, then the target's tokens and EOS (the loss's).
    ``targets`` are the exact continuations of the prompts (leading space included where one
    belongs), tokenised in context as :func:`akd.scoring.continuation_ids` scores them."""
    from .scoring import continuation_ids, encode_prompts

    prompts = [e.ids for e in encode_prompts(tokenizer, sources, max_source, truncation)]
    answers = [a[: max(1, max_target - 1)] for a in continuation_ids(tokenizer, sources, targets, False)]
    rows = [list(p) + list(a) + [tokenizer.eos_token_id] for p, a in zip(prompts, answers)]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    ids, mask = _padded(rows, pad)
    labels = torch.full(ids.shape, -100, dtype=torch.long)
    for i, (p, r) in enumerate(zip(prompts, rows)):
        labels[i, len(p): len(r)] = torch.tensor(r[len(p):])
    return ids.to(device), mask.to(device), labels.to(device), int(mask.sum())


def causal_loss(model, ids, mask, labels, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy over a decoder-only batch's target tokens (their mean, or ``sum``)."""
    logits, targets = target_logits(model, ids, mask, labels)
    return torch.nn.functional.cross_entropy(_float(logits), targets, reduction=reduction)


def target_count(model, labels) -> int:
    """How many target tokens a batch's labels score."""
    return int((labels[:, 1:] >= 0).sum() if not model.config.is_encoder_decoder else (labels >= 0).sum())


def _loss_sums(model, ids, mask, labels, teacher: Sequence[dict] | None = None, kd: dict | None = None,
               encoded=None):
    """The summed cross-entropy of a batch's target tokens, and, given each row's ``teacher`` targets
    (:func:`teacher_targets`), the summed divergence from them at ``kd``'s temperature (else None)."""
    logits, targets = target_logits(model, ids, mask, labels, encoded)
    ce = torch.nn.functional.cross_entropy(_float(logits), targets, reduction="sum")
    if teacher is None:
        return ce, None
    from .kd import sparse_divergence

    top_ids, logp, rest = teacher_targets(teacher, labels, logits.device)
    return ce, sparse_divergence(logits, top_ids, logp, rest, kd["divergence"], kd["temperature"]).sum()


def teacher_targets(teacher: Sequence[dict], labels: torch.Tensor, device) -> tuple:
    """The rows' sparse teacher distributions (``label_ids``, ``top_ids``, ``top_logprobs``,
    ``rest_logprob``, an entry per label token: akd.schemas.TEACHER_LOGITS) stacked in the order
    :func:`target_logits` gives the student's, after checking that each row's label tokens are the
    student's own (the same tokenizer ids, nothing cut by ``max_target_tokens``)."""
    for row, t in zip(labels, teacher):
        mine = row[row >= 0].tolist()
        if mine != list(t["label_ids"]):
            from .kd import TokenizerMismatch

            raise TokenizerMismatch(f"the teacher's label tokens {list(t['label_ids'])} are not the student's {mine} "
                             "(another tokenizer, or a label cut at max_target_tokens): logit distillation needs both")
    top_ids = torch.tensor(np.concatenate([np.stack(t["top_ids"]) for t in teacher]), dtype=torch.long, device=device)
    logp = torch.tensor(np.concatenate([np.stack(t["top_logprobs"]) for t in teacher]), device=device)
    rest = torch.tensor(np.concatenate([np.asarray(t["rest_logprob"]) for t in teacher]), device=device)
    return top_ids, logp, rest


def step_gradients(model, tokenizer, batch: Sequence["Example"], cfg: TrainConfig, multitask: bool, micro: int,
                   label_prefix: str = "", say: Callable[[str], str] = spaced, shared_encoder: bool = False) -> StepLoss:
    """Accumulate the gradient of one batch's loss, ``micro`` examples per forward and backward, and
    return the loss, each task's, and the tokens seen (:class:`StepLoss`).  The loss is that of the whole batch at once, whatever
    ``micro`` is: ``(1 - w) * L_label + w * L_rationale`` (``L_label`` alone for one task), each
    ``L`` the mean cross-entropy over *all* its target tokens of the batch (each micro-batch's
    summed cross-entropy divided by the batch's token count); ``L_rationale`` is 0 in a batch
    without rationales, and the label task keeps its weight ``1 - w`` there.  ``shared_encoder``: a T5
    student encodes both tasks' rows of a micro-batch in one pass (the decoders run apart); the same
    loss and gradients, off by default (measured no faster on CPU: benchmarks/levers.py)."""
    device = next(model.parameters()).device
    decoder_only = not model.config.is_encoder_decoder
    parts = []
    for m0 in range(0, len(batch), micro):
        part = batch[m0: m0 + micro]
        with autocast(device, cfg.precision):
            label = _encode(tokenizer, [label_prefix + r.input for r in part], [r.label for r in part], cfg, device,
                            decoder_only, say)
            explained = [r for r in part if r.rationale is not None] if multitask else []
            rationale = _encode(tokenizer, [PREFIX_RATIONALE + r.input for r in explained],
                                [r.rationale for r in explained], cfg, device, decoder_only, say) if explained else None
        parts.append((label, rationale))
    n_label = sum(target_count(model, lab[2]) for lab, _ in parts)
    n_rationale = sum(target_count(model, rat[2]) for _, rat in parts if rat is not None)
    w_label = (1 - cfg.rationale_weight) if multitask else 1.0
    kd = cfg.kd if cfg.kd and cfg.kd.get("alpha", 0) > 0 else None
    total, tokens, task = 0.0, 0, {"label": 0.0, "rationale": 0.0, "kd": 0.0}
    for (label, rationale), m0 in zip(parts, range(0, len(batch), micro)):
        with autocast(device, cfg.precision):
            teacher = [r.teacher for r in batch[m0: m0 + micro]] if kd else None
            together = shared_encoder and rationale is not None and shares_encoder(model)
            encoded = t5_encode_together(model, [label[:2], rationale[:2]]) if together else (None, None)
            ce, divergence = _loss_sums(model, *label[:3], teacher, kd, encoded[0])
            label_loss = ce / max(1, n_label)
            task["label"] += label_loss.item()
            if divergence is not None:  # (1 - a) * CE + a * T^2 * D, each a mean over the batch's label tokens
                task["kd"] += divergence.item() / max(1, n_label)
                label_loss = (1 - kd["alpha"]) * label_loss + kd["alpha"] * kd["temperature"] ** 2 * divergence / max(1, n_label)
            loss = w_label * label_loss
            tokens += label[3]
            if rationale is not None:
                rationale_loss = _loss_sums(model, *rationale[:3], encoded=encoded[1])[0] / max(1, n_rationale)
                loss = loss + cfg.rationale_weight * rationale_loss
                task["rationale"] += rationale_loss.item()
                tokens += rationale[3]
        loss.backward()
        total += loss.item()
    return StepLoss(total, task["label"], task["rationale"] if n_rationale else math.nan, tokens,
                    task["kd"] if kd else math.nan)


def label_token_ids(tokenizer, sources: list[str], labels: list[str], cfg: TrainConfig, decoder_only: bool,
                    say: Callable[[str], str] = spaced) -> list[list[int]]:
    """Each row's target tokens as the label task learns them (EOS included): what a teacher's
    distributions must be given over for logit distillation."""
    out = []
    for b in range(0, len(sources), 256):
        labels_tensor = _encode(tokenizer, sources[b: b + 256], labels[b: b + 256], cfg, "cpu", decoder_only, say)[2]
        out += [row[row >= 0].tolist() for row in labels_tensor]
    return out


def validation_accuracy(model, tokenizer, rows: Sequence[Example], task: str, cfg: TrainConfig, prefix: str) -> float:
    preds = answers(model, tokenizer, [prefix + r.input for r in rows], [r.choices for r in rows], cfg.answer,
                    cfg.normalise, cfg.eval_batch_size, cfg.max_new_tokens, cfg.max_input_tokens, show_progress=False,
                    truncation=cfg.truncation)
    return float(np.mean([is_correct(task, p, r.label) for p, r in zip(preds, rows)])) if rows else 0.0


def length_keys(tokenizer, rows: Sequence[Example], multitask: bool) -> list[tuple[int, int]]:
    """What batches are grouped by: the input's token count in steps of 8, then the target's (the
    rationale for the two-task student, else the label).  Token counts, not characters: on ANLI,
    grouping by characters left 23% of the computed positions as padding, by tokens 9%."""
    inputs = tokenizer([r.input for r in rows])["input_ids"]
    targets = tokenizer(text_target=[(r.rationale if multitask else r.label) or "" for r in rows])["input_ids"]
    return [(len(a) // 8, len(b)) for a, b in zip(inputs, targets)]


def next_batches(rows: Sequence[Example], cfg: TrainConfig, rng: random.Random,
                 keys: Sequence | None = None) -> list[list[int]]:
    """One epoch of batches (index lists): shuffled, then length-grouped within chunks of 50 batches
    (by ``keys``, e.g. ``length_keys``; by the input's characters when not given)."""
    order = list(range(len(rows)))
    rng.shuffle(order)
    if cfg.group_by_length:
        chunk = 50 * cfg.batch_size
        grouped = []
        key = (lambda j: keys[j]) if keys is not None else (lambda j: len(rows[j].input))
        for i in range(0, len(order), chunk):
            grouped += sorted(order[i : i + chunk], key=key)
        order = grouped
    batches = [order[i : i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
    batches = [b for b in batches if len(b) == cfg.batch_size] or batches  # drop a short last batch
    rng.shuffle(batches)
    return batches


def fingerprint(cfg: TrainConfig, multitask: bool, rows: Sequence[Example], valid: Sequence[Example] = (),
                model=None) -> str:
    """What a saved training state belongs to: the settings, the task flag, every training and
    validation row (input, label, rationale, choices, the teacher's distributions) and the starting
    weights (:func:`weights_digest`), so that a rerun whose inputs changed (a new teacher's rationales,
    a new starting model) never resumes a state made for others."""
    d = asdict(cfg) | {"multitask": multitask}
    d.pop("save_every")
    h = hashlib.sha256(json.dumps(d, sort_keys=True).encode())
    for part in (rows, valid):
        h.update(json.dumps([[r.input, r.label, r.rationale, r.choices] for r in part]).encode())
        for r in part:
            for name in ("label_ids", "top_ids", "top_logprobs", "rest_logprob") if r.teacher is not None else ():
                h.update(np.ascontiguousarray(np.stack(r.teacher[name]) if name.startswith("top") else
                                              np.asarray(r.teacher[name])).tobytes())
        h.update(b"|")
    if model is not None:
        h.update(weights_digest(model).encode())
    return h.hexdigest()[:16]


def weights_digest(model, samples: int = 4096) -> str:
    """A digest of a model's weights: each tensor's name, shape, dtype and the bytes of up to
    ``samples`` of its values, evenly spaced (exact, and cheap for a 3B model)."""
    h = hashlib.sha256()
    with torch.no_grad():
        for name, t in model.state_dict().items():
            flat = t.detach().reshape(-1)
            step = max(1, flat.numel() // samples)
            h.update(f"{name}{tuple(t.shape)}{t.dtype}".encode())
            h.update(flat[::step].to("cpu", copy=True).contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_state(path: Path, state: dict) -> None:
    """Write the training state atomically (a killed save never leaves a half file behind)."""
    path.mkdir(parents=True, exist_ok=True)
    tmp = path / "state.pt.tmp"
    torch.save(state, tmp)
    os.replace(tmp, path / "state.pt")


def load_state(path: Path, expected: str, log: Callable[[str], None] = print) -> dict | None:
    """The saved training state, when there is one made for these inputs (else None, saying why)."""
    f = path / "state.pt"
    if not f.exists():
        return None
    state = torch.load(f, map_location="cpu", weights_only=True)
    if state.get("fingerprint") != expected:
        log(f"not resuming: the training state saved at step {state.get('step')} was made for other inputs "
            "(settings, training or validation rows, or starting weights differ); starting afresh")
        return None
    return state


def adamw(params: list, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW, its fused kernel where torch has one for the parameters' device (CPU and CUDA): one
    pass over each tensor instead of a loop of small operations, 10% of a t5-small step on 2 CPU
    cores (benchmarks/README.md); the same update to float rounding."""
    try:
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    except (RuntimeError, ValueError):  # a device or dtype without the fused kernel
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


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
    state_dir: str | Path | None = None,
    on_step: Callable[[int], None] | None = None,
    say: Callable[[str], str] = spaced,
) -> TrainResult:
    """Train in place; on return ``model`` holds the best-on-validation weights.  ``say`` turns a
    target into the exact text that follows a decoder-only model's prompt (default: a space, then
    the target; a teacher fine-tuned in its chat template says it bare)."""
    seed_everything(cfg.seed)
    decoder_only = not model.config.is_encoder_decoder
    if decoder_only and tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    label_prefix = PREFIX_LABEL if multitask else ""
    model.requires_grad_(True)  # a model that was used for attribution comes back frozen
    micro = min(cfg.micro_batch_size or cfg.batch_size, cfg.batch_size)
    opt = adamw([p for p in model.parameters() if p.requires_grad], cfg)

    def lr_at(step: int) -> float:  # linear warm-up, then linear decay to zero
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        return max(0.0, (cfg.steps - step) / max(1, cfg.steps - cfg.warmup_steps))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    rng = random.Random(cfg.seed)
    pending: list[list[int]] = []
    result = TrainResult()
    best_state = None
    start_step = 1
    state_path = Path(state_dir) if state_dir else None
    fp = fingerprint(cfg, multitask, train_rows, valid_rows, model) if state_path is not None else ""
    if state_path is not None:
        state = load_state(state_path, fp, log)
        if state is not None:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            rng.setstate(_tuple(state["rng"]))
            torch.set_rng_state(state["torch_rng"])
            if state.get("cuda_rng") is not None and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(state["cuda_rng"])
            pending = state["pending"]
            best_state = state["best_state"]
            result = TrainResult(**json.loads(state["result"]))
            result.resumed_from = start_step = state["step"] + 1
            log(f"resuming from the state saved at step {state['step']}")
    save_every = cfg.save_every or cfg.eval_every
    keys = length_keys(tokenizer, train_rows, multitask) if cfg.group_by_length else None
    t0 = time.time() - result.seconds
    bar = progress(cfg.steps, "train", "step", disable=not show_progress)
    bar.update(start_step - 1)
    for step in range(start_step, cfg.steps + 1):
        model.train()
        if not pending:
            pending = next_batches(train_rows, cfg, rng, keys)
        batch = [train_rows[i] for i in pending.pop(0)]
        t_step, lr = time.time(), opt.param_groups[0]["lr"]
        losses = step_gradients(model, tokenizer, batch, cfg, multitask, micro, label_prefix, say)
        total = losses.total
        result.tokens += losses.tokens
        if not math.isfinite(total):
            raise FloatingPointError(f"training loss is {total} at step {step}")
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        bar.set_postfix(loss=f"{total:.3f}")
        bar.update(1)
        result.curve.append({"step": step, "lr": lr, "loss": total, "label_loss": losses.label,
                             "rationale_loss": losses.rationale if multitask else math.nan, "kd_divergence": losses.kd,
                             "tokens": losses.tokens,
                             "tokens_per_second": losses.tokens / max(time.time() - t_step, 1e-9),
                             "seconds": round(time.time() - t0, 3), "valid_accuracy": math.nan})
        if step % cfg.eval_every == 0 or step == cfg.steps:
            acc = validation_accuracy(model, tokenizer, valid_rows, task, cfg, label_prefix)
            result.curve[-1]["valid_accuracy"] = acc
            result.history.append({"step": step, "loss": float(total), "valid_accuracy": acc,
                                   "seconds": round(time.time() - t0, 2)})
            log(f"step {step}: loss {total:.4f}, valid accuracy {acc:.4f}")
            if acc > result.best_accuracy:
                result.best_accuracy, result.best_step = acc, step
                best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        if state_path is not None and (step % save_every == 0) and step < cfg.steps:
            result.seconds = time.time() - t0
            save_state(state_path, {
                "fingerprint": fp, "step": step, "model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "rng": _lists(rng.getstate()), "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                "pending": pending, "best_state": best_state, "result": json.dumps(asdict(result)),
            })
        if on_step is not None:
            on_step(step)
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    result.seconds = time.time() - t0
    return result


def discard_state(state_dir: str | Path) -> None:
    shutil.rmtree(state_dir, ignore_errors=True)


def save_trained(model, tokenizer, out_dir: str | Path, info: dict, state_dir: str | Path | None = None,
                 result: TrainResult | None = None) -> None:
    """The trained model, its tokenizer, ``train.json`` (history, best step, ...) and, given the
    run's ``result``, its curve (``train_log.parquet``, :func:`curve_table`), written atomically; then
    the saved training state is no longer needed."""
    from . import io

    with io.atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        io.write_json(info, Path(tmp) / "train.json")
        if result is not None:
            import pandas as pd
            from .schemas import TRAIN_LOG, TRAIN_LOG_FILE

            io.write_parquet(pd.DataFrame(result.curve, columns=TRAIN_LOG.names), Path(tmp) / TRAIN_LOG_FILE, TRAIN_LOG)
            write_tensorboard(result.curve, Path(tmp) / "tensorboard")
    if state_dir is not None:
        discard_state(state_dir)


#: the curve's columns written to TensorBoard, under train/
TENSORBOARD_SCALARS = ("loss", "label_loss", "rationale_loss", "kd_divergence", "lr", "tokens_per_second", "valid_accuracy")


def write_tensorboard(curve: Sequence[dict], folder: str | Path) -> bool:
    """The curve as TensorBoard scalars (DSS logs its runs to TensorBoard), when the tensorboard
    package is installed; never required (False, nothing written, without it)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return False
    writer = SummaryWriter(str(folder))
    for row in curve:
        for key in TENSORBOARD_SCALARS:
            value = row.get(key)
            if value is not None and not math.isnan(value):
                writer.add_scalar(f"train/{key}", value, row["step"])
    writer.close()
    return True


def result_info(result: TrainResult) -> dict:
    """What ``train.json`` records of a training run."""
    return {"history": result.history, "best_step": result.best_step, "best_valid_accuracy": result.best_accuracy,
            "seconds": round(result.seconds, 2), "resumed_from_step": result.resumed_from, "tokens": result.tokens}


def student_examples(examples, variant: str, rationales=None, log=print, teacher=None) -> tuple[list[Example], bool]:
    """The training rows of a student variant, and whether it trains two tasks.

    ``examples``: the training split (a DataFrame); ``rationales``: the variant's rationale table
    (id, rationale), for the kinds that read one.  An example without a rationale (the teacher gave
    no parsed answer) trains the label task only.  ``teacher``: the teacher's predictions on the
    training split, for the kinds that learn its answers instead of the gold labels (seqkd): an
    example the teacher gave no parsed answer for is left out."""
    from .variants import parse

    kind = parse(variant).kind
    split_ids = set(examples["id"])
    if kind.labels == "teacher":
        examples = teacher_labelled(examples, teacher, variant, log)
    pairs = list(zip(examples["input"], examples["label"]))
    ids = list(examples["id"])
    if kind.rationale is None:
        return [Example(i, y, id=e) for (i, y), e in zip(pairs, ids)], False
    if kind.rationale == "llm":
        texts = [text_or_none(r) for r in examples["llm_rationale"]]
        if not any(texts):
            raise ValueError(f"variant {variant!r} needs LLM rationales, and this dataset has none")
        # a row without a rationale trains the label task alone, as in the other kinds
        return [Example(i, y, r, id=e) for (i, y), r, e in zip(pairs, texts, ids)], True
    if rationales is None:
        raise ValueError(f"variant {variant!r} needs a rationale file")
    by_id = rationales.set_index("id")["rationale"].to_dict()
    unknown = set(by_id) - split_ids
    if unknown:
        raise ValueError(f"rationales for {len(unknown)} examples that are not in the training split, "
                         f"e.g. {sorted(unknown)[0]!r}")
    kept = set(examples["id"])  # seqkd: the rows the teacher answered
    by_id = {i: r for i, r in by_id.items() if i in kept}
    missing = len(examples) - len(by_id)
    if missing == len(examples) and missing:
        log("no training example has a rationale (the teacher answered none): this student learns the label task only")
    elif missing:
        log(f"{missing} of {len(examples)} training examples have no rationale (no parsed teacher answer): label task only")
    return [Example(i, y, by_id.get(x), id=x) for (i, y), x in zip(pairs, ids)], True


def data_subset(examples, fraction: float, seed: int = 0):
    """The share ``fraction`` of a training split: the first ceil(fraction * n) examples in an order
    fixed by ``seed`` and their ids alone, so that smaller shares are inside larger ones and every
    variant and seed of a share trains on the same examples."""
    import zlib

    if fraction >= 1:
        return examples
    keys = np.array([zlib.crc32(f"{seed}:{i}".encode()) for i in examples["id"]], dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    n = max(1, math.ceil(fraction * len(examples)))
    return examples.iloc[np.sort(order[:n])].reset_index(drop=True)


def run_examples(examples, variant: str, rationales=None, teacher=None, subset_seed: int = 0,
                 log=print) -> tuple[list[Example], bool]:
    """The training rows of one run: its share of the split (:func:`data_subset`, by the run
    name's ``-data0.25``), the rationales that came with an answer for ``cot``, then
    :func:`student_examples`."""
    from .variants import parse

    run = parse(variant)
    if rationales is not None and run.kind.rationale == "cot":  # the teacher's chains that ended in an answer
        rationales = rationales[rationales["parsed"] & (rationales["rationale"] != "")]
    if run.fraction < 1:
        examples = data_subset(examples, run.fraction, subset_seed)
        keep = set(examples["id"])
        rationales = None if rationales is None else rationales[rationales["id"].isin(keep)]
        teacher = None if teacher is None else teacher[teacher["id"].isin(keep)]
        log(f"training on {len(examples)} examples: the share {run.fraction} of the split (subset seed {subset_seed})")
    return student_examples(examples, variant, rationales, log=log, teacher=teacher)


def teacher_labelled(examples, teacher, variant: str, log=print):
    """``examples`` with the teacher's parsed answer as each one's label; those it did not answer
    (unparsed) are left out.  The gold labels are not read (the setting of unlabelled data)."""
    if teacher is None:
        raise ValueError(f"variant {variant!r} learns the teacher's answers and needs its predictions on train")
    answers = teacher[teacher["parsed"]].set_index("id")["prediction"]
    missing = set(examples["id"]) - set(teacher["id"])
    if missing:
        raise ValueError(f"the teacher's predictions lack {len(missing)} training examples, e.g. {sorted(missing)[0]!r}")
    kept = examples[examples["id"].isin(answers.index)].copy()
    kept["label"] = kept["id"].map(answers)
    if len(kept) < len(examples):
        log(f"{len(examples) - len(kept)} of {len(examples)} training examples have no parsed teacher answer: left out")
    if kept.empty:
        raise ValueError(f"variant {variant!r}: the teacher answered none of the training examples")
    return kept.reset_index(drop=True)


def _lists(x):
    return [_lists(v) for v in x] if isinstance(x, (tuple, list)) else x


def _tuple(x):
    return tuple(_tuple(v) for v in x) if isinstance(x, list) else x
