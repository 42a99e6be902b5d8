"""GPU throughput of the two heavy stages, on randomly initialised models of the real shapes.

For a GPU machine with no network: the shapes are the hub configs of the paper's and the modern
grid's models, written in ``benchmarks/shapes/`` (Flan-T5-XL teacher, T5-v1.1-base and
Qwen2.5-0.5B students); the weights are random and the text is synthetic, with CQA's lengths (token
counts drawn to match the DSS CQA train split under SmolLM2's tokenizer: question median 14 tokens
and 10-90% 9-24, choices 1-3, the DSS input 48; a rationale of k 5 words), so nothing is read from
disk or the hub.  In one run, in bf16 autocast (``precision: auto``):

- the bf16 matrix-product ceiling, measured (an 8192^3 product, median of 20) beside the datasheet
  peak for the card when it is known;
- attribution: ``akd.attribution.attribute`` (saliency, the teacher's CQA prompt, its gold answer as
  the target) on the Flan-T5-XL teacher: examples per second;
- training: ``akd.training.train`` on each student, the label and the top-5-word rationale task
  (``saliency-k5``): non-padding tokens per second, after warm-up steps that are not counted.

Utilisation has two figures. ``flop_utilisation`` counts the matrix products that ran (a forward
hook on every ``nn.Linear``: 2 x rows x inputs x outputs, padded positions included), times 3 for a
training step (forward, gradients to activations and to weights) and 2 for attribution (frozen
weights: gradients to activations only), over the time and the peak. ``mfu_6nt`` is the usual
6 x parameters x tokens / time / peak with the non-padding tokens (for attribution 4 x N x T): for an
encoder-decoder it overstates the work, since each token passes one of the two stacks. Attention's
score products (QK^T, AV) are not counted: at CQA's lengths they are under 1% of the work.

    python benchmarks/gpu.py --json benchmarks/results/gpu-h100.json     # on the GPU (sized for < 8 minutes)
    python benchmarks/gpu.py --tiny                                       # on a CPU, seconds (the tests)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from akd.attribution import Settings, attribute  # noqa: E402
from akd.tasks import fields_dict, render  # noqa: E402
from akd.training import Example, TrainConfig, train  # noqa: E402

SHAPES = ROOT / "benchmarks" / "shapes"
TEACHER, STUDENTS = "flan-t5-xl", ["t5-v1_1-base", "qwen2.5-0.5b"]
TINY = {"t5": dict(d_model=64, d_ff=128, d_kv=16, num_heads=4, num_layers=2, num_decoder_layers=2, vocab_size=8192),
        "qwen2": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, vocab_size=8192)}
PEAK_BF16_TFLOPS = {"H100 80GB HBM3": 989.4, "H100 PCIe": 756.5, "H100 NVL": 835.5, "H200": 989.4,
                    "A100": 312.0, "L40S": 362.1, "A10G": 70.0, "L4": 121.0}  # dense, no sparsity


def load_shape(name: str, tiny: bool):
    from transformers import AutoConfig

    d = json.loads((SHAPES / f"{name}.json").read_text())
    kind = d.pop("model_type")
    if tiny:
        d.update(TINY[kind])
    return AutoConfig.for_model(kind, **d)


def build(name: str, device: torch.device, tiny: bool):
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    cfg = load_shape(name, tiny)
    torch.manual_seed(0)
    with torch.device(device):  # initialised on the device: seconds, not minutes, for 3B parameters
        cls = AutoModelForSeq2SeqLM if cfg.model_type == "t5" else AutoModelForCausalLM
        model = cls.from_config(cfg)
        untied = json.loads((SHAPES / f"{name}.json").read_text()).get("tie_word_embeddings") is False
        if untied and model.get_output_embeddings().weight is model.get_input_embeddings().weight:
            # transformers 5 ties T5's output layer to its embeddings when it builds from a config; the
            # v1.1 checkpoints (and Flan-T5) have their own, which from_pretrained keeps apart
            model.get_output_embeddings().weight = torch.nn.Parameter(model.get_input_embeddings().weight.detach().clone())
            model.all_tied_weights_keys.pop("lm_head.weight", None)
        return model


def synthetic_cqa(n: int, seed: int = 0) -> tuple[list[dict], list[str]]:
    """``n`` CQA-shaped examples (the examples table's layout: a question and five choices, the gold among them)
    of made-up words, and the words themselves (one word: one token of the tokenizer trained on them)."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = sorted({"".join(rng.choice(letters, rng.integers(3, 9))) for _ in range(6000)})
    pick = lambda k: " ".join(rng.choice(words, k))  # noqa: E731
    rows = []
    for i in range(n):
        q = int(np.clip(round(rng.lognormal(np.log(14), 0.38)), 3, 73))
        choices = [pick(int(rng.choice([1, 2, 3], p=[0.3, 0.45, 0.25]))) for _ in range(5)]
        fields = [{"name": "question", "text": pick(q) + "?"}] + [
            {"name": f"choice{j}", "text": c} for j, c in enumerate(choices)]
        rows.append({"id": str(i), "task": "mc", "fields": fields, "label": choices[i % 5], "choices": choices,
                     "rationale": pick(5)})
    return rows, words


def prompt(row: dict, style: str = "prompt") -> str:
    return render(row["task"], fields_dict(row["fields"]), style).text


def tokenizer_for(words: list[str], rows: list[dict], decoder_only: bool):
    from akd.models import train_tokenizer

    text = [" ".join(words)] * 3 + [prompt(r) + " " + r["label"] for r in rows[:200]]
    tok = train_tokenizer(text, 8000, append_eos=not decoder_only)
    if decoder_only:
        tok.pad_token = tok.eos_token = "</s>"
    return tok


class LinearFlops:
    """Counts the forward matrix-product FLOPs of every ``nn.Linear`` while it is entered."""

    def __init__(self, model):
        self.flops, self.model, self.hooks = 0, model, []

    def _count(self, mod, args):
        x = args[0]
        self.flops += 2 * (x.numel() // mod.in_features) * mod.in_features * mod.out_features

    def __enter__(self):
        self.hooks = [m.register_forward_pre_hook(self._count) for m in self.model.modules()
                      if isinstance(m, torch.nn.Linear)]
        return self

    def __exit__(self, *exc):
        for h in self.hooks:
            h.remove()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_ceiling(device: torch.device, n: int) -> float:
    """Measured TFLOP/s of one bf16 n^3 matrix product (median of 20, after 3 warm-ups)."""
    a, b = (torch.randn(n, n, device=device, dtype=torch.bfloat16) for _ in range(2))
    times = []
    for i in range(23):
        sync(device)
        t0 = time.perf_counter()
        a @ b
        sync(device)
        if i >= 3:
            times.append(time.perf_counter() - t0)
    return 2 * n**3 / float(np.median(times)) / 1e12


def utilisation(figures: dict, flops: float, flops_6nt: float, seconds: float, peak: float | None) -> dict:
    out = {"tflops_per_s": flops / seconds / 1e12, "tflops_6nt_per_s": flops_6nt / seconds / 1e12}
    if peak:
        out.update(flop_utilisation=out["tflops_per_s"] / peak, mfu_6nt=out["tflops_6nt_per_s"] / peak)
    figures.update(out)
    return figures


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def bench_attribution(device, tiny, n, batch_size, peak) -> dict:
    rows, words = synthetic_cqa(n + batch_size * 2, seed=1)
    model = build(TEACHER, device, tiny).eval()
    tok = tokenizer_for(words, rows, decoder_only=False)
    settings = Settings(method="saliency", batch_size=batch_size, max_input_tokens=1024, precision="auto")
    warm, timed = rows[: batch_size * 2], rows[batch_size * 2:]
    attribute(model, tok, warm, [r["label"] for r in warm], settings, show_progress=False)
    with LinearFlops(model) as counter:
        sync(device)
        t0 = time.perf_counter()
        out = attribute(model, tok, timed, [r["label"] for r in timed], settings, show_progress=False)
        sync(device)
        secs = time.perf_counter() - t0
    tokens = sum(len(tok(prompt(r))["input_ids"]) + len(tok(text_target=r["label"])["input_ids"])
                 for r in timed)
    figures = {"model": TEACHER, "parameters": n_params(model), "examples": len(out), "batch_size": batch_size,
               "seconds": secs, "examples_per_s": len(out) / secs, "tokens": tokens}
    del model
    return utilisation(figures, 2 * counter.flops, 4 * figures["parameters"] * tokens, secs, peak)


def bench_training(name, device, tiny, steps, warmup, batch_size, peak) -> dict:
    model = build(name, device, tiny)
    decoder_only = not model.config.is_encoder_decoder
    rows, words = synthetic_cqa(64 if tiny else 4000, seed=2)
    tok = tokenizer_for(words, rows, decoder_only)
    examples = [Example(input=prompt(r, "dss"), label=r["label"], rationale=r["rationale"],
                        choices=r["choices"], id=r["id"]) for r in rows]
    cfg = TrainConfig(steps=warmup + steps, batch_size=batch_size, lr=5e-5, eval_every=10**9, max_input_tokens=1024,
                      max_target_tokens=256, precision="auto", answer="rank")
    with LinearFlops(model) as counter:
        res = train(model, tok, examples, [], "mc", cfg, multitask=True, log=lambda s: None, show_progress=False)
    curve = res.curve[warmup:]
    secs = curve[-1]["seconds"] - res.curve[warmup - 1]["seconds"] if warmup else curve[-1]["seconds"]
    tokens = sum(r["tokens"] for r in curve)
    flops = 3 * counter.flops * len(curve) / len(res.curve)  # the timed steps' share (about equal steps)
    figures = {"model": name, "parameters": n_params(model), "steps": len(curve), "batch_size": batch_size,
               "seconds": secs, "tokens": tokens, "tokens_per_s": tokens / secs}
    del model
    return utilisation(figures, flops, 6 * figures["parameters"] * tokens, secs, peak)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true", help="2-layer models of width 64 (a CPU check)")
    ap.add_argument("--attribution-examples", type=int, default=None)
    ap.add_argument("--attribution-batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=None, help="timed training steps per student")
    ap.add_argument("--warmup-steps", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64, help="training examples per step (the paper's 64)")
    ap.add_argument("--peak-tflops", type=float, default=None, help="bf16 peak (default: the card's datasheet)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    n = args.attribution_examples or (16 if args.tiny else 2048)
    steps = args.steps or (2 if args.tiny else 30)
    name = torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or platform.machine()
    peak = args.peak_tflops or next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
    figures = {"device": name, "torch": torch.__version__, "tiny": args.tiny, "peak_bf16_tflops": peak,
               "measured_bf16_tflops": matmul_ceiling(device, 256 if args.tiny or device.type != "cuda" else 8192)}
    print(f"{name}: bf16 product {figures['measured_bf16_tflops']:.1f} TFLOP/s measured, datasheet {peak}", flush=True)
    t0 = time.time()
    figures["attribution"] = bench_attribution(device, args.tiny, n, 4 if args.tiny else args.attribution_batch, peak)
    a = figures["attribution"]
    print(f"attribution {TEACHER}: {a['examples_per_s']:.1f} examples/s, {a['tflops_per_s']:.1f} TFLOP/s", flush=True)
    figures["training"] = []
    for student in STUDENTS:
        t = bench_training(student, device, args.tiny, steps, args.warmup_steps, 4 if args.tiny else args.batch_size,
                           peak)
        figures["training"].append(t)
        print(f"training {student}: {t['tokens_per_s']:.0f} tokens/s, {t['tflops_per_s']:.1f} TFLOP/s"
              + (f", FLOP utilisation {t['flop_utilisation']:.1%}, 6NT MFU {t['mfu_6nt']:.1%}" if peak else ""),
              flush=True)
    figures["wall_s"] = time.time() - t0
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
