import copy
import math

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


def test_rows_without_a_rationale_train_the_label_task_only(tiny_model):
    """Examples whose teacher answer did not parse have no rationale: no explain: batch for them."""
    model, tok = tiny_model
    cfg = TrainConfig(steps=1, batch_size=2)
    without = [Example("a b", "entailment", None), Example("c d", "neutral", None)]
    mixed = [Example("a b", "entailment", "a"), Example("c d", "neutral", None)]
    label_only = train(copy.deepcopy(model), tok, without, without, "nli", cfg, multitask=False, show_progress=False)
    none = train(copy.deepcopy(model), tok, without, without, "nli", cfg, multitask=True, show_progress=False)
    some = train(copy.deepcopy(model), tok, mixed, mixed, "nli", cfg, multitask=True, show_progress=False)
    def count(sources, targets):  # tokens of one batch, as training counts them
        return sum(len(tok(x)["input_ids"]) + len(tok(text_target=y)["input_ids"]) for x, y in zip(sources, targets))

    labels = ["entailment", "neutral"]
    assert label_only.tokens == count(["a b", "c d"], labels)
    assert none.tokens == count(["predict: a b", "predict: c d"], labels)  # no explain: batch
    assert some.tokens == none.tokens + count(["explain: a b"], ["a"])  # one explain: row


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
                             tmp_path / "a.png", references={"paper": {"d": 61.5}})
    for v, accs in truth.items():
        row = table[table["variant"] == v].iloc[0]
        assert row["mean"] == pytest.approx(np.mean(accs), abs=0.01)
        assert row["std"] == pytest.approx(np.std(accs, ddof=1), abs=0.01)
        assert row["seeds"] == 3 and row["teacher"] == 90.0
    md = (tmp_path / "a.md").read_text()
    assert f"{np.mean(truth['standard']):.2f} ± {np.std(truth['standard'], ddof=1):.2f}" in md
    assert list(table["variant"]) == ["standard", "saliency-k5"]
    assert "| paper | 61.50 |" in md


def test_write_is_atomic_and_schema_checked(tmp_path):
    p = tmp_path / "x.parquet"
    with pytest.raises(io.SchemaError):
        io.write_parquet(pd.DataFrame({"id": ["1"]}), p, schemas.EVAL_PREDICTIONS)
    assert not p.exists() and not list(tmp_path.iterdir())
    io.write_parquet(pd.DataFrame({"id": ["1"], "prediction": ["x"]}), p, schemas.EVAL_PREDICTIONS.remove(1).remove(2))
    with pytest.raises(io.SchemaError, match="label"):
        io.read_parquet(p, schemas.EVAL_PREDICTIONS)


RESUME_SCRIPT = """
import os, signal, sys, json
import torch
torch.set_num_threads(1)
from akd.models import load_model
from akd.sources.synthetic import generate
from akd.training import Example, TrainConfig, train
model_dir, state_dir, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [Example(e["input"], e["label"], e["llm_rationale"]) for e in generate("nli", 120, 0, "train")]
valid = [Example(e["input"], e["label"]) for e in generate("nli", 20, 0, "valid")]
model, tok = load_model(model_dir)
cfg = TrainConfig(steps=20, batch_size=8, micro_batch_size=4, lr=3e-3, eval_every=4, save_every=5, max_new_tokens=6)

def die(step):
    if step == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)  # a node failure: no cleanup, no exception handlers

res = train(model, tok, rows, valid, "nli", cfg, multitask=True, show_progress=False, log=lambda s: None,
            state_dir=state_dir or None, on_step=die)
print(json.dumps({"history": res.history, "resumed_from": res.resumed_from, "curve": res.curve,
                  "checksum": float(sum(p.double().sum() for p in model.parameters()))}))
"""


