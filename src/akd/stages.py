"""Every workflow stage as one function of (input paths, output paths, plain settings).

The Snakemake scripts call these and nothing else; they can be called from Python directly too.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from . import io, schemas
from .prepare import prepare as _prepare
from .prepare import read_examples
from .tasks import fields_dict, is_correct, render

log = logging.getLogger("akd")


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def _load(model: str, device: str = "auto", trust_remote_code: bool = False, gguf_file: str | None = None):
    from .models import load_model, resolve_device

    _quiet_transformers()
    return load_model(model, resolve_device(device), trust_remote_code, gguf_file)


def _load_teacher(model: str, settings: dict):
    return _load(model, settings.get("device", "auto"), bool(settings.get("trust_remote_code", False)),
                 settings.get("gguf_file"))


# ----------------------------------------------------------------------------------- prepare

def prepare(dataset: dict, outputs: dict[str, str]) -> dict[str, int]:
    counts = _prepare(dataset, outputs)
    log.info("prepared %s", counts)
    return counts


# ------------------------------------------------------------------------------ tiny models

def build_model(preset: str, train_examples: str, out_dir: str, seed: int = 0) -> None:
    """A ``tiny:`` preset: tokenizer trained on the train split's text, random small T5."""
    from .models import build_tiny

    _quiet_transformers()
    df = read_examples(train_examples)
    texts: list[str] = []
    for row in df.itertuples():
        fields = fields_dict(row.fields)
        texts += [row.input, render(row.task, fields, "prompt").text, row.label]
        if isinstance(row.llm_rationale, str):
            texts.append(row.llm_rationale)
    texts.append("predict: explain: entailment neutral contradiction")
    with io.atomic_dir(out_dir) as tmp:
        build_tiny(preset.removeprefix("tiny:"), texts, tmp, seed)


# ---------------------------------------------------------------------------------- teacher

def _teacher_tokenizer(model: str, settings: dict):
    from .models import load_tokenizer

    _quiet_transformers()
    return load_tokenizer(model, bool(settings.get("trust_remote_code", False)), settings.get("gguf_file"))


def _is_decoder_only(model: str, settings: dict) -> bool:
    from transformers import AutoConfig

    kwargs = {"gguf_file": settings["gguf_file"]} if settings.get("gguf_file") else {}
    return not AutoConfig.from_pretrained(model, trust_remote_code=bool(settings.get("trust_remote_code", False)),
                                          **kwargs).is_encoder_decoder


def teacher_prompts(model: str, examples: pd.DataFrame, settings: dict, train_examples: str | None = None):
    """The teacher's prompts for a split (:class:`akd.teacher.Prompts`); demonstrations come from
    ``train_examples`` when ``settings["shots"]`` asks for them."""
    from .teacher import prompts_for

    pool = read_examples(train_examples).to_dict("records") if train_examples and settings.get("shots") else []
    return prompts_for(examples.to_dict("records"), settings, _teacher_tokenizer(model, settings),
                       _is_decoder_only(model, settings), pool)


def finetune_teacher(model: str, train_examples: str, valid_examples: str, out_dir: str, settings: dict) -> dict:
    """Fine-tune the teacher on labels, said as its prompts would have it say them, before it teaches."""
    from .models import set_threads
    from .training import Example, TrainConfig, discard_state, train

    set_threads(settings.get("threads"))
    m, tok = _load(model, settings.get("device", "auto"))
    tr, va = read_examples(train_examples), read_examples(valid_examples)
    task = tr["task"].iloc[0]
    rows = [Example(q.text, q.gold) for q in teacher_prompts(model, tr, settings, train_examples).prompts]
    vrows = [Example(q.text, q.gold) for q in teacher_prompts(model, va, settings, train_examples).prompts]
    state_dir = Path(out_dir).parent / "finetune_state"
    result = train(m, tok, rows, vrows, task, TrainConfig.from_dict(settings["train"]), multitask=False,
                   log=log.info, state_dir=state_dir)
    with io.atomic_dir(out_dir) as tmp:
        m.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        io.write_json({"history": result.history, "best_step": result.best_step,
                       "best_valid_accuracy": result.best_accuracy, "seconds": result.seconds}, Path(tmp) / "train.json")
    discard_state(state_dir)
    return {"best_valid_accuracy": result.best_accuracy}


