"""Every workflow stage as one function of (input paths, output paths, plain settings): it reads its
inputs, calls the module whose subject the stage is, and writes its outputs.

The Snakemake scripts call these and nothing else; they can be called from Python directly too.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Sequence

import pandas as pd

from . import io, schemas
from .prepare import read_examples

log = logging.getLogger("akd")


# ----------------------------------------------------------------------------------- prepare

def prepare(dataset: dict, outputs: dict[str, str]) -> dict[str, int]:
    """A dataset source (DSS release, hub, file, synthetic) -> one example table per split."""
    from .prepare import write_splits

    counts = write_splits(dataset, outputs)
    log.info("prepared %s", counts)
    return counts


def human_rationales(dataset: dict, out: str) -> int:
    """The people's rationales of a dataset's training examples (those that have one)."""
    from .prepare import load_splits

    rows = [(e["id"], e["human_rationale"]) for e in load_splits(dataset)["train"] if e.get("human_rationale")]
    io.write_parquet(pd.DataFrame(rows, columns=["id", "rationale"]), out, schemas.HUMAN_RATIONALES)
    log.info("%d training examples have a human rationale", len(rows))
    return len(rows)


def build_model(preset: str, train_examples: str, out_dir: str, seed: int = 0) -> None:
    """A ``tiny:`` preset: tokenizer trained on the train split's text, random small model."""
    from .models import build_tiny, quiet_transformers
    from .tasks import tokenizer_corpus

    quiet_transformers()
    texts = tokenizer_corpus(read_examples(train_examples).to_dict("records"))
    with io.atomic_dir(out_dir) as tmp:
        build_tiny(preset.removeprefix("tiny:"), texts, tmp, seed)


def shrink_model(settings: dict, out_dir: str) -> None:
    """A smaller copy of a pretrained model (``settings["model"]``, loaded as a teacher job would)
    that keeps the layers ``settings["shrink"]`` chooses; saved with its tokenizer."""
    from .models import load_for
    from .shrink import chosen_layers, describe, shrink

    model, tok = load_for(settings["model"], {**settings, "device": "cpu"})
    small = shrink(model, settings["shrink"])
    log.info("kept %s (%.1fM of %.1fM parameters)", describe(chosen_layers(model.config, settings["shrink"])),
             sum(p.numel() for p in small.parameters()) / 1e6, sum(p.numel() for p in model.parameters()) / 1e6)
    with io.atomic_dir(out_dir) as tmp:
        small.save_pretrained(tmp)
        tok.save_pretrained(tmp)


# ---------------------------------------------------------------------------------- teacher

def teacher_prompts(model: str, examples: pd.DataFrame, settings: dict, train_examples: str | None = None):
    """The teacher's prompts for a split (:class:`akd.teacher.Prompts`); demonstrations come from
    ``train_examples`` when ``settings["shots"]`` asks for them."""
    from .models import is_decoder_only, tokenizer_for
    from .teacher import prompts_for

    pool = read_examples(train_examples).to_dict("records") if train_examples and settings.get("shots") else []
    return prompts_for(examples.to_dict("records"), settings, tokenizer_for(model, settings),
                       is_decoder_only(model, settings), pool)


def finetune_teacher(model: str, train_examples: str, valid_examples: str, out_dir: str, settings: dict) -> dict:
    """Fine-tune the teacher on labels, said as its prompts would have it say them, before it teaches."""
    from .models import load_for, set_threads
    from .training import Example, TrainConfig, result_info, save_trained, train

    set_threads(settings.get("threads"))
    train_df, valid_df = read_examples(train_examples), read_examples(valid_examples)
    prompts = teacher_prompts(model, train_df, settings, train_examples).prompts
    rows = [Example(q.text, q.gold) for q in prompts]
    valid_rows = [Example(q.text, q.gold) for q in teacher_prompts(model, valid_df, settings, train_examples).prompts]
    m, tok = load_for(model, settings)
    state_dir = Path(out_dir).parent / "finetune_state"
    # the prompt cut as the teacher's answers cut it: its last teacher.max_input_tokens tokens
    cfg = TrainConfig.from_dict({**settings["train"], "truncation": "left",
                                 "max_input_tokens": int(settings.get("max_input_tokens", 1024))})
    result = train(m, tok, rows, valid_rows, train_df["task"].iloc[0], cfg, multitask=False, log=log.info,
                   state_dir=state_dir, say=prompts[0].continuation)
    save_trained(m, tok, out_dir, result_info(result), state_dir, result)
    return {"best_valid_accuracy": result.best_accuracy}


