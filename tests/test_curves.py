"""Training curves read back and drawn (akd.curves), from curves written here by hand."""

import json

import numpy as np
import pandas as pd
import pytest

from akd import curves, io, schemas


def _curve(steps, label_loss, accuracy_every=5):
    return pd.DataFrame({
        "step": np.arange(1, steps + 1), "lr": 1e-3, "loss": label_loss, "label_loss": label_loss,
        "rationale_loss": np.nan, "kd_divergence": np.nan, "tokens": 100, "tokens_per_second": 50.0, "seconds": np.arange(1, steps + 1) * 0.5,
        "valid_accuracy": [0.1 * (s // accuracy_every) if s % accuracy_every == 0 else np.nan
                           for s in range(1, steps + 1)],
    })


def _model(tmp_path, name, curve=None, history=None):
    d = tmp_path / name
    d.mkdir()
    (d / "train.json").write_text(json.dumps({"history": history or []}))
    if curve is not None:
        io.write_parquet(curve, d / schemas.TRAIN_LOG_FILE, schemas.TRAIN_LOG)
    return str(d)


def test_a_model_without_a_curve_gives_its_evaluations_and_says_so(tmp_path):
    said = []
    d = _model(tmp_path, "old", history=[{"step": 5, "loss": 1.0, "valid_accuracy": 0.4},
                                         {"step": 10, "loss": 0.5, "valid_accuracy": 0.6}])
    got = curves.read_curve(d, said.append)
    assert got["step"].tolist() == [5, 10] and got["valid_accuracy"].tolist() == [0.4, 0.6]
    assert got["label_loss"].isna().all() and list(got.columns) == schemas.TRAIN_LOG.names
    assert len(said) == 1 and "no train_log.parquet" in said[0]


def test_long_runs_are_drawn_as_a_running_mean_and_seeds_pooled(tmp_path):
    """200 steps: a window of 4 (200 / 50), each point the mean of the 4 steps up to it; two seeds:
    their mean, min and max at each of those steps."""
    a = _curve(200, np.arange(1, 201, dtype=float))
    b = _curve(200, 2 * np.arange(1, 201, dtype=float))
    table = curves.curves_table([{"variant": "standard", "seed": 0, "model": _model(tmp_path, "a", a)},
                                 {"variant": "standard", "seed": 1, "model": _model(tmp_path, "b", b)}])
    smooth = curves.smoothed(table, "label_loss")
    s0 = smooth[smooth["seed"] == 0]
    assert s0["step"].tolist() == list(range(4, 201, 4))
    assert s0["label_loss"].tolist() == pytest.approx(np.arange(1, 201).reshape(50, 4).mean(axis=1).tolist())
    pooled = curves.over_seeds(smooth, "label_loss")
    first = pooled.iloc[0]
    assert (first["step"], first["mean"], first["min"], first["max"], first["count"]) == (4, 3.75, 2.5, 5.0, 2)
    short = curves.smoothed(table[table["step"] <= 50], "label_loss")  # 50 steps or fewer: every step as it is
    assert short[short["seed"] == 0]["label_loss"].tolist() == list(np.arange(1.0, 51.0))


def test_the_plot_has_a_line_per_variant_in_each_panel(tmp_path):
    runs = [{"variant": v, "seed": s, "model": _model(tmp_path, f"{v}{s}", _curve(20, np.linspace(3, 1, 20) + s))}
            for v in ("standard", "saliency-k3") for s in (0, 1)]
    runs.append({"variant": "llm", "seed": 0, "model": _model(tmp_path, "old", history=[{"step": 20, "loss": 1.0,
                                                                                         "valid_accuracy": 0.5}])})
    out = tmp_path / "curves.png"
    fig = curves.plot_curves(curves.curves_table(runs, lambda s: None), "syn", str(out))
    acc, loss = fig.axes
    assert [line.get_label() for line in acc.get_lines()] == ["standard", "saliency-k3", "llm"]
    assert [line.get_label() for line in loss.get_lines()] == ["standard", "saliency-k3"]  # llm's has no losses
    assert acc.get_lines()[0].get_ydata().tolist() == pytest.approx([10, 20, 30, 40])  # %, at steps 5..20
    assert out.stat().st_size > 1000
