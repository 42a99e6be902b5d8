import copy

import numpy as np
import pandas as pd
import pytest
import torch

from akd import io, schemas, stages
from akd.sources.synthetic import generate
from akd.training import Example, TrainConfig, train


def _rows(n, split):
    return [Example(e["input"], e["label"], e["llm_rationale"]) for e in generate("nli", n, 0, split)]


def test_training_learns_and_keeps_best_checkpoint(tiny_model):
    model, tok = copy.deepcopy(tiny_model[0]), tiny_model[1]
    cfg = TrainConfig(steps=40, batch_size=16, lr=5e-3, eval_every=10, max_new_tokens=8)
    res = train(model, tok, _rows(200, "train"), _rows(40, "valid"), "nli", cfg, multitask=True, show_progress=False)
    accs = [h["valid_accuracy"] for h in res.history]
    assert [h["step"] for h in res.history] == [10, 20, 30, 40]
    assert res.best_accuracy == max(accs) and res.best_step == 10 * (int(np.argmax(accs)) + 1)
    assert res.history[-1]["loss"] < 3.0  # started near log(vocab) ~ 6


def test_same_seed_same_weights(tiny_model):
    outs = []
    for _ in range(2):
        model = copy.deepcopy(tiny_model[0])
        cfg = TrainConfig(steps=5, batch_size=8, lr=1e-3, eval_every=5, max_new_tokens=4, seed=3)
        train(model, tiny_model[1], _rows(40, "train"), _rows(8, "valid"), "nli", cfg, multitask=False, show_progress=False)
        outs.append(next(model.parameters()).detach().clone())
    assert torch.equal(outs[0], outs[1])


def test_multitask_needs_rationales(tiny_model):
    rows = [Example("a", "entailment", None)]
    with pytest.raises(ValueError, match="rationale"):
        train(copy.deepcopy(tiny_model[0]), tiny_model[1], rows, rows, "nli", TrainConfig(steps=1), multitask=True)


def test_aggregate_recomputes_accuracy_from_predictions(tmp_path):
    runs, truth = [], {}
    rng = np.random.default_rng(0)
    for v in ("standard", "saliency-k5"):
        for seed in (0, 1, 2):
            correct = rng.random(50) < (0.5 if v == "standard" else 0.7)
            p = tmp_path / f"{v}-{seed}.parquet"
            df = pd.DataFrame({"id": [str(i) for i in range(50)], "label": "a", "prediction": "b", "correct": correct})
            io.write_parquet(df, p, schemas.EVAL_PREDICTIONS)
            runs.append({"dataset": "d", "variant": v, "seed": seed, "predictions": str(p)})
            truth.setdefault(v, []).append(100 * correct.mean())
    tm = tmp_path / "teacher.json"
    io.write_json({"accuracy": 0.9}, tm)
    table = stages.aggregate(runs, [{"dataset": "d", "metrics": str(tm)}], tmp_path / "a.csv", tmp_path / "a.md",
                             tmp_path / "a.png")
    for v, accs in truth.items():
        row = table[table["variant"] == v].iloc[0]
        assert row["mean"] == pytest.approx(np.mean(accs), abs=0.01)
        assert row["std"] == pytest.approx(np.std(accs, ddof=1), abs=0.01)
        assert row["seeds"] == 3 and row["teacher"] == 90.0
    md = (tmp_path / "a.md").read_text()
    assert f"{np.mean(truth['standard']):.2f} ± {np.std(truth['standard'], ddof=1):.2f}" in md
    assert list(table["variant"]) == ["standard", "saliency-k5"]


def test_write_is_atomic_and_schema_checked(tmp_path):
    p = tmp_path / "x.parquet"
    with pytest.raises(io.SchemaError):
        io.write_parquet(pd.DataFrame({"id": ["1"]}), p, schemas.EVAL_PREDICTIONS)
    assert not p.exists() and not list(tmp_path.iterdir())
    io.write_parquet(pd.DataFrame({"id": ["1"], "prediction": ["x"]}), p, schemas.EVAL_PREDICTIONS.remove(1).remove(2))
    with pytest.raises(io.SchemaError, match="label"):
        io.read_parquet(p, schemas.EVAL_PREDICTIONS)