def _shard_rows(lengths: Sequence[int], batch_size: int, shard: tuple[int, int]) -> list[int]:
    """The rows of one shard of a split, cut along the length-sorted batches one job would run."""
    from .generation import shard_rows

    keep = shard_rows(lengths, batch_size, *shard)
    log.info("shard %d of %d: %d of %d examples", shard[0] + 1, shard[1], len(keep), len(lengths))
    return keep


def _answer_info(settings: dict, p) -> dict:
    fmt = "-" if p.task == "math" else (p.settings.format if p.settings.template == "prompt" else "dss")
    return {"answer": p.mode, "format": fmt, "chat": p.settings.chat, "shots": p.settings.shots,
            "normalise": p.settings.normalise if p.mode == "rank" else None}


def teacher_predict(model: str, examples: str, out: str, metrics_out: str | None, settings: dict,
                    shard: tuple[int, int] | None = None, train_examples: str | None = None) -> dict:
    """The teacher's answers: ranked over the label space, or generated and parsed.  ``shard=(i, n)``:
    only the i-th of n shards (cut along the batches a single job would run, so merged shards equal
    one job's output), no metrics file.  ``train_examples``: where demonstrations come from."""
    from .models import set_threads
    from .teacher import answer, metrics

    set_threads(settings.get("threads"))
    df = read_examples(examples)
    p = teacher_prompts(model, df, settings, train_examples)
    batch_size = int(settings.get("batch_size", 32))
    if shard is not None:
        keep = _shard_rows([len(q.text) for q in p.prompts], batch_size, shard)
        df, p.prompts = df.iloc[keep].reset_index(drop=True), [p.prompts[i] for i in keep]
    info = _answer_info(settings, p)
    t0 = time.time()
    out_df = pd.DataFrame(columns=schemas.PREDICTIONS.names)
    if len(df):  # an empty shard (more shards than batches) does not load the model
        m, tok = _load_teacher(model, settings)
        out_df = answer(m, tok, df.to_dict("records"), p, batch_size, int(settings.get("max_new_tokens", 64)),
                        int(settings.get("max_input_tokens", 1024)))
    seconds = time.time() - t0
    io.write_parquet(out_df, out, schemas.PREDICTIONS,
                     {"model": model, "settings": settings, "seconds": round(seconds, 2), "info": info})
    result = metrics(out_df, df, seconds, info)
    if metrics_out is not None:
        io.write_json(result, metrics_out)
    log.info("teacher (%s) accuracy %.4f on %d examples (95%% CI %.3f-%.3f, chance %.3f); %d unparsed, %d empty",
             info["answer"], result["accuracy"], result["n"], result["ci_low"], result["ci_high"], result["chance"],
             result["unparsed"], result["empty"])
    return result


def teacher_check(dataset: str, split_metrics: dict[str, str], out: str, max_unparsed: float, accept: bool) -> dict:
    """Stop before attribution when the teacher is not answering (see :func:`akd.teacher.check`)."""
    from .teacher import check

    verdict = check(dataset, {s: json.loads(Path(p).read_text()) for s, p in split_metrics.items()},
                    float(max_unparsed), bool(accept))
    for problem in verdict["problems"]:
        log.warning("accepted by the config: %s", problem)
    io.write_json(verdict, out)
    return verdict


def teacher_table(items: Sequence[dict], csv_out: str, md_out: str) -> pd.DataFrame:
    """``items``: dataset, split, metrics (path) -> per dataset and split, the teacher's answers."""
    from .teacher import table, table_markdown

    df = table([{**it, "metrics": json.loads(Path(it["metrics"]).read_text())} for it in items])
    io.write_text(df.to_csv(index=False), csv_out)
    io.write_text(table_markdown(df), md_out)
    return df


