"""Tables and plots of the results."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .io import atomic_file
from .variants import DATA, parse, sort_key


def _variant_order(variants) -> list[str]:
    return sorted(set(variants), key=sort_key)


def accuracy_table(per_run: pd.DataFrame, teacher: dict[str, float]) -> pd.DataFrame:
    """Long table: dataset, variant, mean and std of test accuracy (%) over seeds, seeds, teacher
    (and, when measured, of the generated answers' accuracy and of DSS's strict exact match)."""
    g = per_run.groupby(["dataset", "variant"])["accuracy"]
    columns = {"mean": g.mean(), "std": g.std(ddof=1).fillna(0.0), "seeds": g.count()}
    if "generated_accuracy" in per_run and per_run["generated_accuracy"].notna().any():  # answers were ranked
        gen = per_run.groupby(["dataset", "variant"])["generated_accuracy"]
        columns |= {"generated_mean": gen.mean(), "generated_std": gen.std(ddof=1).fillna(0.0)}
    if "dss_accuracy" in per_run:  # DSS's strict exact match (akd.tasks.dss_correct), CSV only
        dss = per_run.groupby(["dataset", "variant"])["dss_accuracy"]
        columns |= {"dss_mean": dss.mean(), "dss_std": dss.std(ddof=1).fillna(0.0)}
    table = pd.DataFrame(columns).reset_index()
    table["teacher"] = table["dataset"].map(teacher)
    order = {v: i for i, v in enumerate(_variant_order(table["variant"]))}
    table = table.sort_values(["dataset", "variant"], key=lambda s: s.map(order) if s.name == "variant" else s)
    return table.round(2).reset_index(drop=True)


MARKS = {1: " ↑", -1: " ↓"}  # the paired interval against standard above / below 0 (akd.analyses.mark_differences)


def _mark(differs) -> str:
    return "" if differs is None or pd.isna(differs) else MARKS.get(int(differs), "")


def _cell(mean: float, std: float, seeds: int) -> str:
    """"mean ± std" over seeds; the mean alone for one seed (a sample std needs two)."""
    return f"{mean:.2f} ± {std:.2f}" if seeds > 1 else f"{mean:.2f}"


def wide_table(table: pd.DataFrame) -> pd.DataFrame:
    """A row per dataset: the teacher's test accuracy, then a column per variant, "mean ± std" (%)."""
    variants = _variant_order(table["variant"])
    rows = []
    for ds, sub in table.groupby("dataset", sort=True):
        cells = {r.variant: _cell(r.mean, r.std, r.seeds) + _mark(getattr(r, "differs", None))
                 for r in sub.itertuples()}
        teacher = sub["teacher"].iloc[0]
        rows.append({"dataset": ds, "teacher": "" if pd.isna(teacher) else f"{teacher:.2f}",
                     **{v: cells.get(v, "") for v in variants}})
        if "generated_mean" in sub and sub["generated_mean"].notna().any():
            gen = {r.variant: _cell(r.generated_mean, r.generated_std, r.seeds) for r in sub.itertuples()
                   if not pd.isna(r.generated_mean)}
            rows.append({"dataset": f"{ds} (generated)", "teacher": "", **{v: gen.get(v, "") for v in variants}})
    return pd.DataFrame(rows, columns=["dataset", "teacher", *variants])


def accuracy_note(table: pd.DataFrame) -> str:
    n = int(table["seeds"].max()) if len(table) else 0
    note = (f"Test accuracy (%), mean ± sample std over {n} seeds; teacher: the teacher's own test accuracy." if n > 1
            else "Test accuracy (%) of one seed; teacher: the teacher's own test accuracy.")
    if "differs" in table:
        note += (" ↑ / ↓: the 95% paired bootstrap interval of the difference to standard on the same test examples "
                 "lies above / below 0 (tables/accuracy_vs_standard).")
    if "generated_mean" in table:
        note += (" The students answered by rank (the label-space entry of highest log-probability, "
                 "student.answer: rank); rows marked (generated): the same checkpoints' generated answers, exact match.")
    return note


