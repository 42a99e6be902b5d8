"""The teacher's answers: ranked over the label space (nli, mc) or generated and parsed (math), the
metrics of a split, and the check that stops the workflow when the teacher is not answering.

Every prediction row records the prompt (and where the example's own text sits in it), what the
teacher said, the answer in the label space (empty when a generated answer does not parse), whether
it parsed, and the exact continuation to attribute.  Ranked rows also keep every candidate's summed
log-probability, token count and the score it was ranked by, so a margin can be read later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from .answers import parse_answer
from .errors import AkdError
from .prompts import PromptSettings, TeacherPrompt, build_prompt, chance_level, use_chat
from .tasks import Rendered, is_correct


class TeacherNotAnswering(AkdError, RuntimeError):
    """The teacher's answers are at chance or mostly unparsed: attributing them explains guesses."""


@dataclass
class Prompts:
    settings: PromptSettings
    prompts: list[TeacherPrompt]
    mode: str
    task: str


def prompts_for(examples: Sequence[dict], settings: dict, tokenizer, decoder_only: bool,
                pool: Sequence[dict] = ()) -> Prompts:
    """The teacher's prompt for every example (``settings``: the teacher's config slice)."""
    chat = use_chat(settings.get("chat", "auto"), tokenizer,
                    " ".join(str(settings.get(k) or "") for k in ("model", "gguf_file")))
    ps = PromptSettings.from_dict(settings, chat=chat)
    task = examples[0]["task"] if len(examples) else "nli"
    return Prompts(ps, [build_prompt(e, ps, tokenizer, decoder_only, pool) for e in examples], ps.mode(task), task)


def answer_info(p: Prompts) -> dict:
    """How the teacher answered a split (stored with its predictions, shown in the teacher table)."""
    fmt = "-" if p.task == "math" else (p.settings.format if p.settings.template == "prompt" else "dss")
    return {"answer": p.mode, "format": fmt, "chat": p.settings.chat, "shots": p.settings.shots,
            "normalise": p.settings.normalise if p.mode == "rank" else None}


def _cut(text: str, decoder_only: bool, chat: bool) -> str:
    """What the teacher said: a decoder-only model without chat runs on after its answer (its first
    non-empty line is kept); a chat model ends its turn; an encoder-decoder model stops."""
    text = text.strip()
    if decoder_only and not chat:
        return text.split("\n")[0].strip()
    return text


def answer(model, tokenizer, examples: Sequence[dict], p: Prompts, batch_size: int = 16,
           max_new_tokens: int = 64, max_input_tokens: int = 1024, show_progress: bool = True) -> pd.DataFrame:
    """One PREDICTIONS row per example, in input order."""
    from .generation import generate
    from .scoring import choose, rank, truncated

    decoder_only = not model.config.is_encoder_decoder
    texts = [q.text for q in p.prompts]
    cut = truncated(tokenizer, texts, max_input_tokens, add_special_tokens=not p.settings.chat)
    rows = []
    if p.mode == "rank":
        conts = [[q.continuation(a.said) for a in q.candidates] for q in p.prompts]
        scored = rank(model, tokenizer, texts, conts, batch_size, max_input_tokens,
                      add_special_tokens=not p.settings.chat, desc="teacher (rank)", show_progress=show_progress)
        for e, q, cs, (lp, n), c in zip(examples, p.prompts, conts, scored, cut):
            best, scores = choose(lp, n, cs, p.settings.normalise)
            rows.append(_row(e, q, said=q.candidates[best].said, prediction=q.candidates[best].label,
                             target=cs[best], truncated=c, logprobs=lp, tokens=n, scores=scores, targets=cs))
    else:
        raw = generate(model, tokenizer, texts, batch_size, max_new_tokens, max_input_tokens, desc="teacher (generate)",
                       show_progress=show_progress, add_special_tokens=not p.settings.chat, raw=True, truncation="left")
        for e, q, r, c in zip(examples, p.prompts, raw, cut):
            said = _cut(r, decoder_only, p.settings.chat)
            parsed = parse_answer(e["task"], said, list(e["choices"]))
            rows.append(_row(e, q, said=said, prediction=parsed,
                             target=q.continuation(said) if parsed is not None else "", truncated=c))
    return pd.DataFrame(rows)