def attribute(model: str, examples: str, predictions: str, out: str, settings: dict,
              shard: tuple[int, int] | None = None) -> None:
    """Word scores for one method; ``settings`` holds the attribution slice plus the teacher's.
    ``shard=(i, n)``: only the i-th of n shards, cut along the single job's batches."""
    from .attribution import Settings
    from .attribution import attribute as run_attribution
    from .models import set_threads

    set_threads(settings.get("threads"))
    df = read_examples(examples)
    preds = io.read_parquet(predictions, schemas.PREDICTIONS)
    if list(preds["id"]) != list(df["id"]):
        raise ValueError(f"{predictions} does not line up with {examples} (ids differ)")
    target = settings.get("target", "prediction")
    if target not in ("prediction", "label"):
        raise ValueError(f"attribution.target must be 'prediction' or 'label', got {target!r}")
    from .tasks import Rendered
    from .teacher import attributable

    keep = np.flatnonzero(attributable(preds, target))
    skipped = len(df) - len(keep)
    if skipped:
        log.info("%d of %d examples have no parsed teacher answer: not attributed", skipped, len(df))
    df, preds = df.iloc[keep].reset_index(drop=True), preds.iloc[keep].reset_index(drop=True)
    targets = list(preds["target"] if target == "prediction" else preds["label_target"])
    prompts = [Rendered(r.prompt, tuple(zip(r.span_field, (int(a) for a in r.span_start), (int(b) for b in r.span_end))))
               for r in preds.itertuples()]
    chat = bool((io.parquet_metadata(predictions).get("info") or {}).get("chat", False))
    method_settings = Settings(
        method=settings["method"], reduce=settings.get("reduce", "l2"), aggregate=settings.get("aggregate", "sum"),
        n_steps=int(settings.get("n_steps", 32)), batch_size=int(settings.get("batch_size", 16)),
        max_input_tokens=int(settings.get("max_input_tokens", 1024)),
    )
    records = df.to_dict("records")
    if shard is not None:
        keep = _shard_rows([len(p.text) for p in prompts], method_settings.batch_size, shard)
        records, targets, prompts = [records[i] for i in keep], [targets[i] for i in keep], [prompts[i] for i in keep]
    checkpoint = Checkpoint(out, {"model": model, "model_files": _model_signature(model),
                                  "settings": {k: v for k, v in settings.items() if k != "threads"},
                                  "shard": shard, "examples": _digest(examples), "predictions": _digest(predictions),
                                  "targets": targets})
    done = checkpoint.load()
    if done:
        log.info("resuming: %d of %d examples were done before the job stopped", len(done), len(records))
    t0 = time.time()
    rows = []
    if records:  # an empty shard does not load the model
        m, tok = _load_teacher(model, settings)
        rows = run_attribution(m, tok, records, targets, method_settings, done=done, on_batch=checkpoint.maybe_save,
                               prompts=prompts, add_special_tokens=not chat)
    meta = {"model": model, "settings": settings, "seconds": round(time.time() - t0 + checkpoint.seconds_before, 2),
            "resumed_examples": len(done), "not_attributed": skipped}
    io.write_parquet(pd.DataFrame(rows, columns=schemas.ATTRIBUTIONS.names), out, schemas.ATTRIBUTIONS, meta)
    checkpoint.discard()


def _digest(path: str) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _model_signature(model: str) -> list:
    """Names, sizes and times of a model folder's files (a retrained model in the same folder
    differs); a hub name stands for itself."""
    folder = Path(model)
    if not folder.is_dir():
        return [model]
    return sorted((str(f.relative_to(folder)), f.stat().st_size, int(f.stat().st_mtime))
                  for f in folder.rglob("*") if f.is_file())


