"""Where a student training step's time goes: ``akd.training`` steps under ``torch.profiler``.

The same model, tokenizer and rows as ``benchmarks/training.py`` (t5-small shape, random weights,
the DSS CQA train split with PaLM's rationales, the label and the rationale task). After warm-up
steps, ``--steps`` steps are profiled and every operator's own (self) CPU time is put in one bucket:

- the matrix products, told apart by their shapes: the output layer (a dimension equal to the
  vocabulary), the feed-forward (d_ff), the attention projections (other products with d_model), and
  attention's score products (``bmm``/``matmul`` of the heads);
- attention's fused kernel (transformers 5 runs T5's attention through
  ``scaled_dot_product_attention`` with the position bias as its mask) or its softmax; the loss (log-softmax and the negative log-likelihood, forward and backward);
- the optimiser (AdamW's step and zeroing the gradients); the data (encoding and padding the batch);
- the rest: normalisation, activation functions, dropout, residual additions, copies and the
  position bias.

The products' FLOPs are counted from their recorded shapes, and their rate is set beside that of one
2048^3 product (of the step's precision) on the same threads: how far the products are from the CPU's
own ceiling. ``--precision bf16`` profiles the step under bf16 autocast (the casts fall in the rest).

    python benchmarks/profile_training.py --steps 5 --json benchmarks/results/profile-t5-small-cqa.json
"""

from __future__ import annotations

import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import command_line, report  # noqa: E402

import akd.training as T  # noqa: E402
from akd.sources.dss import load_split  # noqa: E402
from akd.training import Example, TrainConfig, next_batches, step_gradients  # noqa: E402

MATMULS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear", "aten::baddbmm"}


def product_flops(name: str, shapes) -> int:
    """The multiply-adds x 2 of one matrix-product operator from its recorded input shapes."""
    try:
        if name == "aten::mm":
            (m, k), (_, n) = shapes[0], shapes[1]
            return 2 * m * k * n
        if name == "aten::addmm":  # bias, a, b
            (m, k), (_, n) = shapes[1], shapes[2]
            return 2 * m * k * n
        if name in ("aten::bmm", "aten::baddbmm"):
            a, b = (shapes[0], shapes[1]) if name == "aten::bmm" else (shapes[1], shapes[2])
            return 2 * a[0] * a[1] * a[2] * b[2]
    except (IndexError, TypeError, ValueError):
        pass
    return 0


