"""The analyses: how often the teacher's top-k words are part of the answer, how similar a
student's top-k words are to its teacher's, and the per-run results behind the accuracy table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from . import io, schemas
from .prepare import read_examples
from .tasks import dss_correct, normalise


def answer_overlap_table(items: Sequence[dict], ks: Sequence[int], exclude_punctuation: bool = True,
                         exclude_stopwords: bool = False, seed: int = 0) -> pd.DataFrame:
    """``items``: dataset, method, attributions, examples.  How often top-k words are part of the gold
    answer, beside baselines drawn at random from the same inputs (once per dataset, on the rows of
    its first method)."""
    from .rationales import BASELINES, answer_overlap

    rows, done = [], set()
    flags = (exclude_punctuation, exclude_stopwords)
    for it in items:
        attr = io.read_parquet(it["attributions"], schemas.ATTRIBUTIONS).to_dict("records")
        ex = read_examples(it["examples"])
        labels = dict(zip(ex["id"], ex["label"]))
        for r in answer_overlap(attr, labels, ks, *flags):
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
                for r in answer_overlap(attr, labels, ks, *flags, baseline=name, seed=seed):
                    rows.append({"dataset": it["dataset"], "method": f"{name} (baseline)", **r})
    table = pd.DataFrame(rows, columns=["dataset", "method", "k", "examples_with_answer_word", "topk_words_in_answer",
                                        "n"])
    return table.sort_values(["dataset", "k"], kind="stable").reset_index(drop=True)


def topk_similarity(model, tok, examples: pd.DataFrame, preds: list[str], teacher: pd.DataFrame, prefix: str,
                    sim: dict) -> dict:
    """Mean Jaccard index between the student's top-k word positions (attributed for its own answer,
    with the teacher's method) and the teacher's, on the first ``sim["n"]`` test examples."""
    from .attribution import Settings, attribute
    from .rationales import top_k

    teacher = teacher.set_index("id")
    n = min(int(sim.get("n", 200)), len(examples))
    k = int(sim["k"])
    settings = Settings.from_dict({**sim, "template": "dss", "prefix": prefix, "truncation": "right"})
    rows = attribute(model, tok, examples.iloc[:n].to_dict("records"), preds[:n], settings, show_progress=False)
    flags = (bool(sim.get("exclude_punctuation", True)), bool(sim.get("exclude_stopwords", False)))
    scores = []
    for r in rows:
        if r["id"] not in teacher.index:  # the teacher's answer did not parse: nothing to compare with
            continue
        t = teacher.loc[r["id"]]
        mine = {(r["word_field"][j], r["word_start"][j]) for j in top_k(r["words"], r["scores"], k, *flags)}
        theirs = {(t["word_field"][j], t["word_start"][j]) for j in top_k(list(t["words"]), list(t["scores"]), k, *flags)}
        scores.append(len(mine & theirs) / max(1, len(mine | theirs)))
    return {"topk_jaccard": float(np.mean(scores)) if scores else float("nan"), "similarity_k": k,
            "similarity_n": n, "similarity_method": sim["method"]}


def per_run_table(runs: Sequence[dict], teacher: Sequence[dict]) -> pd.DataFrame:
    """One row per student run: dataset, variant, seed, test accuracy (%) recomputed from its saved
    predictions, the top-k Jaccard index (%) when measured, and agreement (%) with the teacher's
    test answers when they are given."""
    teacher_preds = {t["dataset"]: io.read_parquet(t["predictions"], schemas.PREDICTIONS).set_index("id")
                     for t in teacher if t.get("predictions")}
    rows = []
    for r in runs:
        p = io.read_parquet(r["predictions"], schemas.EVAL_PREDICTIONS)
        strict = [dss_correct(r.get("task", ""), a, b) for a, b in zip(p["prediction"], p["label"])]
        row = {"dataset": r["dataset"], "variant": r["variant"], "seed": int(r["seed"]),
               "accuracy": 100.0 * float(p["correct"].mean()),
               "dss_accuracy": 100.0 * float(np.mean(strict)) if len(strict) else 0.0}
        if r.get("metrics") and Path(r["metrics"]).exists():
            metrics = json.loads(Path(r["metrics"]).read_text())
            for key in ("generated_accuracy", "topk_jaccard"):  # the first only when answers were ranked
                if metrics.get(key) is not None:
                    row[key] = 100.0 * metrics[key]
        if r["dataset"] in teacher_preds:  # teacher-student agreement on the test split
            tp = teacher_preds[r["dataset"]]["prediction"].reindex(p["id"]).fillna("")
            row["agreement"] = 100.0 * float(np.mean([normalise(a) == normalise(b) for a, b in zip(p["prediction"], tp)]))
        rows.append(row)
    return pd.DataFrame(rows)


def baseline_of(variant: str, baseline: str = "standard") -> str:
    """The run a variant is compared with: ``standard``, at the same share of the training data."""
    share = variant[variant.rfind("-data"):] if "-data" in variant else ""
    return baseline + share


def significance_table(runs: Sequence[dict], baseline: str = "standard", n_boot: int = 10_000) -> pd.DataFrame:
    """Per dataset and variant: its test accuracy difference to ``baseline`` on the same examples
    and seeds (points), the 95% paired bootstrap interval, and McNemar's exact p-value per seed
    (akd.significance). Variants without a baseline run, or without a seed in common, are left out."""
    from .significance import compare

    right: dict[tuple[str, str], dict[int, pd.Series]] = {}
    for r in runs:
        p = io.read_parquet(r["predictions"], schemas.EVAL_PREDICTIONS)
        right.setdefault((r["dataset"], r["variant"]), {})[int(r["seed"])] = p.set_index("id")["correct"]
    rows = []
    for (ds, variant), by_seed in right.items():
        base = right.get((ds, baseline_of(variant, baseline)))
        seeds = sorted(set(by_seed) & set(base or {}))
        if variant == baseline_of(variant, baseline) or not seeds:
            continue
        ids = by_seed[seeds[0]].index.intersection(base[seeds[0]].index)
        out = compare(np.array([by_seed[s].reindex(ids).to_numpy(bool) for s in seeds]),
                      np.array([base[s].reindex(ids).to_numpy(bool) for s in seeds]), n_boot=n_boot)
        join = lambda xs, fmt="{}": " / ".join(fmt.format(x) for x in xs)  # noqa: E731
        rows.append({"dataset": ds, "variant": variant, "baseline": baseline_of(variant, baseline),
                     "seeds": join(seeds), "n": len(ids), "difference": out["difference"],
                     "ci_low": out["ci_low"], "ci_high": out["ci_high"], "excludes_zero": out["excludes_zero"],
                     "only_variant": join(out["only_variant"]), "only_baseline": join(out["only_baseline"]),
                     "mcnemar_p": join(out["mcnemar_p"], "{:.3g}")})
    columns = ["dataset", "variant", "baseline", "seeds", "n", "difference", "ci_low", "ci_high", "excludes_zero",
               "only_variant", "only_baseline", "mcnemar_p"]
    return pd.DataFrame(rows, columns=columns).round({"difference": 2, "ci_low": 2, "ci_high": 2})


def mark_differences(table: pd.DataFrame, significance: pd.DataFrame) -> pd.DataFrame:
    """The accuracy table with ``differs``: 1 (-1) where the variant's paired interval against
    standard lies above (below) 0, 0 where it holds 0, empty for the baselines and variants not compared."""
    differs = {(r.dataset, r.variant): int(np.sign(r.difference)) if r.excludes_zero else 0
               for r in significance.itertuples()}
    out = table.copy()
    out["differs"] = pd.array([differs.get((d, v)) for d, v in zip(out["dataset"], out["variant"])], dtype="Int64")
    return out


SIGNIFICANCE_NOTE = (
    "Test accuracy difference to the baseline (points; the variant minus standard at the same share of the "
    "training data), on the same test examples and seeds, pooled over seeds (the mean of the per-seed "
    "differences). ci_low / ci_high: 95% paired bootstrap interval (10,000 resamples of the test examples, one "
    "resample for every seed, so the seeds stay paired); excludes_zero: the interval does not contain 0. Per "
    "seed: only_variant / only_baseline, the examples only one of the two gets right, and McNemar's exact "
    "two-sided p-value on them (no correction for the many comparisons).")


def similarity_table(per_run: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and variant: teacher-student agreement and top-k Jaccard, mean and std over seeds."""
    g = per_run.groupby(["dataset", "variant"])["agreement"]
    sim = pd.DataFrame({"agreement_mean": g.mean(), "agreement_std": g.std(ddof=1).fillna(0.0)})
    if "topk_jaccard" in per_run:
        j = per_run.groupby(["dataset", "variant"])["topk_jaccard"]
        sim["topk_jaccard_mean"], sim["topk_jaccard_std"] = j.mean(), j.std(ddof=1).fillna(0.0)
    return sim.reset_index()