class Checkpoint:
    """Rows of a long attribution job saved beside its output (``<out>.partial``, not an output, so
    Snakemake leaves it alone), so that a job killed mid-way resumes where it was.  Saved at most
    every ``AKD_CHECKPOINT_SECONDS`` (default 120) seconds, atomically; used only when the model,
    settings, shard, examples and targets are the same (a fingerprint says so)."""

    SCHEMA = schemas.ATTRIBUTIONS.append(pa.field("position", pa.int64()))

    def __init__(self, out: str, what: dict):
        import hashlib
        import os

        self.path = Path(str(out) + ".partial")
        self.fingerprint = hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]
        every = os.environ.get("AKD_CHECKPOINT_SECONDS", "120")
        try:
            self.every = float(every)
        except ValueError:
            raise ValueError(f"AKD_CHECKPOINT_SECONDS must be a number of seconds, got {every!r}") from None
        self.last = time.time()
        self.seconds_before = 0.0
        self.started = time.time()

    def load(self) -> dict[int, dict]:
        if not self.path.exists():
            return {}
        meta = io.parquet_metadata(self.path)
        if meta.get("fingerprint") != self.fingerprint:
            log.info("%s belongs to other settings or data: starting over", self.path)
            return {}
        df = io.read_parquet(self.path, self.SCHEMA)
        self.seconds_before = float(meta.get("seconds", 0.0))
        return {int(r.pop("position")): r for r in df.to_dict("records")}

    def maybe_save(self, rows: dict[int, dict]) -> None:
        if time.time() - self.last < self.every:
            return
        df = pd.DataFrame([dict(r, position=i) for i, r in rows.items()], columns=self.SCHEMA.names)
        io.write_parquet(df, self.path, self.SCHEMA, {"fingerprint": self.fingerprint,
                                                      "seconds": self.seconds_before + time.time() - self.started})
        self.last = time.time()

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def merge_shards(shards: Sequence[str], examples: str, out: str, schema, metrics_out: str | None = None,
                 predictions: str | None = None, target: str = "prediction") -> None:
    """Concatenate shard tables back into the split's example order; every example exactly once
    (for attributions, given the teacher's ``predictions``: every attributable example)."""
    from .teacher import attributable, metrics

    parts = [io.read_parquet(p, schema) for p in shards]
    merged = pd.concat(parts, ignore_index=True)
    ex = read_examples(examples)
    ids = list(ex["id"])
    if predictions is not None:
        preds = io.read_parquet(predictions, schemas.PREDICTIONS)
        ids = list(preds["id"][attributable(preds, target)])
    got = list(merged["id"])
    if sorted(got) != sorted(ids):
        missing, extra = set(ids) - set(got), set(got) - set(ids)
        raise ValueError(f"shards {list(shards)} do not cover {examples} exactly once: "
                         f"{len(missing)} missing, {len(extra)} unknown, {len(got) - len(set(got))} repeated")
    merged = merged.set_index("id").loc[ids].reset_index()
    metas = [io.parquet_metadata(p) for p in shards]
    seconds = sum(float(m.get("seconds", 0.0)) for m in metas)
    meta = dict(metas[0]) if metas else {}
    meta.update(seconds=round(seconds, 2), shards=len(shards))
    for key in ("resumed_examples", "not_attributed"):
        if any(key in m for m in metas):
            meta[key] = sum(int(m.get(key, 0)) for m in metas)
    io.write_parquet(merged, out, schema, meta)
    if metrics_out is not None:
        io.write_json(metrics(merged, ex, seconds, meta.get("info") or {}), metrics_out)
    log.info("merged %d shards: %d examples", len(shards), len(merged))


def attribution_html(examples: str, attributions: str, out: str, k: int, title: str, n: int = 25) -> None:
    from .visual import attribution_page

    page = attribution_page(read_examples(examples), io.read_parquet(attributions, schemas.ATTRIBUTIONS), int(k),
                            title, n)
    io.write_text(page, out)


# ------------------------------------------------------------------------------- rationales

def rationales(attributions: str, out: str, k: int, exclude_punctuation: bool = True,
               exclude_stopwords: bool = False) -> None:
    from .rationales import rationale_rows

    df = io.read_parquet(attributions, schemas.ATTRIBUTIONS)
    rows = rationale_rows(df.to_dict("records"), int(k), exclude_punctuation, exclude_stopwords)
    meta = {"k": int(k), "exclude_punctuation": exclude_punctuation, "exclude_stopwords": exclude_stopwords}
    io.write_parquet(pd.DataFrame(rows, columns=schemas.RATIONALES.names), out, schemas.RATIONALES, meta)