def _row(e: dict, q: TeacherPrompt, said: str, prediction: str | None, target: str, truncated: bool = False,
         logprobs=(), tokens=(), scores=(), targets=()) -> dict:
    parsed = prediction is not None
    return {
        "id": e["id"], "prompt": q.text,
        "span_field": [f for f, _, _ in q.spans], "span_start": [a for _, a, _ in q.spans],
        "span_end": [b for _, _, b in q.spans],
        "output": said, "prediction": prediction if parsed else "", "parsed": parsed, "target": target,
        "label": e["label"], "label_target": q.continuation(q.gold),
        "correct": parsed and is_correct(e["task"], prediction, e["label"]),
        "candidates": [a.label for a in q.candidates],
        "candidate_logprobs": [float(x) for x in logprobs], "candidate_tokens": [int(x) for x in tokens],
        "candidate_scores": [float(x) for x in scores], "candidate_targets": list(targets),
        "truncated": bool(truncated),
    }


# ---------------------------------------------------------------------------------- metrics

def wilson(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = correct / n
    d = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, centre - half), min(1.0, centre + half)


def metrics(preds: pd.DataFrame, examples: pd.DataFrame, seconds: float, info: dict) -> dict:
    """Accuracy with its 95% interval, chance level, unparsed share, and how the answers were made."""
    n = len(preds)
    k = int(preds["correct"].sum()) if n else 0
    lo, hi = wilson(k, n)
    task = examples["task"].iloc[0] if len(examples) else "nli"
    unparsed = int((~preds["parsed"].astype(bool)).sum()) if n else 0
    cut = int(preds["truncated"].astype(bool).sum()) if n and "truncated" in preds else 0
    return {"task": task, "accuracy": k / n if n else 0.0, "ci_low": lo, "ci_high": hi, "n": n, "correct": k,
            "chance": chance_level(task, [len(c) for c in examples["choices"]]),
            "unparsed": unparsed, "unparsed_share": unparsed / n if n else 0.0, "truncated": cut,
            "empty": int((preds["output"].str.strip() == "").sum()) if n else 0,
            "seconds": round(seconds, 2), "examples_per_second": round(n / max(seconds, 1e-9), 2), **info}


def check(dataset: str, split_metrics: dict[str, dict], max_unparsed: float, accept: bool) -> dict:
    """Raise :class:`TeacherNotAnswering` (unless ``accept``) when on any split the teacher's
    accuracy is not above chance or more than ``max_unparsed`` of its answers did not parse."""
    problems = []
    for split, m in sorted(split_metrics.items()):
        seen = (f"{split}: accuracy {100 * m['accuracy']:.1f}% (95% CI {100 * m['ci_low']:.1f}-"
                f"{100 * m['ci_high']:.1f}%, n={m['n']}), chance {100 * m['chance']:.1f}%, "
                f"unparsed {100 * m['unparsed_share']:.1f}% ({m.get('empty', 0)} empty answers)")
        if m["n"] and m["accuracy"] <= m["chance"]:
            problems.append(seen + " -- not above chance")
        elif m["unparsed_share"] > max_unparsed:
            problems.append(seen + f" -- more than {100 * max_unparsed:.0f}% unparsed")
    verdict = {"dataset": dataset, "ok": not problems, "accepted": bool(problems) and accept,
               "problems": problems, "max_unparsed": max_unparsed}
    if problems and not accept:
        mode = next(iter(split_metrics.values()), {}).get("answer", "?")
        raise TeacherNotAnswering(
            f"the teacher is not answering on {dataset!r}, so attributing its answers would explain guesses:\n  "
            + "\n  ".join(problems)
            + f"\n(answers: {mode}). Try: teacher.chat: on (an instruct model needs its chat template); "
              "teacher.answer: rank (nli, mc: answers ranked over the label space); teacher.format: cloze "
              "(what small models answer best); teacher.shots: 3; teacher.finetune (train it on the labels "
              f"first); a larger teacher. To go on anyway: teacher.accept_weak: true (or [{dataset}]).")
    return verdict