@pytest.mark.parametrize("model_dir", ["tiny_model_dir", "tiny_decoder_dir"])
def test_killed_training_resumes_and_matches_an_uninterrupted_run(model_dir, tmp_path, request):
    """Encoder-decoder (t5-nano) and decoder-only (llama-nano) students alike."""
    import json
    import subprocess
    import sys

    tiny_model_dir = request.getfixturevalue(model_dir)

    script = tmp_path / "run.py"
    script.write_text(RESUME_SCRIPT)
    state = tmp_path / "state"

    def run(state_dir, kill_at):
        return subprocess.run([sys.executable, str(script), tiny_model_dir, state_dir, str(kill_at)],
                              capture_output=True, text=True)

    killed = run(str(state), 13)
    assert killed.returncode == -9, killed.stderr[-2000:]  # died by the signal, mid-run
    assert (state / "state.pt").exists() and not (state / "state.pt.tmp").exists()
    resumed = run(str(state), -1)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    straight = run("", -1)
    r, s = json.loads(resumed.stdout.splitlines()[-1]), json.loads(straight.stdout.splitlines()[-1])
    assert r["resumed_from"] == 11  # the last state was saved at step 10
    assert [h["valid_accuracy"] for h in r["history"]] == [h["valid_accuracy"] for h in s["history"]]
    assert [h["loss"] for h in r["history"]] == pytest.approx([h["loss"] for h in s["history"]], rel=1e-6)
    assert r["checksum"] == pytest.approx(s["checksum"], rel=1e-9)
    # the curve survives the kill: every step once, the losses of the uninterrupted run
    assert [c["step"] for c in r["curve"]] == list(range(1, 21))
    for name in ("lr", "label_loss", "rationale_loss", "tokens"):
        assert [c[name] for c in r["curve"]] == pytest.approx([c[name] for c in s["curve"]], rel=1e-6), name