FAITHFULNESS_NOTE = (
    "ERASER (DeYoung et al. 2020) on training examples the teacher answered: comprehensiveness = p(answer) - "
    "p(answer | the words deleted from the example's text), sufficiency = p(answer) - p(answer | only the "
    "words left); p (ERASER's m(x)_j): with probability `class`, the teacher's probability of the answer's "
    "class, the softmax of its candidates' summed log-probabilities over the label space, recomputed on each "
    "edited input; `sequence` (generated answers, no label space): the probability of the answer's text; source: an "
    "attribution method's top-k words, or `random`, k random words of the same input; every source of a dataset "
    "and k on the same examples. Means over n examples. A method of "
    "analyses.compare_methods is attributed on these examples only, for this table and plausibility.")


def faithfulness_summary(items: Sequence[dict]) -> pd.DataFrame:
    """``items``: dataset, faithfulness (a per-example file of :mod:`akd.faithfulness`, one per k).
    Per dataset, k and source (an attribution method's top-k words, or k random words): mean
    comprehensiveness and sufficiency over the examples (higher comprehensiveness and lower
    sufficiency: more faithful)."""
    parts = []
    for it in items:
        df = io.read_parquet(it["faithfulness"], schemas.FAITHFULNESS)
        df.insert(0, "dataset", it["dataset"])
        parts.append(df)
    long = pd.concat(parts, ignore_index=True)
    g = long.groupby(["dataset", "k", "source", "probability"], sort=True)
    return pd.DataFrame({"n": g.size(), "comprehensiveness": g["comprehensiveness"].mean(),
                         "sufficiency": g["sufficiency"].mean(), "p_full": g["p_full"].mean()}).reset_index().round(4)