def _shard_rows(lengths: Sequence[int], batch_size: int, shard: tuple[int, int]) -> list[int]:
    """The rows of one shard of a split, cut along the length-sorted batches one job would run."""
    from .generation import shard_rows

    keep = shard_rows(lengths, batch_size, *shard)
    log.info("shard %d of %d: %d of %d examples", shard[0] + 1, shard[1], len(keep), len(lengths))
    return keep


def teacher_predict(model: str, examples: str, out: str, metrics_out: str | None, settings: dict,
                    shard: tuple[int, int] | None = None, train_examples: str | None = None) -> dict:
    """The teacher's answers: ranked over the label space, or generated and parsed.  ``shard=(i, n)``:
    only the i-th of n shards (cut along the batches a single job would run, so merged shards equal
    one job's output), no metrics file.  ``train_examples``: where demonstrations come from."""
    from .models import load_for, set_threads
    from .teacher import answer, answer_info, metrics

    set_threads(settings.get("threads"))
    df = read_examples(examples)
    p = teacher_prompts(model, df, settings, train_examples)
    batch_size = int(settings.get("batch_size", 32))
    if shard is not None:
        keep = _shard_rows([len(q.text) for q in p.prompts], batch_size, shard)
        df, p.prompts = df.iloc[keep].reset_index(drop=True), [p.prompts[i] for i in keep]
    info = answer_info(p)
    t0 = time.time()
    out_df = pd.DataFrame(columns=schemas.PREDICTIONS.names)
    if len(df):  # an empty shard (more shards than batches) does not load the model
        m, tok = load_for(model, settings)
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


def teacher_cot(model: str, examples: str, out: str, metrics_out: str | None, settings: dict,
                shard: tuple[int, int] | None = None) -> None:
    """The teacher's chain of thought on each training example (few-shot, in DSS's form), read back
    into rationale and answer (:func:`akd.teacher.chains_of_thought`); ``shard=(i, n)``: the i-th of n."""
    from .models import load_for, set_threads
    from .teacher import chains_of_thought, cot_metrics

    set_threads(settings.get("threads"))
    records = read_examples(examples).to_dict("records")
    keep = list(range(len(records)))
    if shard is not None:
        keep = _shard_rows([len(r["input"]) for r in records], int(settings.get("batch_size", 16)), shard)
    m, tok = load_for(model, settings)
    rows, seconds = chains_of_thought(m, tok, [records[i] for i in keep], settings, records)
    log.info("%d of %d chains of thought ended in an answer", int(rows["parsed"].sum()), len(rows))
    io.write_parquet(rows, out, schemas.COT, {"model": model, "settings": settings, "seconds": round(seconds, 2)})
    if metrics_out:
        io.write_json(cot_metrics(rows, seconds), metrics_out)