def test_accumulation_equals_one_big_batch(tiny_model):
    big, small = copy.deepcopy(tiny_model[0]), copy.deepcopy(tiny_model[0])
    rows = _rows(64, "train")
    kw = dict(steps=3, batch_size=16, lr=1e-3, eval_every=3, max_new_tokens=4, group_by_length=False)
    train(big, tiny_model[1], rows, rows[:4], "nli", TrainConfig(**kw), multitask=True, show_progress=False)
    train(small, tiny_model[1], rows, rows[:4], "nli", TrainConfig(micro_batch_size=4, **kw), multitask=True,
          show_progress=False)
    for a, b in zip(big.parameters(), small.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_parallel_gpu_jobs_get_their_own_device(tmp_path, monkeypatch):
    import os
    import threading

    from akd.smk import gpu_for_job, visible_gpus

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    devices = visible_gpus()
    assert devices == ["3", "5"]
    with gpu_for_job(1, tmp_path, devices=devices) as first:
        assert os.environ["CUDA_VISIBLE_DEVICES"] == first[0]
        with gpu_for_job(1, tmp_path, devices=devices) as second:
            assert sorted(first + second) == ["3", "5"]
            taken, release = [], threading.Event()

            def third_job():
                with gpu_for_job(1, tmp_path, poll=0.05, devices=devices) as got:
                    taken.append(got)
                    release.wait(5)

            waiter = threading.Thread(target=third_job)
            waiter.start()
            waiter.join(0.5)
            assert waiter.is_alive() and not taken  # both devices busy: the third job waits
        waiter.join(0.5)
        assert taken == [second]  # and gets the device the second job gave back
        release.set()
        waiter.join(5)
    # a job asking for two devices gets both at once, and holds none while it waits
    with gpu_for_job(1, tmp_path, devices=devices) as one:
        pair_got = []

        def pair_job():
            with gpu_for_job(2, tmp_path, poll=0.05, devices=devices) as both:
                pair_got.append(sorted(both))

        pair = threading.Thread(target=pair_job)
        pair.start()
        pair.join(0.3)
        assert pair.is_alive() and not pair_got
        with gpu_for_job(1, tmp_path, poll=0.01, devices=devices) as free:
            assert free == [d for d in devices if d not in one]
    pair.join(5)
    assert pair_got == [["3", "5"]]
    with gpu_for_job(0, tmp_path, devices=devices) as none:  # a job without a GPU sees none
        assert none == [] and os.environ["CUDA_VISIBLE_DEVICES"] == ""


def test_batches_group_by_token_counts_of_input_and_target(tiny_model):
    import random

    from akd.training import length_keys, next_batches

    model, tok = tiny_model
    rng = random.Random(0)
    words = "the dog cat runs sleeps near barn fox old".split()
    rows = [Example(" ".join(rng.choice(words) for _ in range(rng.randint(2, 60))), "entailment",
                    " ".join(rng.choice(words) for _ in range(rng.randint(1, 30)))) for _ in range(256)]
    keys = length_keys(tok, rows, multitask=True)
    assert keys[0] == (len(tok(rows[0].input)["input_ids"]) // 8, len(tok(text_target=rows[0].rationale)["input_ids"]))
    cfg = TrainConfig(steps=1, batch_size=8, lr=1e-3)

    def padded_share(batches):
        real = sum(k[0] * 8 + k[1] for b in batches for k in (keys[j] for j in b))
        computed = sum(len(b) * (max(keys[j][0] for j in b) * 8 + max(keys[j][1] for j in b)) for b in batches)
        return 1 - real / computed

    grouped = next_batches(rows, cfg, random.Random(1), keys)
    shuffled = next_batches(rows, TrainConfig(steps=1, batch_size=8, lr=1e-3, group_by_length=False), random.Random(1))
    assert sorted(j for b in grouped for j in b) == list(range(256))
    assert padded_share(grouped) < padded_share(shuffled) / 3


def test_seqkd_students_learn_the_teachers_parsed_answers():
    """The seqkd kinds replace each gold label by the teacher's parsed answer on that example and
    leave out the examples it did not answer; their rationales are matched by id as before."""
    import pandas as pd

    from akd.training import student_examples

    examples = pd.DataFrame({"id": ["a", "b", "c"], "input": ["x1", "x2", "x3"], "label": ["g1", "g2", "g3"],
                             "llm_rationale": [None] * 3})
    teacher = pd.DataFrame({"id": ["a", "b", "c"], "prediction": ["t1", "", "t3"], "parsed": [True, False, True]})
    logged = []
    rows, multitask = student_examples(examples, "seqkd", teacher=teacher, log=logged.append)
    assert [(r.input, r.label) for r in rows] == [("x1", "t1"), ("x3", "t3")] and not multitask
    assert logged and "1 of 3" in logged[0]
    rationales = pd.DataFrame({"id": ["a", "b", "c"], "rationale": ["r1", "r2", "r3"]})  # target: label attributes all
    rows, multitask = student_examples(examples, "seqkd-saliency-k2", rationales, teacher=teacher, log=logged.append)
    assert [(r.label, r.rationale) for r in rows] == [("t1", "r1"), ("t3", "r3")] and multitask
    # the gold-label kinds never read the teacher's answers
    rows, _ = student_examples(examples, "saliency-k2", rationales, teacher=teacher)
    assert [r.label for r in rows] == ["g1", "g2", "g3"]
    with pytest.raises(ValueError, match="needs its predictions"):
        student_examples(examples, "seqkd")


def test_llm_rows_without_a_rationale_train_the_label_task_alone():
    import pandas as pd

    from akd.training import student_examples

    examples = pd.DataFrame({"id": ["a", "b", "c"], "input": ["x1", "x2", "x3"], "label": ["g1", "g2", "g3"],
                             "llm_rationale": ["r1", None, "  "]})
    rows, multitask = student_examples(examples, "llm")
    assert [r.rationale for r in rows] == ["r1", None, None] and multitask  # never an empty target
    with pytest.raises(ValueError, match="needs LLM rationales, and this dataset has none"):
        student_examples(examples.assign(llm_rationale=["", None, " "]), "llm")


def test_shares_of_the_training_data_are_nested_and_the_same_for_every_run():
    import pandas as pd

    from akd.training import data_subset, run_examples

    df = pd.DataFrame({"id": [f"e{i}" for i in range(40)], "input": [f"x{i}" for i in range(40)],
                       "label": ["y"] * 40, "llm_rationale": ["why"] * 40})
    quarter, half = data_subset(df, 0.25, seed=0), data_subset(df, 0.5, seed=0)
    assert len(quarter) == 10 and len(half) == 20 and set(quarter["id"]) < set(half["id"])
    assert list(quarter["id"]) == sorted(quarter["id"], key=lambda i: int(i[1:]))  # split order kept
    assert set(data_subset(df, 0.25, seed=1)["id"]) != set(quarter["id"])  # the subset seed draws others
    assert data_subset(df, 1.0) is df and len(data_subset(df, 0.01)) == 1
    # every variant (and seed) of a share trains on those examples; rationales of others are set aside
    rationales = pd.DataFrame({"id": df["id"], "rationale": ["r"] * 40})
    standard, _ = run_examples(df, "standard-data0.25")
    saliency, multitask = run_examples(df, "saliency-k2-data0.25", rationales, log=lambda s: None)
    assert [r.input for r in standard] == [r.input for r in saliency] == list(quarter["input"]) and multitask


def _hf_target_logits(model, tok, sources, targets):
    """The logits at every target token of the rows, row by row, and the tokens, computed
    independently (T5: its decoder fed the shifted labels; decoder-only: lm-eval's pair rule, the
    causal shift written out)."""
    from lm_eval_rule import pair_ids

    if model.config.is_encoder_decoder:
        enc = tok(sources, return_tensors="pt", padding=True)
        lab = tok(text_target=targets, return_tensors="pt", padding=True)["input_ids"]
        lab[lab == tok.pad_token_id] = -100
        logits = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], labels=lab).logits
        return logits[lab >= 0], lab[lab >= 0]
    seqs = [pair_ids(tok, s, " " + t, False) for s, t in zip(sources, targets)]
    n = max(len(p) + len(c) + 1 for p, c in seqs)
    ids = torch.full((len(seqs), n), tok.pad_token_id or 0)
    mask = torch.zeros((len(seqs), n), dtype=torch.long)
    lab = torch.full((len(seqs), n), -100)
    for i, (p, c) in enumerate(seqs):
        r = p + c + [tok.eos_token_id]
        ids[i, : len(r)], mask[i, : len(r)] = torch.tensor(r), 1
        lab[i, len(p): len(r)] = torch.tensor(c + [tok.eos_token_id])
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
    return logits[lab[:, 1:] >= 0], lab[:, 1:][lab[:, 1:] >= 0]