PLAUSIBILITY_NOTE = (
    "ERASER's token-level agreement (DeYoung et al. 2020) of the teacher's top-k words (source: the method) and "
    "of k random words of the same input (source: random) with people's rationales, over word positions of "
    "each example, not word types (a choice word equal to a word of the question's CoS-E span is a miss): "
    "precision = share of the k positions that are the person's, recall = share of the person's positions "
    "among the k, F1 per example; means over n training examples (instance-macro, as ERASER reports Token F1); "
    "punctuation left out. The person's positions: CQA, the words of the question covered by CoS-E's span "
    "(located in the question; never a choice); e-SNLI, a proxy: the premise and hypothesis words whose form "
    "occurs in the first free-text explanation. human_proxy: of the n, the examples whose positions are that "
    "word-form match (CQA: the span was not found in the question; e-SNLI: all). A method of "
    "analyses.compare_methods: the first analyses.faithfulness_examples the teacher answered, random words on "
    "the same; `random <field> words`: k random words of the input field that holds at least 90% of the "
    "people's positions (CQA: the question, where CoS-E's spans lie).")


#: a field holding at least this share of the positions of people's rationales is where they
#: highlight (CoS-E: the CQA question), and k random words of it a reference row
EXTRACTIVE_SHARE = 0.9