def teacher_logits(model: str, student_model: str, examples: str, out: str, settings: dict,
                   shard: tuple[int, int] | None = None) -> None:
    """The teacher's sparse distributions over each training example's label tokens, forced on them
    in its own prompt (:func:`akd.kd.teacher_distributions`), for the logit-distilled students;
    the label tokens are the student's (its tokenizer and target rule, ``settings["student"]``)."""
    import numpy as np

    from .kd import check_tokenizers, teacher_distributions
    from .models import is_decoder_only, load_for, set_threads, tokenizer_for
    from .progress import progress
    from .scoring import encode_prompts
    from .training import TrainConfig, label_token_ids

    set_threads(settings.get("threads"))
    df, student, kd = read_examples(examples), settings["student"], settings["kd"]
    p = teacher_prompts(model, df, settings, examples)
    tok, s_tok = tokenizer_for(model, settings), tokenizer_for(student_model, student)
    check_tokenizers(tok, s_tok, settings["model"], student["model"])  # before any weights are loaded
    targets = label_token_ids(s_tok, list(df["input"]), list(df["label"]), TrainConfig.from_dict(student["train"]),
                              is_decoder_only(student_model, student))
    enc = encode_prompts(tok, [q.text for q in p.prompts], int(settings["max_input_tokens"]), "left",
                         add_special_tokens=not p.settings.chat, scored=False)
    keep = list(range(len(df)))  # a shard: whole batches of the one job (the teacher's batches, by tokens)
    if shard is not None:
        keep = _shard_rows([len(e.ids) + len(t) for e, t in zip(enc, targets)], int(settings.get("batch_size", 32)), shard)
    df, enc, targets = df.iloc[keep].reset_index(drop=True), [enc[i] for i in keep], [targets[i] for i in keep]
    m = load_for(model, settings)[0] if len(df) else None
    t0 = time.time()
    bar = progress(len(df), "teacher logits", "ex")
    dist = teacher_distributions(m, tok, [e.ids for e in enc], targets, int(kd["top"]), float(kd["temperature"]),
                                 int(settings.get("batch_size", 32)), on_batch=bar.update) if len(df) else []
    bar.close()
    table = pd.DataFrame({"id": df["id"], **{k: [d[k] for d in dist] for k in schemas.TEACHER_LOGITS.names[1:]}})
    rest = float(np.mean([np.exp(r).mean() for r in table["rest_logprob"]])) if len(table) else 0.0
    log.info("teacher logits: %d examples, top %d; mean mass left over %.4f; %d prompts cut", len(table),
             int(kd["top"]), rest, sum(e.truncated for e in enc))
    io.write_parquet(table, out, schemas.TEACHER_LOGITS, {"model": model, "settings": settings, "mean_rest_mass": rest,
                                                          "truncated": sum(e.truncated for e in enc),
                                                          "seconds": round(time.time() - t0, 2)})


def teacher_check(dataset: str, split_metrics: dict[str, str], out: str, max_unparsed: float, accept: bool) -> dict:
    """Stop before attribution when the teacher is not answering (see :func:`akd.teacher.check`)."""
    from .teacher import check

    verdict = check(dataset, {s: json.loads(Path(p).read_text()) for s, p in split_metrics.items()},
                    float(max_unparsed), bool(accept))
    for problem in verdict["problems"]:
        log.warning("accepted by the config: %s", problem)
    io.write_json(verdict, out)
    return verdict


def teacher_table(items: Sequence[dict], csv_out: str, md_out: str, html_out: str | None = None) -> pd.DataFrame:
    """``items``: dataset, split, metrics (path) -> per dataset and split, the teacher's answers."""
    from .report import html_page
    from .teacher import table, table_markdown

    df = table([{**it, "metrics": json.loads(Path(it["metrics"]).read_text())} for it in items])
    io.write_text(df.to_csv(index=False), csv_out)
    md = table_markdown(df)
    io.write_text(md, md_out)
    if html_out:
        io.write_text(html_page("The teacher's answers", [("", df)], md.strip().split("\n")[-1]), html_out)
    return df