def _hf_task_losses(model, tok, rows, prefix="predict: "):
    """Each task's loss over the whole batch, computed independently (:func:`_hf_target_logits`; the
    mean cross-entropy over every target token of the batch): the label task, and the rationale task
    over the rows that have one (None when none has)."""

    def task_loss(sources, targets):
        return torch.nn.functional.cross_entropy(*_hf_target_logits(model, tok, sources, targets))

    label = task_loss([prefix + r.input for r in rows], [r.label for r in rows])
    explained = [r for r in rows if r.rationale is not None]
    rationale = task_loss(["explain: " + r.input for r in explained], [r.rationale for r in explained]) if explained else None
    return label, rationale


def _hf_batch_loss(model, tok, rows, w, prefix="predict: "):
    """(1 - w) * label + w * rationale, as :func:`_hf_task_losses` computes them (rationale 0 when no row has one)."""
    label, rationale = _hf_task_losses(model, tok, rows, prefix)
    return (1 - w) * label + (w * rationale if rationale is not None else 0)


@pytest.mark.parametrize("arch,shared", [("t5-nano", False), ("t5-nano", True), ("llama-nano", False)])
def test_the_gradient_of_a_batch_does_not_depend_on_the_micro_batch_size(tiny_models, arch, shared):
    """Micro-batches of 1, 2, 4 and the whole batch of 8 give the gradient of the whole batch's
    loss, to 1e-6 in float64: targets of very different lengths, rows without a rationale (one
    micro-batch of 2 has none), computed independently with the model's own loss; for T5 also with
    both tasks' rows in one encoder pass (``shared_encoder``)."""
    from akd.training import step_gradients

    model, tok = tiny_models[arch]
    model = copy.deepcopy(model).double().requires_grad_(True)  # (an attribution test may have frozen it)
    base = generate("nli", 8, 5, "train")
    rows = [Example(e["input"], e["label"], e["llm_rationale"]) for e in base]
    rows[0].rationale = " ".join(["because the premise says so"] * 6)  # long
    rows[1].rationale = "so"  # short
    rows[2].rationale = rows[3].rationale = None  # the micro-batch [2, 3] has no rationale row
    rows[5].label = "neutral neutral neutral"  # a longer label
    w = 0.3
    model.zero_grad()
    label, rationale = _hf_task_losses(model, tok, rows)
    ((1 - w) * label + w * rationale).backward()
    want = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    for micro in (1, 2, 4, 8):
        model.zero_grad()
        cfg = TrainConfig(steps=1, batch_size=8, micro_batch_size=micro, rationale_weight=w, precision="float32",
                          max_target_tokens=256)  # nothing cut: the reference cuts nothing
        losses = step_gradients(model, tok, rows, cfg, multitask=True, micro=micro, label_prefix="predict: ",
                                shared_encoder=shared)
        assert losses.label == pytest.approx(label.item(), rel=1e-9)  # each task's loss as the curve logs it
        assert losses.rationale == pytest.approx(rationale.item(), rel=1e-9)
        assert losses.total == pytest.approx(((1 - w) * label + w * rationale).item(), rel=1e-9)
        for n, p in model.named_parameters():
            if n in want:
                torch.testing.assert_close(p.grad, want[n], rtol=1e-6, atol=1e-9, msg=f"{n}, micro {micro}")