def control_rationales(attributions: str, examples: str, out: str, control: str, k: int, seed: int = 0,
                       exclude_punctuation: bool = True, exclude_stopwords: bool = False) -> None:
    """``random``: k random words of the same input; ``masked``: top-k without gold-answer words."""
    from .rationales import masked_rows, random_rows

    rows = io.read_parquet(attributions, schemas.ATTRIBUTIONS).to_dict("records")
    if control == "random":
        out_rows = random_rows(rows, int(k), int(seed), exclude_punctuation, exclude_stopwords)
    elif control == "masked":
        labels = dict(zip(*read_examples(examples)[["id", "label"]].T.values))
        out_rows = masked_rows(rows, labels, int(k), exclude_punctuation, exclude_stopwords)
    else:
        raise ValueError(f"unknown control {control!r}; expected random or masked")
    meta = {"control": control, "k": int(k), "seed": int(seed), "source": attributions}
    io.write_parquet(pd.DataFrame(out_rows, columns=schemas.RATIONALES.names), out, schemas.RATIONALES, meta)


def answer_overlap(items: Sequence[dict], ks: Sequence[int], csv_out: str, md_out: str,
                   exclude_punctuation: bool = True, exclude_stopwords: bool = False, seed: int = 0) -> pd.DataFrame:
    """``items``: dataset, method, attributions, examples.  How often top-k words are part of the gold
    answer, beside baselines drawn at random from the same inputs (once per dataset, on the rows of
    its first method)."""
    from .rationales import BASELINES
    from .rationales import answer_overlap as overlap

    rows, done = [], set()
    flags = (exclude_punctuation, exclude_stopwords)
    for it in items:
        attr = io.read_parquet(it["attributions"], schemas.ATTRIBUTIONS).to_dict("records")
        ex = read_examples(it["examples"])
        labels = dict(zip(ex["id"], ex["label"]))
        for r in overlap(attr, labels, ks, *flags):
            rows.append({"dataset": it["dataset"], "method": it["method"], **r})
        if it["dataset"] in done:
            continue
        done.add(it["dataset"])
        task = ex["task"].iloc[0] if len(ex) else None
        has_choices = any(str(f).startswith("choice") for r in attr for f in r["word_field"])
        for name, only in BASELINES.items():
            if name == "random choice words" and not has_choices:
                continue  # the cloze form: the choices are not in the attributed prompt
            if only is None or only == task:
                for r in overlap(attr, labels, ks, *flags, baseline=name, seed=seed):
                    rows.append({"dataset": it["dataset"], "method": f"{name} (baseline)", **r})
    table = pd.DataFrame(rows, columns=["dataset", "method", "k", "examples_with_answer_word", "topk_words_in_answer",
                                        "n"])
    table = table.sort_values(["dataset", "k"], kind="stable").reset_index(drop=True)
    io.write_text(table.round(4).to_csv(index=False), csv_out)
    lines = ["| dataset | method | k | examples with an answer word | top-k words in the answer | n |", "|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.dataset} | {r.method} | {r.k} | {100 * r.examples_with_answer_word:.1f}% | "
                     f"{100 * r.topk_words_in_answer:.1f}% | {r.n} |")
    lines += ["", "Training examples whose teacher answer was attributed; a word is part of the answer when it equals "
              "one of the gold label's words (case-insensitive; numbers by value). Baselines: k distinct words drawn "
              "at random (seeded per example) from the same input, from the choices' words (multiple choice), or "
              "from the input's numbers (math)."]
    io.write_text("\n".join(lines) + "\n", md_out)
    return table


# ---------------------------------------------------------------------------------- student

def student_examples(train_examples: str, variant: str, rationale_file: str | None):
    from .training import Example

    df = read_examples(train_examples)
    if variant == "standard":
        return df, [Example(i, l) for i, l in zip(df["input"], df["label"])], False
    if variant == "llm":
        r = df["llm_rationale"]
        if r.isna().all():
            raise ValueError(f"{train_examples}: variant 'llm' needs LLM rationales, and this dataset has none")
        return df, [Example(i, l, x if isinstance(x, str) else "") for i, l, x in zip(df["input"], df["label"], r)], True
    if rationale_file is None:
        raise ValueError(f"variant {variant!r} needs a rationale file")
    rat = io.read_parquet(rationale_file, schemas.RATIONALES).set_index("id")
    unknown = set(rat.index) - set(df["id"])
    if unknown:
        raise ValueError(f"{rationale_file}: rationales for {len(unknown)} examples that are not in {train_examples}, "
                         f"e.g. {sorted(unknown)[0]!r}")
    missing = len(df) - len(rat)
    if missing == len(df) and len(df):
        log.warning("no training example has a rationale (the teacher answered none): this student learns the "
                    "label task only")
    elif missing:  # the teacher gave no parsed answer for these: they train the label task only
        log.info("%d of %d training examples have no rationale (no parsed teacher answer): label task only",
                 missing, len(df))
    rationale = rat["rationale"].to_dict()
    return df, [Example(i, l, rationale.get(x)) for i, l, x in zip(df["input"], df["label"], df["id"])], True