def attribute(model: str, examples: str, predictions: str, out: str, settings: dict,
              shard: tuple[int, int] | None = None) -> None:
    """Word scores for one method of the teacher's answers (as its predictions table has them);
    ``settings`` holds the attribution slice plus the teacher's model (``examples``: the first so
    many attributable examples only, for a method the analyses compare).  ``shard=(i, n)``: only the
    i-th of n shards, cut along the single job's batches.  Resumes from a killed job's checkpoint."""
    from . import attribution
    from .checkpoint import Checkpoint, digest, model_signature
    from .models import load_for, set_threads
    from .teacher import attribution_inputs

    set_threads(settings.get("threads"))
    preds = io.read_parquet(predictions, schemas.PREDICTIONS)
    records, targets, prompts, skipped = attribution_inputs(read_examples(examples), preds,
                                                            settings.get("target", "prediction"))
    if skipped:
        log.info("%d of %d examples have no parsed teacher answer: not attributed", skipped, len(preds))
    method = attribution.Settings.from_dict(settings)
    keep = list(range(len(records)))[:int(settings.get("examples") or len(records))]  # the analyses' first examples
    if shard is not None:
        keep = [keep[i] for i in _shard_rows([len(prompts[i].text) for i in keep], method.batch_size, shard)]
    records, targets, prompts = [records[i] for i in keep], [targets[i] for i in keep], [prompts[i] for i in keep]
    checkpoint = Checkpoint(out, {"model": model, "model_files": model_signature(model),
                                  "settings": {k: v for k, v in settings.items() if k != "threads"},
                                  "shard": shard, "examples": digest(examples), "predictions": digest(predictions),
                                  "targets": targets})
    done = checkpoint.load()
    if done:
        log.info("resuming: %d of %d examples were done before the job stopped", len(done), len(records))
    t0 = time.time()
    rows = []
    if records:  # an empty shard does not load the model
        m, tok = load_for(model, settings)
        chat = bool((io.parquet_metadata(predictions).get("info") or {}).get("chat", False))
        rows = attribution.attribute(m, tok, records, targets, method, done=done, on_batch=checkpoint.maybe_save,
                               prompts=prompts, add_special_tokens=not chat)
    meta = {"model": model, "settings": settings, "seconds": round(time.time() - t0 + checkpoint.seconds_before, 2),
            "resumed_examples": len(done), "not_attributed": skipped}
    io.write_parquet(pd.DataFrame(rows, columns=schemas.ATTRIBUTIONS.names), out, schemas.ATTRIBUTIONS, meta)
    checkpoint.discard()


def merge_shards(shards: Sequence[str], examples: str, out: str, schema, metrics_out: str | None = None,
                 predictions: str | None = None, target: str = "prediction") -> None:
    """Concatenate shard tables back into the split's example order; every example exactly once
    (for attributions, given the teacher's ``predictions``: every attributable example)."""
    from .teacher import attributable, cot_metrics, metrics

    merged = pd.concat([io.read_parquet(p, schema) for p in shards], ignore_index=True)
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
        got = cot_metrics(merged, seconds) if schema == schemas.COT else metrics(merged, ex, seconds, meta.get("info") or {})
        io.write_json(got, metrics_out)
    log.info("merged %d shards: %d examples", len(shards), len(merged))


def attribution_html(examples: str, attributions: str, out: str, k: int, title: str, n: int = 25,
                     exclude_punctuation: bool = True, exclude_stopwords: bool = False) -> None:
    """A sample of examples with words shaded by score and the top-k marked (a report page)."""
    from .visual import attribution_page

    page = attribution_page(read_examples(examples), io.read_parquet(attributions, schemas.ATTRIBUTIONS), int(k),
                            title, n, exclude_punctuation=exclude_punctuation, exclude_stopwords=exclude_stopwords)
    io.write_text(page, out)


# ------------------------------------------------------------------------------- rationales

def rationales(attributions: str, out: str, k: int, exclude_punctuation: bool = True,
               exclude_stopwords: bool = False) -> None:
    """The top-k words of each example's attribution, in input order."""
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
                   exclude_punctuation: bool = True, exclude_stopwords: bool = False, seed: int = 0,
                   html_out: str | None = None) -> pd.DataFrame:
    """How often top-k words are part of the gold answer, beside random baselines (a table)."""
    from .analyses import answer_overlap_table
    from .report import html_page, overlap_markdown

    table = answer_overlap_table(items, ks, exclude_punctuation, exclude_stopwords, seed)
    io.write_text(table.round(4).to_csv(index=False), csv_out)
    md = overlap_markdown(table)
    io.write_text(md, md_out)
    if html_out:
        io.write_text(html_page("Top-k words that are part of the gold answer", [("", table.round(4))],
                                md.strip().split("\n")[-1]), html_out)
    return table


def _answered_prompts(preds: pd.DataFrame, attributions: pd.DataFrame, ids: Sequence[str]) -> tuple[list, list, list]:
    """Per example: its prompt with the fields' spans (predictions), the continuations the teacher
    ranked and the index of the attributed answer among them."""
    from .faithfulness import answer_space
    from .tasks import Rendered

    prompts = [Rendered(preds.at[i, "prompt"], tuple(zip(preds.at[i, "span_field"], map(int, preds.at[i, "span_start"]),
                                                         map(int, preds.at[i, "span_end"])))) for i in ids]
    spaces = [answer_space(preds.loc[i].to_dict(), attributions.at[i, "target"]) for i in ids]
    return prompts, [c for c, _ in spaces], [j for _, j in spaces]