def test_a_resume_whose_inputs_changed_starts_afresh(tiny_model, tmp_path):
    """A job stopped after its state was saved; the rerun's rationales differ (a new teacher, the
    same number of rows): it says why and starts from step 1.  With the same inputs it resumes."""
    model, tok = tiny_model
    rows = _rows(40, "train")
    cfg = TrainConfig(steps=4, batch_size=4, lr=1e-3, eval_every=2, save_every=2, max_new_tokens=4)

    def stop(step):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(copy.deepcopy(model), tok, rows, rows[:4], "nli", cfg, True, show_progress=False, log=lambda s: None,
              state_dir=tmp_path, on_step=stop)
    assert (tmp_path / "state.pt").exists()
    other = [Example(r.input, r.label, (r.rationale or "") + " too") for r in rows]
    said = []
    fresh = train(copy.deepcopy(model), tok, other, rows[:4], "nli", cfg, True, show_progress=False, log=said.append,
                  state_dir=tmp_path)
    assert fresh.resumed_from == 0
    assert any("not resuming" in s and "step 2" in s for s in said), said
    # the state is now the fresh run's (saved at step 2): the same inputs resume it
    with pytest.raises(KeyboardInterrupt):
        train(copy.deepcopy(model), tok, other, rows[:4], "nli", cfg, True, show_progress=False, log=lambda s: None,
              state_dir=tmp_path, on_step=stop)
    again = train(copy.deepcopy(model), tok, other, rows[:4], "nli", cfg, True, show_progress=False, log=said.append,
                  state_dir=tmp_path)
    assert again.resumed_from == 3
    # another starting model (same shapes, other weights) does not resume it either
    moved = copy.deepcopy(model)
    with torch.no_grad():
        next(moved.parameters()).add_(0.01)
    assert train(moved, tok, other, rows[:4], "nli", cfg, True, show_progress=False, log=said.append,
                 state_dir=tmp_path).resumed_from == 0


