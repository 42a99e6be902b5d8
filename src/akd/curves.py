"""Training curves: every training job's ``train_log.parquet`` (:data:`akd.schemas.TRAIN_LOG`, a row
per optimiser step) read back, and drawn per dataset (validation accuracy and label loss against
step, one line per variant, the mean over seeds with the seeds' range shaded)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from . import io, schemas
from .report import save_figure
from .variants import sort_key

TRAIN_LOG = schemas.TRAIN_LOG_FILE

#: at most this many points of a label-loss line: longer runs are drawn as a running mean over
#: ceil(steps / SMOOTH_POINTS) steps (per seed, before the mean over seeds)
SMOOTH_POINTS = 50


def read_curve(model_dir: str | Path, log: Callable[[str], None] = print) -> pd.DataFrame:
    """A trained model's curve.  A model trained before curves were written has only its
    evaluations (``train.json``'s history): those come back, with NaN losses per task, and a line
    in the log says so."""
    path = Path(model_dir) / TRAIN_LOG
    if path.exists():
        return io.read_parquet(path, schemas.TRAIN_LOG)
    history = json.loads((Path(model_dir) / "train.json").read_text())["history"]
    log(f"{model_dir} has no {TRAIN_LOG} (trained before curves were written): its validation accuracy only")
    table = pd.DataFrame({"step": [h["step"] for h in history], "valid_accuracy": [h["valid_accuracy"] for h in history]})
    return table.reindex(columns=schemas.TRAIN_LOG.names).astype({"step": "int64"})


def curves_table(runs: Sequence[dict], log: Callable[[str], None] = print) -> pd.DataFrame:
    """``runs``: dicts with variant, seed and model (the trained model's folder); their curves, one
    table with the variant and seed of each row."""
    parts = [read_curve(r["model"], log).assign(variant=r["variant"], seed=int(r["seed"])) for r in runs]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*schemas.TRAIN_LOG.names, "variant", "seed"])


def smoothed(curves: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` of each run as a trailing running mean over ceil(steps / SMOOTH_POINTS) steps (the
    raw values where a run has at most SMOOTH_POINTS steps), NaN rows dropped."""
    out = []
    for _, g in curves.dropna(subset=[column]).sort_values("step").groupby(["variant", "seed"]):
        window = max(1, int(np.ceil(len(g) / SMOOTH_POINTS)))
        out.append(g.assign(**{column: g[column].rolling(window, min_periods=1).mean()}).iloc[window - 1:: window])
    return pd.concat(out, ignore_index=True) if out else curves.iloc[:0]


def over_seeds(curves: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per variant and step: the mean of ``column`` over the seeds, its min and max, how many seeds."""
    return (curves.dropna(subset=[column]).groupby(["variant", "step"])[column]
            .agg(["mean", "min", "max", "count"]).reset_index())


def plot_curves(curves: pd.DataFrame, title: str, path: str):
    """Two panels: validation accuracy (%) at each evaluation and the label task's loss against step,
    one line per variant (the mean over seeds; shaded: from the lowest to the highest seed).
    Returns the (closed) figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    variants = sorted(set(curves["variant"]), key=sort_key)
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, max(1, len(variants))))
    accuracy = over_seeds(curves.assign(valid_accuracy=100 * curves["valid_accuracy"]), "valid_accuracy")
    loss = over_seeds(smoothed(curves, "label_loss"), "label_loss")
    for colour, v in zip(colours, variants):
        for ax, table in ((acc_ax, accuracy), (loss_ax, loss)):
            g = table[table["variant"] == v]
            if len(g):
                ax.plot(g["step"], g["mean"], color=colour, marker="o" if ax is acc_ax else None, markersize=3,
                        label=v)
                ax.fill_between(g["step"], g["min"], g["max"], color=colour, alpha=0.15, linewidth=0)
    seeds = curves.groupby("variant")["seed"].nunique().max() if len(curves) else 0
    acc_ax.set(xlabel="step", ylabel="validation accuracy (%)", title="validation accuracy")
    steps = int(curves.groupby(["variant", "seed"]).size().max()) if len(curves) else 0
    window = max(1, int(np.ceil(steps / SMOOTH_POINTS)))
    loss_ax.set(xlabel="step", ylabel="cross-entropy per label token",
                title=f"label loss (running mean of {window} steps)" if window > 1 else "label loss")
    acc_ax.legend(fontsize=7)
    fig.suptitle(f"{title}: mean over {seeds} seed(s), shaded from the lowest to the highest", fontsize=9)
    save_figure(fig, path)
    return fig
