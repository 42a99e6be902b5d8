"""Teacher stages split into shards and merged give the very table one job writes."""

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from akd import schemas, stages
from akd.generation import length_sorted_batches, shard_rows
from akd.prepare import write_splits


@pytest.mark.parametrize("n_shards", [1, 3, 7, 40])
def test_shards_cover_every_row_once_along_batches(n_shards):
    lengths = [(i * 37) % 23 for i in range(101)]
    parts = [shard_rows(lengths, 8, s, n_shards) for s in range(n_shards)]
    assert sorted(i for p in parts for i in p) == list(range(101))
    batches = {tuple(sorted(b)) for b in length_sorted_batches(lengths, 8)}
    for p in parts:  # a shard runs whole batches of the single job, so shapes and numbers match
        for b in length_sorted_batches([lengths[i] for i in p], 8):
            assert tuple(sorted(p[i] for i in b)) in batches


def test_shard_out_of_range_is_an_error():
    with pytest.raises(ValueError, match="shard 3 is not in 0..2"):
        shard_rows([1, 2, 3], 2, 3, 3)


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    d = tmp_path_factory.mktemp("shard")
    out = {s: str(d / f"{s}.parquet") for s in ("train", "valid", "test")}
    write_splits({"name": "syn", "source": "synthetic", "task": "nli", "sizes": {"train": 45, "valid": 5, "test": 5},
             "seed": 1}, out)
    return d, out["train"]


SETTINGS = {"device": "cpu", "template": "prompt", "batch_size": 4, "max_new_tokens": 8, "threads": 1}


def _same_table(a: str, b: str) -> None:
    ta, tb = pq.read_table(a), pq.read_table(b)
    assert ta.equals(tb)  # same schema, rows, order and values, bit for bit (metadata aside)


def test_sharded_teacher_stages_equal_one_job(tiny_model_dir, split):
    d, examples = split
    one = str(d / "pred.parquet")
    m1 = stages.teacher_predict(tiny_model_dir, examples, one, str(d / "pred.json"), SETTINGS)
    n = 3
    shards = [str(d / f"pred-{i}.parquet") for i in range(n)]
    for i, path in enumerate(shards):
        stages.teacher_predict(tiny_model_dir, examples, path, None, SETTINGS, shard=(i, n))
    merged = str(d / "pred-merged.parquet")
    stages.merge_shards(shards, examples, merged, schemas.PREDICTIONS, str(d / "pred-merged.json"))
    _same_table(one, merged)
    m2 = json.loads((d / "pred-merged.json").read_text())  # pandas reads floats imprecisely
    assert m2["accuracy"] == m1["accuracy"] and m2["n"] == m1["n"] == 45

    for method in ("saliency", "integrated_gradients"):
        settings = dict(SETTINGS, method=method, n_steps=4, reduce="l2", aggregate="sum", target="prediction")
        single = str(d / f"attr-{method}.parquet")
        stages.attribute(tiny_model_dir, examples, one, single, settings)
        parts = [str(d / f"attr-{method}-{i}.parquet") for i in range(n)]
        for i, path in enumerate(parts):
            stages.attribute(tiny_model_dir, examples, one, path, settings, shard=(i, n))
        merged = str(d / f"attr-{method}-merged.parquet")
        stages.merge_shards(parts, examples, merged, schemas.ATTRIBUTIONS)
        _same_table(single, merged)


def test_merge_refuses_missing_or_repeated_rows(tiny_model_dir, split):
    d, examples = split
    parts = [str(d / f"p-{i}.parquet") for i in range(2)]
    for i, path in enumerate(parts):
        stages.teacher_predict(tiny_model_dir, examples, path, None, SETTINGS, shard=(i, 2))
    with pytest.raises(ValueError, match="do not cover .* exactly once: .* missing"):
        stages.merge_shards(parts[:1], examples, str(d / "bad.parquet"), schemas.PREDICTIONS)
    with pytest.raises(ValueError, match="repeated"):
        stages.merge_shards([parts[0], *parts], examples, str(d / "bad.parquet"), schemas.PREDICTIONS)
    assert not (d / "bad.parquet").exists()


class Killed(Exception):
    pass


def test_killed_attribution_resumes_from_its_checkpoint(tiny_model_dir, split, monkeypatch, caplog):
    import akd.attribution as A

    d, examples = split
    preds = str(d / "ck-pred.parquet")
    stages.teacher_predict(tiny_model_dir, examples, preds, None, SETTINGS)
    settings = dict(SETTINGS, method="saliency", reduce="l2", aggregate="sum", target="prediction")
    fresh = str(d / "ck-fresh.parquet")
    stages.attribute(tiny_model_dir, examples, preds, fresh, settings)

    out = d / "ck.parquet"
    monkeypatch.setenv("AKD_CHECKPOINT_SECONDS", "0")  # save after every batch
    real, calls = A.token_scores, []

    def dies_on_the_fourth_batch(*a):
        calls.append(1)
        if len(calls) == 4:
            raise Killed("killed")
        return real(*a)

    monkeypatch.setattr(A, "token_scores", dies_on_the_fourth_batch)
    with pytest.raises(Killed):
        stages.attribute(tiny_model_dir, examples, preds, str(out), settings)
    assert not out.exists()  # nothing looks finished
    partial = pd.read_parquet(str(out) + ".partial")
    assert len(partial) == 3 * 4  # three batches of four were saved

    calls.clear()
    monkeypatch.setattr(A, "token_scores", lambda *a: (calls.append(1), real(*a))[1])
    with caplog.at_level("INFO", logger="akd"):
        stages.attribute(tiny_model_dir, examples, preds, str(out), settings)
    assert "resuming: 12 of 45 examples were done" in caplog.text
    assert len(calls) == 45 // 4 + 1 - 3  # only the batches not done before
    _same_table(fresh, str(out))
    assert not (d / "ck.parquet.partial").exists()


def test_more_shards_than_batches_leave_empty_shards_that_merge_cleanly(tiny_model_dir, split, monkeypatch):
    d, examples = split
    one = str(d / "many-one.parquet")
    stages.teacher_predict(tiny_model_dir, examples, one, None, SETTINGS)
    loads = []
    import akd.models

    real = akd.models.load_for
    monkeypatch.setattr(akd.models, "load_for", lambda *a: (loads.append(1), real(*a))[1])
    n = 20  # 45 examples in batches of 4: 12 batches, so 8 shards are empty
    parts = [str(d / f"many-{i}.parquet") for i in range(n)]
    for i, path in enumerate(parts):
        stages.teacher_predict(tiny_model_dir, examples, path, None, SETTINGS, shard=(i, n))
    assert sum(len(pd.read_parquet(p)) == 0 for p in parts) == 8 and len(loads) == 12  # empty: no model load
    merged = str(d / "many-merged.parquet")
    stages.merge_shards(parts, examples, merged, schemas.PREDICTIONS)
    _same_table(one, merged)