@pytest.mark.parametrize("multitask", [True, False])
def test_every_step_goes_into_the_training_curve_beside_the_model(tiny_model, tmp_path, multitask):
    """train_log.parquet: a row per step with the learning rate of the schedule (linear warm-up over
    2 steps, then linear decay), the validation accuracy at the evaluated steps only (those of
    train.json's history), each task's loss and their weighted sum, the tokens."""
    from akd.training import result_info, save_trained

    model, tok = copy.deepcopy(tiny_model[0]), tiny_model[1]
    cfg = TrainConfig(steps=5, batch_size=4, lr=1e-3, warmup_steps=2, eval_every=2, max_new_tokens=4,
                      rationale_weight=0.3)
    res = train(model, tok, _rows(40, "train"), _rows(6, "valid"), "nli", cfg, multitask, show_progress=False)
    save_trained(model, tok, tmp_path / "model", result_info(res), result=res)
    curve = io.read_parquet(tmp_path / "model" / schemas.TRAIN_LOG_FILE, schemas.TRAIN_LOG)
    assert curve["step"].tolist() == [1, 2, 3, 4, 5]
    assert curve["lr"].tolist() == pytest.approx([1e-3 * f for f in (0.5, 1.0, 1.0, 2 / 3, 1 / 3)])
    evaluated = curve.dropna(subset=["valid_accuracy"])
    assert evaluated["step"].tolist() == [h["step"] for h in res.history] == [2, 4, 5]
    assert evaluated["valid_accuracy"].tolist() == [h["valid_accuracy"] for h in res.history]
    assert (curve["label_loss"] > 0).all() and (curve["tokens"] > 0).all() and (curve["tokens_per_second"] > 0).all()
    if multitask:
        assert curve["loss"].tolist() == pytest.approx((0.7 * curve["label_loss"] + 0.3 * curve["rationale_loss"]).tolist())
    else:
        assert curve["rationale_loss"].isna().all()
        assert curve["loss"].tolist() == pytest.approx(curve["label_loss"].tolist())


def test_the_curve_goes_to_tensorboard_only_when_it_is_installed(tmp_path, monkeypatch):
    """Without the tensorboard package nothing is written and nothing fails; with it (a stand-in
    SummaryWriter here), every non-NaN value of the curve is a scalar at its step."""
    import sys
    import types

    from akd.training import write_tensorboard

    curve = [{"step": 1, "loss": 2.0, "label_loss": 2.0, "rationale_loss": math.nan, "kd_divergence": math.nan,
              "lr": 1e-3, "tokens_per_second": 100.0, "valid_accuracy": math.nan},
             {"step": 2, "loss": 1.5, "label_loss": 1.5, "rationale_loss": math.nan, "kd_divergence": math.nan,
              "lr": 5e-4, "tokens_per_second": 110.0, "valid_accuracy": 0.5}]
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as when tensorboard is missing
    assert write_tensorboard(curve, tmp_path / "none") is False and not (tmp_path / "none").exists()
    written = []

    class Writer:
        def __init__(self, folder):
            written.append(("open", folder))

        def add_scalar(self, tag, value, step):
            written.append((tag, value, step))

        def close(self):
            written.append(("close",))

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", types.SimpleNamespace(SummaryWriter=Writer))
    assert write_tensorboard(curve, tmp_path / "tb") is True
    assert written[0] == ("open", str(tmp_path / "tb")) and written[-1] == ("close",)
    scalars = written[1:-1]
    assert ("train/valid_accuracy", 0.5, 2) in scalars and ("train/lr", 1e-3, 1) in scalars
    assert len(scalars) == 2 * 4 + 1 and not any(t == "train/rationale_loss" for t, *_ in scalars)