def faithfulness(model: str, predictions: str, attributions: dict[str, str], rationales: dict[str, str], k: int,
                 out: str, settings: dict) -> pd.DataFrame:
    """ERASER comprehensiveness and sufficiency (:mod:`akd.faithfulness`) of each word set in
    ``rationales`` (source name -> rationale file of the same k; ``attributions``: source name ->
    the attribution file its positions index) on the first ``settings["n"]`` training examples that
    every source has words for; the full prompts are scored once for all sources."""
    from .faithfulness import faithfulness as measure, model_scorer, probabilities
    from .models import load_for, set_threads

    set_threads(settings.get("threads"))
    preds = io.read_parquet(predictions, schemas.PREDICTIONS).set_index("id", drop=False)
    rows = {name: io.read_parquet(path, schemas.ATTRIBUTIONS).set_index("id") for name, path in attributions.items()}
    chosen = {name: io.read_parquet(path, schemas.RATIONALES).set_index("id")["positions"]
              for name, path in rationales.items()}
    first = next(iter(rows.values())) if rows else pd.DataFrame()
    ids = [i for i in first.index if all(i in t.index for t in [*chosen.values(), *rows.values()])][: int(settings["n"])]
    m, tok = load_for(model, settings)
    info = io.parquet_metadata(predictions).get("info") or {}
    score = model_scorer(m, tok, int(settings.get("batch_size", 16)), int(settings.get("max_input_tokens", 1024)),
                         add_special_tokens=not info.get("chat", False))
    prompts, cands, js = _answered_prompts(preds, first, ids)
    normalise = (info.get("normalise") or "sum") if info.get("answer", "rank") == "rank" else None
    full = probabilities(score, [p.text for p in prompts], cands, js, normalise)
    parts = []
    for name, positions in chosen.items():
        t0 = time.time()
        got = measure(score, prompts, cands, js, [rows[name].loc[i].to_dict() for i in ids],
                      [list(positions[i]) for i in ids], normalise, full=full)
        log.info("%s, k %d: %d examples in %.1f s", name, k, len(ids), time.time() - t0)
        parts.append(pd.DataFrame({"id": ids, "source": name, "k": k, **got,
                                   "probability": "sequence" if normalise is None else "class"}))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=schemas.FAITHFULNESS.names)
    io.write_parquet(table, out, schemas.FAITHFULNESS, {"model": model, "settings": settings})
    return table


def faithfulness_table(items: Sequence[dict], csv_out: str, md_out: str, html_out: str | None = None) -> pd.DataFrame:
    """Mean comprehensiveness and sufficiency per dataset, method, k and source (a table;
    :func:`akd.analyses.faithfulness_summary`)."""
    from .analyses import FAITHFULNESS_NOTE, faithfulness_summary
    from .report import write_table

    table = faithfulness_summary(items)
    write_table(table, "Faithfulness of the top-k words", FAITHFULNESS_NOTE, csv_out, md_out, html_out)
    return table


def plausibility_table(items: Sequence[dict], csv_out: str, md_out: str, html_out: str | None = None,
                       seed: int = 0, exclude_punctuation: bool = True, exclude_stopwords: bool = False) -> pd.DataFrame:
    """Agreement of the top-k words with people's rationales, ERASER's token P / R / F1 over word
    positions (a table; :func:`akd.analyses.plausibility_summary`; ``seed`` and the flags: the
    random words of a field, drawn under the rationales' rules)."""
    from .analyses import PLAUSIBILITY_NOTE, plausibility_summary
    from .report import write_table

    table = plausibility_summary(items, seed, exclude_punctuation, exclude_stopwords)
    write_table(table, "Plausibility of the top-k words", PLAUSIBILITY_NOTE, csv_out, md_out, html_out)
    return table


# ---------------------------------------------------------------------------------- student

