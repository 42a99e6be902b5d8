"""The precision switch (akd.precision): float32 by default on a CPU, bf16 autocast when asked, for
training and attribution; weights stay float32."""

import copy

import numpy as np
import pytest
import torch

from akd.attribution import attribute
from akd.precision import autocast
from akd.sources.synthetic import generate
from akd.training import Example, TrainConfig, train


def test_autocast_is_bf16_only_where_asked():
    a, b = torch.randn(4, 8), torch.randn(8, 4)
    with autocast("cpu", "auto"):
        assert (a @ b).dtype == torch.float32  # a CPU runs float32 unless told
    with autocast("cpu", "float32"):
        assert (a @ b).dtype == torch.float32
    with autocast("cpu", "bf16"):
        assert (a @ b).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="precision"):
        autocast("cpu", "fp8")


@pytest.mark.parametrize("arch", ["t5-nano", "llama-nano"])
def test_bf16_training_runs_in_bf16_and_keeps_float32_weights(tiny_models, arch):
    model, tok = tiny_models[arch]
    rows = [Example(f"{a} plus {b}", str(a + b), f"add {a} and {b}") for a in range(4) for b in range(4)]
    losses = {}
    for precision in ("float32", "bf16"):
        m = copy.deepcopy(model)
        cfg = TrainConfig(steps=4, batch_size=8, lr=3e-3, eval_every=4, max_new_tokens=2, seed=0, precision=precision)
        result = train(m, tok, rows, rows[:2], "math", cfg, multitask=True, log=lambda s: None, show_progress=False)
        losses[precision] = result.history[-1]["loss"]
        assert {p.dtype for p in m.parameters()} == {torch.float32}
    # the same run, rounded differently: close, not equal
    assert losses["float32"] != losses["bf16"] and abs(losses["float32"] - losses["bf16"]) < 0.1 * losses["float32"]


def test_bf16_attribution_ranks_words_close_to_float32(tiny_model):
    model, tok = tiny_model
    ex = generate("nli", 8, 3, "test")
    targets = [e["label"] for e in ex]
    full = attribute(model, tok, ex, targets, batch_size=4, show_progress=False, precision="float32")
    half = attribute(model, tok, ex, targets, batch_size=4, show_progress=False, precision="bf16")
    for a, b in zip(full, half):
        assert a["words"] == b["words"] and a["scores"] != b["scores"]
        assert np.corrcoef(a["scores"], b["scores"])[0, 1] > 0.9