def table(rows: Sequence[dict]) -> pd.DataFrame:
    """``rows``: dataset, split and a metrics dict each -> the teacher table."""
    out = []
    for r in rows:
        m = r["metrics"]
        math = m.get("task", "math" if m["chance"] == 0 else None) == "math"  # (files without `task`)
        out.append({"dataset": r["dataset"], "split": r["split"], "n": m["n"],
                    "accuracy": round(100 * m["accuracy"], 2), "ci_low": round(100 * m["ci_low"], 2),
                    "ci_high": round(100 * m["ci_high"], 2), "chance": round(100 * m["chance"], 2),
                    "unparsed": round(100 * m["unparsed_share"], 2), "truncated": m.get("truncated", 0),
                    "answer": m.get("answer", ""),
                    "format": "-" if math else m.get("format", ""), "chat": m.get("chat", ""), "shots": m.get("shots", ""),
                    "examples_per_second": m.get("examples_per_second", "")})
    return pd.DataFrame(out)


def table_markdown(df: pd.DataFrame) -> str:
    lines = ["| dataset | split | n | accuracy % (95% CI) | chance % | unparsed % | truncated | answer | format | chat "
             "| shots | examples/s |", "|---|---|---:|---|---:|---:|---:|---|---|---|---:|---:|"]
    for r in df.itertuples():
        lines.append(f"| {r.dataset} | {r.split} | {r.n} | {r.accuracy:.1f} ({r.ci_low:.1f}-{r.ci_high:.1f}) | "
                     f"{r.chance:.1f} | {r.unparsed:.1f} | {r.truncated} | {r.answer} | {r.format} | {r.chat} | "
                     f"{r.shots} | {r.examples_per_second} |")
    lines += ["", "Teacher accuracy: exact match of its answer in the label space (equations by value); 95% Wilson "
              "interval; chance: uniform guessing over the label space (0 for math); unparsed: generated answers "
              "that hold no answer in the label space (never attributed); truncated: prompts longer than "
              "teacher.max_input_tokens, cut from the left (their start is lost, the answer cue kept) for "
              "answering, attribution and faithfulness alike; examples/s: answering only, model loading excluded."]
    return "\n".join(lines) + "\n"


def attributable(preds: pd.DataFrame, target: str) -> np.ndarray:
    """Rows whose answer can be attributed: the teacher's own parsed answer, or any row for the gold label."""
    if target == "label":
        return np.ones(len(preds), dtype=bool)
    return (preds["parsed"].astype(bool) & (preds["target"].str.strip() != "")).to_numpy()


def attribution_inputs(examples: pd.DataFrame, preds: pd.DataFrame, target: str
                       ) -> tuple[list[dict], list[str], list[Rendered], int]:
    """What attribution explains, from the teacher's predictions: the attributable examples, the
    exact continuations to attribute (the teacher's answer, or the gold label said as the teacher
    would say it), the exact prompts with the spans of the example's own fields, and how many
    examples were left out (no parsed answer)."""
    if list(preds["id"]) != list(examples["id"]):
        raise ValueError("the teacher's predictions do not line up with the examples (ids differ)")
    if target not in ("prediction", "label"):
        raise ValueError(f"attribution.target must be 'prediction' or 'label', got {target!r}")
    keep = np.flatnonzero(attributable(preds, target))
    skipped = len(examples) - len(keep)
    examples, preds = examples.iloc[keep], preds.iloc[keep]
    targets = list(preds["target"] if target == "prediction" else preds["label_target"])
    prompts = [Rendered(r.prompt, tuple(zip(r.span_field, (int(a) for a in r.span_start), (int(b) for b in r.span_end))))
               for r in preds.itertuples()]
    return examples.to_dict("records"), targets, prompts, skipped


