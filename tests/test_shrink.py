"""Students shrunk from a pretrained model: the kept layers are the source's, the rest of the
weights (embeddings, norms, head) are copied, and the shrunk model runs."""

import pytest
import torch

from akd.models import _build_decoder_only
from akd.shrink import chosen_layers, shrink, spread
from akd.specs import ModelSpecError


def test_spread_keeps_first_and_last():
    assert spread(30, 4) == [0, 10, 19, 29]
    assert spread(6, 6) == list(range(6)) and spread(6, 1) == [0] and spread(2, 2) == [0, 1]
    with pytest.raises(ValueError):
        spread(4, 5)


def _t5():
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    cfg = T5Config(vocab_size=64, d_model=16, d_ff=32, d_kv=8, num_heads=2, num_layers=4, num_decoder_layers=3,
                   decoder_start_token_id=0, pad_token_id=0, eos_token_id=1, dropout_rate=0.0)
    return T5ForConditionalGeneration(cfg).eval()


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_a_shrunk_decoder_keeps_the_source_weights(arch):
    torch.manual_seed(0)
    dims = dict(d_model=16, d_ff=32, num_layers=5, num_heads=2)
    src = _build_decoder_only(arch, dims, 64).eval()
    small = shrink(src, {"layers": [0, 2, 4]}).eval()
    stack = "model.layers" if arch == "llama" else "transformer.h"
    s, n = src.state_dict(), small.state_dict()
    for new_i, old_i in enumerate([0, 2, 4]):
        for name, w in n.items():
            if name.startswith(f"{stack}.{new_i}."):
                assert torch.equal(w, s[name.replace(f"{stack}.{new_i}.", f"{stack}.{old_i}.", 1)])
    for name, w in n.items():
        if not name.startswith(stack + "."):
            assert torch.equal(w, s[name]), name  # embeddings, final norm, head
    ids = torch.tensor([[5, 6, 7, 8]])
    assert small(input_ids=ids).logits.shape == (1, 4, 64)
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in src.parameters())


def test_a_shrunk_t5_keeps_encoder_and_decoder_layers_separately():
    src = _t5()
    assert chosen_layers(src.config, {"encoder_layers": 2, "decoder_layers": [1]}) == {
        "encoder.block": [0, 3], "decoder.block": [1]}
    small = shrink(src, {"encoder_layers": 2, "decoder_layers": [1]}).eval()
    assert small.config.num_layers == 2 and small.config.num_decoder_layers == 1
    s, n = src.state_dict(), small.state_dict()
    assert torch.equal(n["encoder.block.1.layer.1.DenseReluDense.wi.weight"], s["encoder.block.3.layer.1.DenseReluDense.wi.weight"])
    assert torch.equal(n["decoder.block.0.layer.0.SelfAttention.q.weight"], s["decoder.block.1.layer.0.SelfAttention.q.weight"])
    # the relative position bias lives in the first layer of each stack: taken from the source's first
    bias = "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
    assert torch.equal(n[bias], s[bias])
    assert torch.equal(n["shared.weight"], s["shared.weight"]) and torch.equal(n["lm_head.weight"], s["lm_head.weight"])
    out = small(input_ids=torch.tensor([[5, 6, 1]]), labels=torch.tensor([[7, 1]]))
    assert torch.isfinite(out.loss)


def test_keeping_every_layer_gives_the_same_model():
    src = _t5()
    same = shrink(src, {}).eval()
    ids, labels = torch.tensor([[5, 6, 7, 1]]), torch.tensor([[8, 9, 1]])
    assert torch.allclose(src(input_ids=ids, labels=labels).logits, same(input_ids=ids, labels=labels).logits)


def test_bad_layer_lists_are_errors():
    src = _t5()
    with pytest.raises(ValueError, match=r"shrink\.encoder_layers: \[3, 1\] must be increasing layer indices within 0\.\.3"):
        chosen_layers(src.config, {"encoder_layers": [3, 1]})
    with pytest.raises(ModelSpecError, match="shrink: cannot keep 9 of 4 layers"):
        chosen_layers(src.config, {"encoder_layers": 9})


def test_the_workflow_builds_a_shrunk_student_once_for_all_datasets(tmp_path):
    """A `shrink:` model alias: planned once (not per dataset), built by its own job from a local
    pretrained folder, and the students train from it."""
    import yaml
    from transformers import AutoModelForSeq2SeqLM

    from akd.models import build_tiny
    from workflow_helpers import TINY, job_counts, snakemake

    source = tmp_path / "pretrained-t5"
    build_tiny("t5-tiny", ["a small corpus of words", "entailment neutral contradiction", "predict: explain:"], source)
    cfg = yaml.safe_load(TINY.read_text())
    cfg["models"]["small"] = {"shrink": {"from": "pretrained", "encoder_layers": 1, "decoder_layers": [1]}}
    cfg["models"]["pretrained"] = {"model": str(source)}
    cfg["student"]["model"] = "small"
    path = tmp_path / "shrink.yaml"
    path.write_text(yaml.safe_dump(cfg))
    dry = snakemake("-n", "--configfile", str(path), cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr[-3000:]
    counts = job_counts(dry.stdout)
    assert counts["shrink_model"] == 1 and counts["build_model"] == 2  # the teacher's tiny models only
    run = snakemake("results/models/small", "--cores", "1", "--configfile", str(path), cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    small = AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "results/models/small")
    assert small.config.num_layers == 1 and small.config.num_decoder_layers == 1
    assert "encoder.block: [0]; decoder.block: [1]" in (tmp_path / "results/logs/models/small.log").read_text()