def references_table(table: pd.DataFrame, references: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Published reference numbers (name -> dataset -> accuracy), a row per name."""
    datasets = sorted(table["dataset"].unique())
    return pd.DataFrame([{"reference": name, **{d: f"{vals[d]:.2f}" if d in vals else "" for d in datasets}}
                         for name, vals in references.items()], columns=["reference", *datasets])


def save_figure(fig, path: str) -> None:
    """Write a matplotlib figure atomically (its format from the file's suffix) and close it."""
    import matplotlib.pyplot as plt

    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format=Path(path).suffix.lstrip(".") or "png")
    plt.close(fig)


def write_table(table: pd.DataFrame, title: str, note: str, csv_out: str, md_out: str, html_out: str | None = None) -> None:
    """An analysis table as CSV, as Markdown with its note under it, and (for the report) as HTML."""
    from . import io

    io.write_text(table.to_csv(index=False), csv_out)
    io.write_text(markdown(table) + "\n\n" + note + "\n", md_out)
    if html_out:
        io.write_text(html_page(title, [("", table)], note), html_out)


def markdown(df: pd.DataFrame) -> str:
    """A table of strings and numbers as Markdown."""
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|---" * len(df.columns) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def to_markdown(table: pd.DataFrame, references: dict[str, dict[str, float]] | None = None) -> str:
    """Wide markdown: a row per dataset, a column per variant (mean ± std over seeds), the teacher;
    published reference numbers (``references``: name -> dataset -> accuracy) as extra rows."""
    parts = [markdown(wide_table(table))]
    if references:
        parts.append(markdown(references_table(table, references)))
    return "\n\n".join(parts) + "\n\n" + accuracy_note(table) + "\n"


def html_page(title: str, tables: list[tuple[str, pd.DataFrame]], note: str = "") -> str:
    """A small standalone page of tables (what the Snakemake report shows for a table result)."""
    import html

    style = ("body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.6em 0 1.4em}"
             "th,td{border:1px solid #ccc;padding:.3em .7em;text-align:right;white-space:nowrap}"
             "th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}caption{text-align:left;"
             "font-weight:600;margin-bottom:.3em}p{max-width:60em;color:#444}")
    body = "".join(
        re.sub(r"(<table[^>]*>)", lambda m: m.group(1) + (f"<caption>{html.escape(c)}</caption>" if c else ""),
               df.to_html(index=False, border=0, na_rep="", float_format=lambda v: f"{v:.4g}"), count=1)
        for c, df in tables)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body><h2>{html.escape(title)}</h2>{body}"
            f"<p>{html.escape(note)}</p></body></html>")


def bar_chart(per_run: pd.DataFrame, teacher: dict[str, float], path: str) -> None:
    """Grouped bars, one group per dataset, one bar per variant, error bars = std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    datasets = sorted(per_run["dataset"].unique())
    variants = _variant_order(per_run["variant"])
    g = per_run.groupby(["dataset", "variant"])["accuracy"]
    mean, std = g.mean(), g.std(ddof=1).fillna(0.0)
    width = 0.8 / max(1, len(variants))
    fig, ax = plt.subplots(figsize=(2.0 + len(datasets) * (0.8 + 0.35 * len(variants)), 4))
    x = np.arange(len(datasets))
    cmap = plt.get_cmap("viridis", max(2, len(variants)))
    for j, v in enumerate(variants):
        ys = [mean.get((d, v), np.nan) for d in datasets]
        es = [std.get((d, v), 0.0) for d in datasets]
        ax.bar(x + (j - (len(variants) - 1) / 2) * width, ys, width, yerr=es, label=v, color=cmap(j), capsize=2)
    for i, d in enumerate(datasets):
        if d in teacher:
            ax.hlines(teacher[d], i - 0.42, i + 0.42, colors="black", linestyles="dashed",
                      label="teacher" if i == 0 else None)
    ax.set_xticks(x, datasets)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("Student test accuracy by variant (mean ± std over seeds)")
    save_figure(fig, path)


#: The narrowest y range (accuracy points) a plot of accuracy against a setting gets: narrower, a
#: change of a point or less between two settings, well within the seed spread, looks like a slope.
MIN_SPAN = 10.0


def shared_ylim(lows, highs, min_span: float = MIN_SPAN) -> tuple[float, float]:
    """One y range (accuracy, %) for every panel of a figure: from the lowest mean - std to the highest
    mean + std of all panels, with a margin (kept inside -1..101 where the data are), at least
    ``min_span`` points wide (widened on both sides, then slid back inside -1..101)."""
    data_lo, data_hi = float(np.nanmin(lows)), float(np.nanmax(highs))
    pad = max(1.0, 0.05 * (data_hi - data_lo))
    lo, hi = min(data_lo, max(-1.0, data_lo - pad)), max(data_hi, min(101.0, data_hi + pad))
    if hi - lo < min_span:
        extra = (min_span - (hi - lo)) / 2
        lo, hi = lo - extra, hi + extra
        if lo < -1.0 <= data_lo:
            lo, hi = -1.0, hi + (-1.0 - lo)
        elif hi > 101.0 >= data_hi:
            lo, hi = lo - (hi - 101.0), 101.0
    return lo, hi


def _panels(n: int, title: str):
    """A row of ``n`` panels (at least one) with one y axis for all of them (set by :func:`shared_ylim`).

    Shared rather than a range per panel, which stretched each panel's own data over its height: a
    0.6-point change between two settings, well inside the seed spread, read as a slope. On one
    scale a point is as tall in every panel and the datasets can be set side by side. Where the
    datasets' accuracies lie far apart (arithmetic word problems beside NLI), each panel's lines
    fill only part of its height, but a difference of a few points still shows beside its error
    bars, which is as fine as the seeds resolve; and where they lie close, the range is still never
    narrower than ``MIN_SPAN``. The suptitle says the axis is shared."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, max(1, n), figsize=(4.2 * max(1, n), 3.8), squeeze=False, sharey=True,
                             layout="constrained")  # labels never over the neighbour's tick labels
    axes[0][0].set_ylabel("test accuracy (%)")
    fig.suptitle(f"{title}: mean ± std over seeds; one y axis for all datasets", fontsize=9)
    return fig, axes[0]


