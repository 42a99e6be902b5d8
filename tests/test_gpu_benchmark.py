"""benchmarks/gpu.py: the shapes are the published models', its FLOP count is the matrix products
that ran, and its tiny form runs end to end on a CPU."""

import json
import subprocess
import sys

import pytest
import torch

from workflow_helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import gpu  # noqa: E402


@pytest.mark.parametrize("name,published", [
    ("flan-t5-xl", 2_849_757_184),     # google/flan-t5-xl's safetensors: 2.85B parameters
    ("t5-v1_1-base", 247_577_856),     # google/t5-v1_1-base: 248M
    ("qwen2.5-0.5b", 494_032_768),     # Qwen/Qwen2.5-0.5B: 0.49B (tied embeddings counted once)
])
def test_the_shapes_have_the_published_parameter_counts(name, published):
    with torch.device("meta"):
        model = gpu.build(name, torch.device("meta"), tiny=False)
    assert abs(gpu.n_params(model) - published) / published < 0.002


def test_linear_flops_counts_every_product_that_ran():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3, bias=False))
    x = torch.randn(2, 4, 5)  # 8 rows
    with gpu.LinearFlops(net) as counter:
        net(x)
        net(x[:1])  # 4 more rows
    assert counter.flops == 2 * 12 * (5 * 7 + 7 * 3)
    net(x)
    assert counter.flops == 2 * 12 * (5 * 7 + 7 * 3)  # the hooks are gone


def test_synthetic_cqa_has_cqa_lengths():
    rows, words = gpu.synthetic_cqa(500)
    q = sorted(len(r["fields"][0]["text"].split()) for r in rows)
    assert 12 <= q[250] <= 16 and all(len(r["choices"]) == 5 and r["label"] in r["choices"] for r in rows)


def test_the_tiny_benchmark_runs_on_a_cpu(tmp_path):
    out = tmp_path / "gpu.json"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks/gpu.py"), "--tiny", "--peak-tflops", "1",
                          "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["attribution"]["examples"] == 16 and figures["attribution"]["examples_per_s"] > 0
    assert [t["model"] for t in figures["training"]] == ["t5-v1_1-base", "qwen2.5-0.5b"]
    for t in figures["training"]:
        assert t["steps"] == 2 and t["tokens_per_s"] > 0 and 0 < t["flop_utilisation"] < 1