def sgemm_rate(n: int = 2048, repeats: int = 10, dtype: torch.dtype = torch.float32) -> float:
    """GFLOP/s of one n x n x n product on these threads (the ceiling the products meet)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    for _ in range(3):
        a @ b
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - t0) / 1e9


def bucket(name: str, shapes, d_model: int, d_ff: int, vocab: int, region: str | None) -> str:
    if region:
        return region
    if name in MATMULS:
        dims = {d for s in shapes for d in s}
        if vocab in dims:
            return "output layer (products)"
        if d_ff in dims:
            return "feed-forward (products)"
        if name in ("aten::bmm", "aten::baddbmm") or any(len(s) == 4 for s in shapes):
            return "attention scores (products)"
        if d_model in dims:
            return "attention projections (products)"
        return "other products"
    if "scaled_dot_product" in name:
        return "attention kernel (scaled_dot_product_attention)"
    if "softmax" in name and "log_softmax" not in name:
        return "attention softmax"
    if any(k in name for k in ("log_softmax", "nll_loss", "cross_entropy")):
        return "loss"
    return "rest (norms, activations, copies, position bias)"


def setup(name: str, batch_size: int, n: int, dss_root: str, threads: int, precision: str = "float32"):
    """benchmarks/training.py's student (random weights), tokenizer and CQA rows with PaLM's
    rationales, the loop's own optimiser, and the loop's own length-grouped batches."""
    torch.set_num_threads(threads)
    from akd.models import train_tokenizer
    from training import make_model

    ex = [e for e in load_split(dss_root, "cqa", "mc", "train") if e["llm_rationale"]][:n]
    rows = [Example(e["input"], e["label"], e["llm_rationale"]) for e in ex]
    tok = train_tokenizer([r.input for r in rows] + [r.rationale for r in rows] + [r.label for r in rows], 32000)
    model = make_model(name, tok)
    model.train()
    cfg = TrainConfig(batch_size=batch_size, max_input_tokens=1024, max_target_tokens=256, precision=precision)
    opt = T.adamw(list(model.parameters()), TrainConfig(lr=5e-4))
    batches = [[rows[i] for i in b] for b in next_batches(rows, cfg, random.Random(0))]
    return model, tok, cfg, opt, batches


def main() -> None:
    ap = command_line(__doc__, model="t5-small", steps=5, warmup_steps=2, batch_size=16, n=2000)
    ap.add_argument("--precision", default="float32", choices=["float32", "bf16"])
    args = ap.parse_args()
    model, tok, cfg, opt, batches = setup(args.model, args.batch_size, args.n, args.dss_root, args.threads, args.precision)

    encode = T._encode

    def encode_marked(*a, **kw):
        with torch.profiler.record_function("data"):
            return encode(*a, **kw)

    T._encode = encode_marked

    def step(batch):
        step_gradients(model, tok, batch, cfg, True, cfg.batch_size, T.PREFIX_LABEL)
        with torch.profiler.record_function("optimiser"):
            opt.step()
            opt.zero_grad(set_to_none=True)

    for b in batches[: args.warmup_steps]:
        step(b)
    timed = batches[args.warmup_steps: args.warmup_steps + args.steps]
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
        t0 = time.perf_counter()
        for b in timed:
            step(b)
        wall = time.perf_counter() - t0
    c = model.config
    regions = {}  # an operator inside a region belongs to it (the profiler's tree)
    for ev in prof.events():
        if ev.name in ("data", "optimiser"):
            regions[ev.name] = regions.get(ev.name, []) + [(ev.time_range.start, ev.time_range.end)]
    seconds, rest_ops = defaultdict(float), defaultdict(float)
    flops, product_s = 0, 0.0
    for ev in prof.events():
        if ev.name in ("data", "optimiser") or ev.name.startswith("ProfilerStep"):
            continue
        where = next((r for r, spans in regions.items() if any(s <= ev.time_range.start < e for s, e in spans)), None)
        b = bucket(ev.name, ev.input_shapes or [], c.d_model, c.d_ff, c.vocab_size, where)
        seconds[b] += ev.self_cpu_time_total / 1e6
        f = product_flops(ev.name, ev.input_shapes or [])
        if f:
            flops, product_s = flops + f, product_s + ev.self_cpu_time_total / 1e6
        if b.startswith("rest"):
            rest_ops[ev.name] += ev.self_cpu_time_total / 1e6
    profiled = sum(seconds.values())
    table = sorted(seconds.items(), key=lambda kv: -kv[1])
    print(f"{len(timed)} steps of {args.batch_size}: {wall:.2f} s wall, {profiled:.2f} s in operators "
          f"(the rest is Python between them)")
    for name, s in table:
        print(f"  {name:<50} {s:7.2f} s  {s / wall:6.1%}")
    ceiling = sgemm_rate(dtype=torch.bfloat16 if args.precision == "bf16" else torch.float32)
    print(f"  products: {flops / 1e9:.0f} GFLOP at {flops / product_s / 1e9:.1f} GFLOP/s; one 2048^3 {args.precision} product "
          f"on {args.threads} threads: {ceiling:.1f} GFLOP/s; the whole step: {flops / wall / 1e9:.1f} GFLOP/s")
    top_rest = sorted(rest_ops.items(), key=lambda kv: -kv[1])[:12]
    print("  the rest's largest operators: " + ", ".join(f"{k} {v:.2f} s" for k, v in top_rest))
    figures = {"model": args.model, "steps": len(timed), "batch_size": args.batch_size, "threads": args.threads,
               "precision": args.precision, "wall_s": wall, "operators_s": profiled, "buckets_s": dict(table), "rest_operators_s": dict(top_rest),
               "product_gflop": flops / 1e9, "product_gflop_per_s": flops / product_s / 1e9,
               "step_gflop_per_s": flops / wall / 1e9, "sgemm_2048_gflop_per_s": ceiling}
    report(figures, args.json, echo=False)


if __name__ == "__main__":
    main()