def rationale_field(attributions: dict[str, dict], truth: dict[str, set[int]]) -> tuple[str | None, float]:
    """The input field that holds the positions of people's rationales, and the share of them it
    holds (over the examples of ``truth``, id -> positions); (None, 0) when there are none."""
    counts: dict[str, int] = {}
    for i, positions in truth.items():
        for j in positions:
            f = attributions[i]["word_field"][j]
            counts[f] = counts.get(f, 0) + 1
    if not counts:
        return None, 0.0
    field = max(counts, key=counts.get)
    return field, counts[field] / sum(counts.values())


def _chosen_positions(path: str, attributions: dict[str, dict]) -> dict[str, list[int]]:
    """id -> the positions of a rationales file's words in the example's attribution row (the
    examples that have a row); a file whose words are not the row's at those positions is an error."""
    out = {}
    for r in io.read_parquet(path, schemas.RATIONALES).to_dict("records"):
        row = attributions.get(r["id"])
        if row is None:
            continue
        pos = [int(j) for j in r["positions"]]
        if [row["words"][j] if 0 <= j < len(row["words"]) else None for j in pos] != list(r["words"]):
            raise ValueError(f"{path}: the words of {r['id']!r} are not its attribution row's at positions {pos}")
        out[r["id"]] = pos
    return out


def plausibility_summary(items: Sequence[dict], seed: int = 0, exclude_punctuation: bool = True,
                         exclude_stopwords: bool = False) -> pd.DataFrame:
    """``items``: dataset, method, k, human (people's rationales), top (the method's top-k words),
    random (k random words), attributions (the method's rows: the words whose positions are
    scored).  Per item and source: ERASER's token precision, recall and F1 over word positions,
    instance-macro (:mod:`akd.plausibility`), over the examples the method's words and people's
    both have (a method compared on a few examples: random words on those same ones), and
    ``human_proxy``, how many of them have people's positions by word-form match.  Where one input
    field holds at least EXTRACTIVE_SHARE of people's positions (CoS-E: the question), k random
    words of that field, drawn as positions under the rationales' flags, are a third source,
    ``random <field> words``: random words of where people look."""
    from .plausibility import PROXY, human_positions, macro_prf, predicted, token_prf
    from .rationales import field_positions

    rows = []
    for it in items:
        human = io.read_parquet(it["human"], schemas.HUMAN_RATIONALES).set_index("id")["rationale"]
        attr = {r["id"]: r for r in io.read_parquet(it["attributions"], schemas.ATTRIBUTIONS).to_dict("records")}
        sources = {it["method"]: _chosen_positions(it["top"], attr), "random": _chosen_positions(it["random"], attr)}
        ids = [i for i in sources[it["method"]] if i in human.index]  # random words on the method's examples
        truth = {i: human_positions(attr[i], human[i]) for i in ids}
        field, share = rationale_field(attr, {i: t[0] for i, t in truth.items()})
        if field is not None and share >= EXTRACTIVE_SHARE:
            sources[f"random {field} words"] = {
                i: field_positions(attr[i], int(it["k"]), field, seed, exclude_punctuation, exclude_stopwords)
                for i in ids}
        for chosen in sources.values():
            ids = [i for i in ids if i in chosen]
        proxy = sum(truth[i][1] == PROXY for i in ids)
        for source, chosen in sources.items():
            prf = macro_prf([token_prf(predicted(attr[i]["words"], chosen[i]), truth[i][0]) for i in ids])
            rows.append({"dataset": it["dataset"], "method": it["method"], "k": int(it["k"]), "source": source,
                         "n": len(ids), **dict(zip(("precision", "recall", "f1"), np.round(prf, 4))),
                         "human_proxy": proxy})
    return pd.DataFrame(rows)