def train_student(model: str, train_examples: str, valid_examples: str, rationale_file: str | None, out_dir: str,
                  variant: str, settings: dict, teacher_labels: str | None = None, teacher_logits: str | None = None) -> dict:
    """One student run: the variant's training rows (labels, or the teacher's answers on train
    for the seqkd kinds, the teacher's distributions on the labels for the kd kinds, and rationales
    when it has them), trained from ``model``; the best checkpoint on validation accuracy (gold
    labels) is saved."""
    from .models import load_for, set_threads
    from .tasks import label_space
    from .training import Example, TrainConfig, result_info, run_examples, save_trained, seed_everything, train
    from .variants import parse

    set_threads(settings.get("threads"))
    cfg = TrainConfig.from_dict({**settings["train"], "seed": int(settings["seed"]), "kd": settings.get("kd")})
    df = read_examples(train_examples)
    schema = schemas.COT if parse(variant).kind.rationale == "cot" else schemas.RATIONALES
    table = io.read_parquet(rationale_file, schema) if rationale_file else None
    teacher = io.read_parquet(teacher_labels, schemas.PREDICTIONS) if teacher_labels else None
    rows, multitask = run_examples(df, variant, table, teacher, int(settings.get("subset_seed", 0)), log=log.info)
    if teacher_logits:  # the kd kinds: each row with the teacher's distributions over its label tokens
        by_id = io.read_parquet(teacher_logits, schemas.TEACHER_LOGITS).set_index("id").to_dict("index")
        for r in rows:
            r.teacher = by_id[r.id]
    valid = read_examples(valid_examples)
    valid_rows = [Example(r.input, r.label, choices=label_space(r.task, r.choices)) for r in valid.itertuples()]
    seed_everything(cfg.seed)
    m, tok = load_for(model, settings)
    state_dir = Path(out_dir).parent / "train_state"  # outside the declared output: survives a killed job
    result = train(m, tok, rows, valid_rows, df["task"].iloc[0], cfg, multitask=multitask, log=log.info,
                   state_dir=state_dir)
    save_trained(m, tok, out_dir, {"variant": variant, "multitask": multitask, **result_info(result),
                                   "settings": settings}, state_dir, result)
    return {"best_valid_accuracy": result.best_accuracy}


def _trained(model_dir: str) -> tuple[dict, str]:
    """A trained student's train.json, and the prefix its label task was trained with."""
    from .tasks import PREFIX_LABEL

    info = json.loads((Path(model_dir) / "train.json").read_text())
    return info, PREFIX_LABEL if info.get("multitask") else ""


def evaluate(model_dir: str, examples: str, out: str, metrics_out: str, settings: dict) -> dict:
    """Test accuracy (answers as ``settings["answer"]`` says, :func:`akd.evaluation.answers`; when
    ranked, the generated answers' accuracy beside it)."""
    from .evaluation import answers
    from .models import load_for, set_threads
    from .tasks import dss_correct, is_correct, label_space

    set_threads(settings.get("threads"))
    m, tok = load_for(model_dir, settings)
    info, prefix = _trained(model_dir)
    df = read_examples(examples)
    how = settings.get("answer", "generate")
    ask = dict(spaces=[label_space(t, c) for t, c in zip(df["task"], df["choices"])],
               normalise=settings.get("normalise", "sum"), batch_size=int(settings.get("batch_size", 64)),
               max_new_tokens=int(settings.get("max_new_tokens", 64)),
               max_input_tokens=int(settings.get("max_input_tokens", 1024)))
    preds = answers(m, tok, [prefix + x for x in df["input"]], how=how, **ask)
    extra = {}
    if how == "rank":  # what the same checkpoint writes, beside what it ranks first
        generated = answers(m, tok, [prefix + x for x in df["input"]], how="generate", **ask)
        extra["generated_accuracy"] = sum(map(is_correct, df["task"], generated, df["label"])) / max(1, len(df))
    correct = [is_correct(t, p, y) for t, p, y in zip(df["task"], preds, df["label"])]
    io.write_parquet(pd.DataFrame({"id": df["id"], "label": df["label"], "prediction": preds, "correct": correct}),
                     out, schemas.EVAL_PREDICTIONS, {"model": model_dir})
    strict = sum(map(dss_correct, df["task"], preds, df["label"])) / max(1, len(df))  # DSS's exact match
    metrics = {"accuracy": sum(correct) / max(1, len(correct)), "dss_accuracy": strict, "n": len(df), "answer": how, **extra,
               "best_step": info["best_step"], "best_valid_accuracy": info["best_valid_accuracy"]}
    io.write_json(metrics, metrics_out)
    return metrics