def train_student(model: str, train_examples: str, valid_examples: str, rationale_file: str | None, out_dir: str,
                  variant: str, settings: dict) -> dict:
    from .models import set_threads
    from .training import Example, TrainConfig, discard_state, seed_everything, train

    set_threads(settings.get("threads"))
    cfg = TrainConfig.from_dict({**settings["train"], "seed": int(settings["seed"])})
    df, rows, multitask = student_examples(train_examples, variant, rationale_file)
    va = read_examples(valid_examples)
    vrows = [Example(i, l) for i, l in zip(va["input"], va["label"])]
    seed_everything(cfg.seed)
    m, tok = _load(model, settings.get("device", "auto"))
    state_dir = Path(out_dir).parent / "train_state"  # outside the declared output: survives a killed job
    result = train(m, tok, rows, vrows, df["task"].iloc[0], cfg, multitask=multitask, log=log.info,
                   state_dir=state_dir)
    with io.atomic_dir(out_dir) as tmp:
        m.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        io.write_json({"variant": variant, "multitask": multitask, "history": result.history,
                       "best_step": result.best_step, "best_valid_accuracy": result.best_accuracy,
                       "seconds": round(result.seconds, 2), "resumed_from_step": result.resumed_from,
                       "tokens": result.tokens, "settings": settings}, Path(tmp) / "train.json")
    discard_state(state_dir)
    return {"best_valid_accuracy": result.best_accuracy}


def evaluate(model_dir: str, examples: str, out: str, metrics_out: str, settings: dict,
             teacher_attributions: str | None = None) -> dict:
    """Test accuracy; with the teacher's test attributions, also the overlap of top-k words.

    ``settings["similarity"]`` (method, k, n, ...): the student is attributed with the same method
    for its own answer on the first n test examples, and the Jaccard index between its top-k word
    positions and the teacher's is averaged.
    """
    from .generation import generate
    from .models import set_threads
    from .tasks import PREFIX_LABEL

    set_threads(settings.get("threads"))
    m, tok = _load(model_dir, settings.get("device", "auto"))
    info = json.loads((Path(model_dir) / "train.json").read_text())
    prefix = PREFIX_LABEL if info.get("multitask") else ""
    df = read_examples(examples)
    preds = generate(m, tok, [prefix + x for x in df["input"]], int(settings.get("batch_size", 64)),
                     int(settings.get("max_new_tokens", 64)), int(settings.get("max_input_tokens", 1024)), desc="evaluate")
    correct = [is_correct(t, p, l) for t, p, l in zip(df["task"], preds, df["label"])]
    io.write_parquet(pd.DataFrame({"id": df["id"], "label": df["label"], "prediction": preds, "correct": correct}),
                     out, schemas.EVAL_PREDICTIONS, {"model": model_dir})
    metrics = {"accuracy": float(np.mean(correct)), "n": len(df), "best_step": info["best_step"],
               "best_valid_accuracy": info["best_valid_accuracy"]}
    sim = settings.get("similarity")
    if teacher_attributions and sim:
        metrics.update(topk_similarity(m, tok, df, preds, teacher_attributions, prefix, sim))
    io.write_json(metrics, metrics_out)
    return metrics