@pytest.mark.parametrize("arch", ["t5-nano", "llama-nano"])
@pytest.mark.parametrize("top", [None, 5])
def test_logit_distillation_trains_on_the_teachers_distributions(tiny_models, arch, top):
    """kd: the label task's loss is (1 - a) * CE + a * T^2 * KL(p_teacher^T || q_student^T), each a
    mean over the batch's label tokens, at any micro-batch size: the gradient against the full
    softmaxes written out in float64 (the teacher: another copy of the model, its weights perturbed;
    all its tokens kept, or its 5 most probable and the rest, against the coarsened softmaxes)."""
    from akd.kd import sparse_teacher
    from akd.training import step_gradients

    model, tok = tiny_models[arch]
    model = copy.deepcopy(model).double().requires_grad_(True)
    teacher = copy.deepcopy(model)
    with torch.no_grad():
        for p in teacher.parameters():
            p.add_(0.05 * torch.randn_like(p))
    base = generate("nli", 6, 7, "train")
    rows = [Example(e["input"], e["label"], e["llm_rationale"]) for e in base]
    rows[1].rationale = None
    a, t, w = 0.7, 2.0, 0.4
    V = model.config.vocab_size
    for r in rows:  # the teacher's distributions over this row's label tokens, as the teacher stage keeps them
        logits, ids = _hf_target_logits(teacher, tok, ["predict: " + r.input], [r.label])
        top_ids, logp, rest = sparse_teacher(logits.detach(), top or V, t)
        r.teacher = {"label_ids": ids.tolist(), "top_ids": list(top_ids.numpy()), "top_logprobs": list(logp.numpy()),
                     "rest_logprob": rest.numpy()}
    model.zero_grad()
    s_logits, targets = _hf_target_logits(model, tok, ["predict: " + r.input for r in rows], [r.label for r in rows])
    t_logits, _ = _hf_target_logits(teacher, tok, ["predict: " + r.input for r in rows], [r.label for r in rows])
    p, logq = torch.softmax(t_logits.detach() / t, -1), torch.log_softmax(s_logits / t, -1)
    if top:  # coarsened: each row's 5 kept tokens, then the rest
        kept = p.topk(top, -1).indices
        rest_p = 1 - p.gather(-1, kept).sum(-1, keepdim=True)
        rest_q = (1 - logq.exp().gather(-1, kept).sum(-1, keepdim=True)).log()
        p, logq = torch.cat([p.gather(-1, kept), rest_p], -1), torch.cat([logq.gather(-1, kept), rest_q], -1)
    kl = (p * (p.log() - logq)).sum(-1).mean()
    ce = torch.nn.functional.cross_entropy(s_logits, targets)
    _, rationale = _hf_task_losses(model, tok, rows)
    ((1 - w) * ((1 - a) * ce + a * t * t * kl) + w * rationale).backward()
    want = {n: q.grad.clone() for n, q in model.named_parameters() if q.grad is not None}
    for micro in (1, 4, 6):
        model.zero_grad()
        cfg = TrainConfig(steps=1, batch_size=6, rationale_weight=w, precision="float32", max_target_tokens=256,
                          kd={"alpha": a, "temperature": t, "divergence": "forward"})
        losses = step_gradients(model, tok, rows, cfg, multitask=True, micro=micro, label_prefix="predict: ")
        assert losses.kd == pytest.approx(kl.item(), rel=1e-9) and losses.label == pytest.approx(ce.item(), rel=1e-9)
        for n, q in model.named_parameters():
            if n in want:
                torch.testing.assert_close(q.grad, want[n], rtol=1e-6, atol=1e-9, msg=f"{n}, micro {micro}")


def test_logit_distillation_refuses_label_tokens_that_are_not_the_students(tiny_model):
    from akd.training import step_gradients

    model, tok = tiny_model
    row = Example("premise </s> hypothesis", "neutral", None,
                  teacher={"label_ids": [5, 6], "top_ids": [np.arange(3)] * 2, "top_logprobs": [np.zeros(3)] * 2,
                           "rest_logprob": np.zeros(2)})
    cfg = TrainConfig(steps=1, batch_size=1, kd={"alpha": 0.5, "temperature": 1.0, "divergence": "forward"})
    with pytest.raises(ValueError, match="not the student's"):
        step_gradients(model, tok, [row], cfg, multitask=False, micro=1)


def test_the_optimiser_is_fused_adamw_with_the_plain_update():
    """akd.training.adamw takes torch's fused kernel on a CPU, and its steps are AdamW's own (the
    for-loop implementation) to float rounding."""
    from akd.training import adamw

    torch.manual_seed(0)
    cfg = TrainConfig(lr=1e-2, weight_decay=0.1)
    a = [torch.randn(7, 5, requires_grad=True), torch.randn(3, requires_grad=True)]
    b = [p.detach().clone().requires_grad_(True) for p in a]
    fused = adamw(a, cfg)
    plain = torch.optim.AdamW(b, lr=1e-2, weight_decay=0.1, foreach=False)
    assert fused.defaults["fused"] is True
    for _ in range(3):
        grads = [torch.randn_like(p) for p in a]
        for params, opt in ((a, fused), (b, plain)):
            for p, g in zip(params, grads):
                p.grad = g.clone()
            opt.step()
    for p, q in zip(a, b):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)
