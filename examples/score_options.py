"""How often the teacher's top-k words change with what is attributed.

On the training examples a workflow run attributed, the saliency of the teacher's answer is
recomputed four ways: the answer's log-probability (``attribution.score: logprob``, the default),
its logit (``logit``) and its log-odds (``log_odds``) in float32, and the log-probability in
float64 (the model cast to double: the reference for rounding). For each k it prints the share of
examples whose top-k word set differs from the float32 log-probability's, the mean share of the k
words two options share, and the teacher's median answer log-probability (how saturated it is).

    # the embedded default's tiny teacher (after `make run`)
    python examples/score_options.py --results results --dataset syn-nli --teacher teacher-nano
    # the fine-tuned SmolLM2 teacher of the first real run (after `make real`)
    python examples/score_options.py --results results/offline-real --dataset cqa \
        --teacher smollm2-instruct --n 200 --json results/offline-real/tables/score_options.json
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

sys.path.insert(0, str(ROOT / "examples"))

from _teacher_run import teacher_run  # noqa: E402
from akd.attribution import Settings, attribute  # noqa: E402
from akd.models import load_model  # noqa: E402
from akd.rationales import top_k  # noqa: E402


def top_sets(rows: list[dict], k: int) -> list[frozenset]:
    return [frozenset(r["words"][i].lower() for i in top_k(r["words"], r["scores"], k, exclude_punctuation=True))
            for r in rows]


def compare(reference: list[frozenset], other: list[frozenset], k: int) -> dict:
    return {"changed": float(np.mean([a != b for a, b in zip(reference, other)])),
            "shared": float(np.mean([len(a & b) / max(1, min(k, len(a))) for a, b in zip(reference, other)]))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default="results", help="the run's results folder")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--teacher", required=True, help="the teacher's alias in that run")
    ap.add_argument("--model", default=None, help="the teacher's folder (default: the run's fine-tuned teacher, "
                                                  "else its built model)")
    ap.add_argument("--gguf-file", default=None)
    ap.add_argument("--n", type=int, default=200, help="training examples (the first n attributable ones)")
    ap.add_argument("--k", type=int, nargs="+", default=[1, 3, 5])
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    run_ = teacher_run(args.results, args.dataset, args.teacher, args.model, args.n)
    model_dir, chat = run_["model"], run_["chat"]
    records, targets, prompts = run_["records"], run_["targets"], run_["prompts"]
    model, tok = load_model(model_dir, "cpu", gguf_file=args.gguf_file)

    def run(m, score: str) -> tuple[list[dict], float]:
        t = time.perf_counter()
        rows = attribute(m, tok, records, targets, Settings(score=score, batch_size=args.batch_size,
                                                            precision="float32"),
                         show_progress=False, prompts=prompts, add_special_tokens=not chat)
        return rows, time.perf_counter() - t

    rows = {}
    for score in ("logprob", "logit", "log_odds"):
        rows[score], secs = run(model, score)
        print(f"{score}: {secs:.1f} s", flush=True)
    rows["logprob float64"], secs = run(copy.deepcopy(model).double(), "logprob")
    print(f"logprob float64: {secs:.1f} s", flush=True)

    logprobs = np.array([r["target_logprob"] for r in rows["logprob float64"]])
    figures = {"results": args.results, "dataset": args.dataset, "teacher": args.teacher, "model": model_dir,
               "n": len(records), "median_answer_logprob": float(np.median(logprobs)),
               "share_answer_logprob_above_-0.01": float(np.mean(logprobs > -0.01)), "against_float32_logprob": {}}
    print(f"\n{args.dataset}, {len(records)} training examples; the teacher's median answer log-probability "
          f"{figures['median_answer_logprob']:.3g}")
    print("| k | option | top-k changed | words shared |\n|---|---|---|---|")
    for k in args.k:
        ref = top_sets(rows["logprob"], k)
        for name in ("logit", "log_odds", "logprob float64"):
            c = compare(ref, top_sets(rows[name], k), k)
            figures["against_float32_logprob"].setdefault(str(k), {})[name] = c
            print(f"| {k} | {name} | {c['changed']:.1%} | {c['shared']:.1%} |")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