# ------------------------------------------------------------------------- chain of thought

def cot_prompts(records: Sequence[dict], settings: dict, tokenizer, pool: Sequence[dict]) -> tuple[list[str], bool]:
    """The few-shot chain-of-thought prompt of each example (:mod:`akd.cot`), in the teacher's chat
    template when it answers in one; and whether it does.  ``pool``: the training rows that
    demonstrations are drawn from when ``settings["cot"]["demos"]`` does not give them."""
    from .cot import config_demos, cot_prompt, demos_from_rows, example_seed, question, usable_rows
    from .prompts import PromptError

    cot = settings.get("cot") or {}
    shots, seed = int(cot.get("shots", 3)), int(cot.get("seed", 0))
    fixed = config_demos(cot["demos"]) if cot.get("demos") else None
    usable = usable_rows(pool) if fixed is None else []
    if fixed is None and shots and not usable:
        raise PromptError("teacher.cot: no training example has an LLM rationale with the right answer to "
                          "demonstrate with; give demonstrations in teacher.cot.demos (input, rationale, answer)")
    chat = use_chat(settings.get("chat", "auto"), tokenizer,
                    " ".join(str(settings.get(k) or "") for k in ("model", "gguf_file")))
    out = []
    for r in records:
        demos = fixed if fixed is not None else demos_from_rows(pool, shots, example_seed(seed, r["id"]), r["id"], usable)
        text = cot_prompt(r["task"], question(r), demos)
        if chat:
            text = tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                                 add_generation_prompt=True)
        out.append(text)
    return out, chat


def chains_of_thought(model, tokenizer, records: Sequence[dict], settings: dict, pool: Sequence[dict],
                      show_progress: bool = True) -> tuple[pd.DataFrame, float]:
    """The teacher's chain of thought on each example, generated and read back (COT rows), and
    the seconds generation took."""
    import time

    from .cot import choices_of, parse_cot
    from .generation import generate

    prompts, chat = cot_prompts(records, settings, tokenizer, pool)
    cot = settings.get("cot") or {}
    t0 = time.time()
    outputs = generate(model, tokenizer, prompts, int(settings.get("batch_size", 16)),
                       int(cot.get("max_new_tokens", 128)), int(settings.get("max_input_tokens", 2048)),
                       desc="chain of thought", show_progress=show_progress, add_special_tokens=not chat, raw=True,
                       truncation="left")
    seconds = time.time() - t0
    read = [parse_cot(r["task"], o, choices_of(r)) for r, o in zip(records, outputs)]
    rows = pd.DataFrame({
        "id": [r["id"] for r in records], "prompt": prompts, "output": outputs,
        "rationale": [rat if ans is not None else "" for rat, ans in read],
        "answer": [ans or "" for _, ans in read], "parsed": [ans is not None for _, ans in read],
        "correct": [ans is not None and is_correct(r["task"], ans, r["label"]) for r, (_, ans) in zip(records, read)],
    })
    return rows, seconds


def cot_metrics(rows: pd.DataFrame, seconds: float) -> dict:
    """How often the chain of thought ended in an answer, and how often a right one."""
    n = len(rows)
    parsed = int(rows["parsed"].sum()) if n else 0
    words = rows.loc[rows["parsed"], "rationale"].str.split().str.len() if n else pd.Series(dtype=float)
    usable = int((rows["parsed"] & (rows["rationale"] != "")).sum()) if n else 0
    return {"n": n, "parsed": parsed, "unparsed_share": (n - parsed) / n if n else 0.0, "with_rationale": usable,
            "accuracy": float(rows["correct"].mean()) if n else 0.0,
            "rationale_words_mean": float(words.mean()) if len(words) else 0.0,
            "seconds": round(seconds, 2), "examples_per_second": round(n / max(seconds, 1e-9), 2)}