def accuracy_vs_k(per_run: pd.DataFrame, path: str):
    """Per dataset, accuracy against k for every rationale family (the paper's Figure 3), mean ± std
    over seeds (``per_run``: a row per run, i.e. per seed), with the standard and llm students as
    horizontal references, each shaded over its own mean ± std. All panels share one y range
    (:func:`_panels`). Returns the (closed) figure."""
    datasets = sorted(per_run["dataset"].unique())
    fig, axes = _panels(len(datasets), "Test accuracy against k")
    lows, highs = [], []
    for ax, d in zip(axes, datasets):
        sub = per_run[per_run["dataset"] == d]
        runs = [parse(v) for v in sub["variant"]]
        # one line per rationale source and label kind (saliency vs seqkd-saliency), full data only
        # (the shares have their own plot)
        fam = sub.assign(family=[f"seqkd-{r.source}" if r.kind.labels == "teacher" else f"kd-{r.source}"
                                 if r.kind.logits else r.source for r in runs],
                         k=[r.k for r in runs], full=[r.fraction == 1.0 for r in runs])
        fam = fam[fam["full"]].dropna(subset=["k"])
        fam["k"] = fam["k"].astype(int)
        for name, g in fam.groupby("family"):
            s = g.groupby("k")["accuracy"].agg(["mean", "std"]).fillna(0.0).sort_index()
            ax.errorbar(s.index, s["mean"], yerr=s["std"], marker="o", capsize=3, label=name)
            lows += list(s["mean"] - s["std"])
            highs += list(s["mean"] + s["std"])
        for ref, style in (("standard", "--"), ("llm", ":")):
            r = sub[sub["variant"] == ref]["accuracy"]
            if len(r):
                m = float(r.mean())
                sd = float(r.std(ddof=1)) if len(r) > 1 else 0.0  # one seed: no spread
                line = ax.axhline(m, linestyle=style, color="gray", label=f"{ref} ({m:.1f} ± {sd:.1f})")
                ax.axhspan(m - sd, m + sd, color=line.get_color(), alpha=0.15, linewidth=0)
                lows.append(m - sd)
                highs.append(m + sd)
        ks = sorted(fam["k"].unique())
        if ks:
            ax.set_xticks(ks)  # k is a whole number of words
        ax.set_title(d)
        ax.set_xlabel("k (rationale words)")
        ax.legend(fontsize=7)
    if lows:
        axes[0].set_ylim(*shared_ylim(lows, highs))
    save_figure(fig, path)
    return fig


def accuracy_vs_data(table: pd.DataFrame, path: str):
    """Per dataset, test accuracy against the share of the training split each run trained on, one
    line per variant (DSS's figure of accuracy against data), mean ± std over seeds from the accuracy
    table. All panels share one y range (:func:`_panels`). Returns the (closed) figure."""
    t = table.assign(base=[DATA.sub("", v) for v in table["variant"]],
                     fraction=[parse(v).fraction for v in table["variant"]])
    datasets = sorted(t["dataset"].unique())
    fig, axes = _panels(len(datasets), "Test accuracy against the share of training data")
    for ax, d in zip(axes, datasets):
        sub = t[t["dataset"] == d]
        for name in _variant_order(sub["base"]):
            g = sub[sub["base"] == name].sort_values("fraction")
            ax.errorbar(g["fraction"], g["mean"], yerr=g["std"], marker="o", capsize=3, label=name)
        ax.set_xscale("log", base=2)
        shares = sorted(t["fraction"].unique())
        ax.set_xticks(shares, [f"{x:g}" for x in shares])
        ax.set_title(d)
        ax.set_xlabel("share of the training split")
        ax.legend(fontsize=7)
    if len(t):
        axes[0].set_ylim(*shared_ylim(t["mean"] - t["std"], t["mean"] + t["std"]))
    save_figure(fig, path)
    return fig


def overlap_markdown(table: pd.DataFrame) -> str:
    """The answer-overlap table (:func:`akd.analyses.answer_overlap_table`) as Markdown, with how it was computed."""
    lines = ["| dataset | method | k | examples with an answer word | top-k words in the answer | n |",
             "|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.dataset} | {r.method} | {r.k} | {100 * r.examples_with_answer_word:.1f}% | "
                     f"{100 * r.topk_words_in_answer:.1f}% | {r.n} |")
    lines += ["", "Training examples whose teacher answer was attributed; a word is part of the answer when it equals "
              "one of the gold label's words (case-insensitive; numbers by value). Baselines: k distinct words drawn "
              "at random (seeded per example) from the same input, from the choices' words (multiple choice), or "
              "from the input's numbers (math)."]
    return "\n".join(lines) + "\n"