def similarity(model_dir: str, examples: str, predictions: str, teacher_attributions: str, out: str,
               settings: dict) -> dict:
    """The overlap of a student's and its teacher's top-k words on test examples
    (``settings["similarity"]``: method, k, n; the Jaccard index of their top-k positions on the
    first n, :func:`akd.analyses.topk_similarity`), the student attributed for its own test answers."""
    from .analyses import topk_similarity
    from .models import load_for, set_threads

    set_threads(settings.get("threads"))
    m, tok = load_for(model_dir, settings)
    prefix = _trained(model_dir)[1]
    df = read_examples(examples)
    preds = io.read_parquet(predictions, schemas.EVAL_PREDICTIONS).set_index("id")["prediction"].reindex(df["id"])
    teacher = io.read_parquet(teacher_attributions, schemas.ATTRIBUTIONS)
    result = topk_similarity(m, tok, df, list(preds.fillna("")), teacher, prefix, settings["similarity"])
    io.write_json(result, out)
    return result


# -------------------------------------------------------------------------------- aggregate

def accuracy_vs_data(accuracy_csv: str, plot_out: str) -> None:
    """The plot of test accuracy against the share of the training split (from the accuracy table)."""
    from .report import accuracy_vs_data as plot

    plot(pd.read_csv(accuracy_csv), plot_out)


def training_curves(runs: Sequence[dict], dataset: str, plot_out: str) -> None:
    """The plot of one dataset's student training curves (``runs``: variant, seed and model folder)."""
    from .curves import curves_table, plot_curves

    plot_curves(curves_table(runs, log.warning), f"Student training on {dataset}", plot_out)


def similarity_table(runs: Sequence[dict], teacher: Sequence[dict], csv_out: str, html_out: str | None = None) -> pd.DataFrame:
    """``runs``: dataset, variant, seed, predictions and metrics (the run's similarity.json);
    ``teacher``: dataset and predictions (its test answers, for agreement)."""
    from .analyses import per_run_table
    from .analyses import similarity_table as table_of
    from .report import html_page

    sim = table_of(per_run_table(runs, teacher)).round(2)
    io.write_text(sim.to_csv(index=False), csv_out)
    if html_out:
        io.write_text(html_page("Teacher-student similarity", [("", sim)], "Agreement: share of test examples "
                                "where the student's answer equals the teacher's (%); top-k Jaccard (%)."), html_out)
    return sim


def aggregate(runs: Sequence[dict], teacher: Sequence[dict], csv_out: str, md_out: str, plot_out: str,
              k_plot_out: str | None = None, references: dict | None = None, html_out: str | None = None,
              significance_out: Sequence[str] | None = None) -> pd.DataFrame:
    """``runs``: dicts with dataset, variant, seed, predictions (path); ``teacher``: dataset, metrics
    (path); ``significance_out``: csv, md and html paths of the paired comparison with ``standard``.

    Accuracy is recomputed from each run's saved predictions, not copied from its metrics file.
    """
    from .analyses import SIGNIFICANCE_NOTE, mark_differences, per_run_table, significance_table
    from .report import (accuracy_note, accuracy_table, accuracy_vs_k, bar_chart, html_page, references_table,
                         to_markdown, wide_table, write_table)

    per_run = per_run_table(runs, teacher)
    teach = {t["dataset"]: 100.0 * json.loads(Path(t["metrics"]).read_text())["accuracy"] for t in teacher}
    table = accuracy_table(per_run, teach)
    if significance_out:
        sig = significance_table(runs)
        write_table(sig, "Accuracy against standard", SIGNIFICANCE_NOTE, *significance_out)
        table = mark_differences(table, sig)
    io.write_text(table.to_csv(index=False), csv_out)
    io.write_text(to_markdown(table, references), md_out)
    if html_out:
        parts = [("Students' test accuracy (%)", wide_table(table))]
        if references:
            parts.append(("Published reference numbers", references_table(table, references)))
        io.write_text(html_page("Accuracy", parts, accuracy_note(table)), html_out)
    bar_chart(per_run, teach, plot_out)
    if k_plot_out:
        accuracy_vs_k(per_run, k_plot_out)
    return table