def topk_similarity(model, tok, df: pd.DataFrame, preds: list[str], teacher_attributions: str, prefix: str,
                    sim: dict) -> dict:
    from .attribution import Settings
    from .attribution import attribute as run_attribution
    from .rationales import top_k

    teacher = io.read_parquet(teacher_attributions, schemas.ATTRIBUTIONS).set_index("id")
    n = min(int(sim.get("n", 200)), len(df))
    sub = df.iloc[:n]
    k = int(sim["k"])
    s = Settings(method=sim["method"], reduce=sim.get("reduce", "l2"), aggregate=sim.get("aggregate", "sum"),
                 n_steps=int(sim.get("n_steps", 32)), batch_size=int(sim.get("batch_size", 16)), template="dss",
                 prefix=prefix)
    rows = run_attribution(model, tok, sub.to_dict("records"), preds[:n], s, show_progress=False)
    scores = []
    flags = (bool(sim.get("exclude_punctuation", True)), bool(sim.get("exclude_stopwords", False)))
    for r in rows:
        if r["id"] not in teacher.index:  # the teacher's answer did not parse: nothing to compare with
            continue
        t = teacher.loc[r["id"]]
        mine = {(r["word_field"][j], r["word_start"][j]) for j in top_k(r["words"], r["scores"], k, *flags)}
        theirs = {(t["word_field"][j], t["word_start"][j])
                  for j in top_k(list(t["words"]), list(t["scores"]), k, *flags)}
        scores.append(len(mine & theirs) / max(1, len(mine | theirs)))
    return {"topk_jaccard": float(np.mean(scores)) if scores else float("nan"), "similarity_k": k,
            "similarity_n": n, "similarity_method": sim["method"]}


# -------------------------------------------------------------------------------- aggregate

def aggregate(runs: Sequence[dict], teacher: Sequence[dict], csv_out: str, md_out: str, plot_out: str,
              k_plot_out: str | None = None, similarity_out: str | None = None,
              references: dict | None = None) -> pd.DataFrame:
    """``runs``: dicts with dataset, variant, seed, predictions (path); ``teacher``: dataset, metrics
    (path) and optionally predictions (the teacher's test predictions, for agreement).

    Accuracy is recomputed from each run's saved predictions, not copied from its metrics file.
    """
    from .report import accuracy_table, accuracy_vs_k, bar_chart, to_markdown

    from .tasks import normalise

    rows = []
    teacher_preds = {t["dataset"]: io.read_parquet(t["predictions"], schemas.PREDICTIONS).set_index("id")
                     for t in teacher if t.get("predictions")}
    for r in runs:
        p = io.read_parquet(r["predictions"], schemas.EVAL_PREDICTIONS)
        row = {"dataset": r["dataset"], "variant": r["variant"], "seed": int(r["seed"]),
               "accuracy": 100.0 * float(p["correct"].mean())}
        if r.get("metrics") and Path(r["metrics"]).exists():
            jac = json.loads(Path(r["metrics"]).read_text()).get("topk_jaccard")
            if jac is not None:
                row["topk_jaccard"] = 100.0 * jac
        if r["dataset"] in teacher_preds:  # teacher-student agreement on the test split
            tp = teacher_preds[r["dataset"]]["prediction"].reindex(p["id"]).fillna("")
            row["agreement"] = 100.0 * float(np.mean([normalise(a) == normalise(b) for a, b in zip(p["prediction"], tp)]))
        rows.append(row)
    per_run = pd.DataFrame(rows)
    if similarity_out and "agreement" in per_run:
        g = per_run.groupby(["dataset", "variant"])["agreement"]
        sim = pd.DataFrame({"agreement_mean": g.mean(), "agreement_std": g.std(ddof=1).fillna(0.0)})
        if "topk_jaccard" in per_run:
            j = per_run.groupby(["dataset", "variant"])["topk_jaccard"]
            sim["topk_jaccard_mean"], sim["topk_jaccard_std"] = j.mean(), j.std(ddof=1).fillna(0.0)
        sim = sim.reset_index()
        io.write_text(sim.round(2).to_csv(index=False), similarity_out)
    teach = {t["dataset"]: 100.0 * json.loads(Path(t["metrics"]).read_text())["accuracy"] for t in teacher}
    table = accuracy_table(per_run, teach)
    Path(csv_out).parent.mkdir(parents=True, exist_ok=True)
    io.write_text(table.to_csv(index=False), csv_out)
    io.write_text(to_markdown(table, references), md_out)
    bar_chart(per_run, teach, plot_out)
    if k_plot_out:
        accuracy_vs_k(per_run, k_plot_out)
    return table
