"""Word-level feature ablation beside saliency on a workflow run's teacher (issue 12, item 4).

Feature ablation costs one forward per word (about 37 per CQA question), so on a CPU the
workflow's `attribution.methods: [feature_ablation]` over a whole training split is long. This
script runs it on the first ``--n`` training examples the run attributed, with the run's own
teacher, prompts and answers, and puts its top-k words beside the run's saliency and random
words of the same examples: ERASER faithfulness (comprehensiveness, sufficiency; the workflow's
`faithfulness` stage) and, where the data has people's rationales, plausibility (precision, F1).

    # the first real run (after `make real`)
    python examples/ablation_vs_saliency.py --results results/offline-real --dataset cqa \
        --teacher smollm2-instruct --n 100

Writes ``<results>/<dataset>/teacher/<teacher>/ablation_sample/`` (the attributions, top-k words
and per-example faithfulness) and ``<results>/tables/ablation_vs_saliency.{md,csv}``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

sys.path.insert(0, str(ROOT / "examples"))

from _teacher_run import need, teacher_run  # noqa: E402
from akd import io, schemas, stages  # noqa: E402
from akd.attribution import Settings, attribute  # noqa: E402
from akd.models import load_model  # noqa: E402
from akd.plausibility import agreement  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default="results", help="the run's results folder")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--teacher", required=True, help="the teacher's alias in that run")
    ap.add_argument("--model", default=None, help="the teacher's folder (default: the run's fine-tuned teacher)")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--k", type=int, nargs="+", default=[1, 3, 5])
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    run_ = teacher_run(args.results, args.dataset, args.teacher, args.model, args.n)
    base, model_dir, predictions, chat = run_["base"], run_["model"], run_["predictions"], run_["chat"]
    records, targets, prompts = run_["records"], run_["targets"], run_["prompts"]
    references = {(src, k): base / "rationales" / args.teacher / src / f"k{k}" / "train.parquet"
                  for src in ("saliency", "random") for k in args.k}
    for (src, k), path in references.items():
        need(path, f"the run's {src} words at k {k}")
    out = run_["teacher_dir"] / "ablation_sample"
    out.mkdir(parents=True, exist_ok=True)
    model, tok = load_model(model_dir, "cpu")
    t0 = time.perf_counter()
    rows = attribute(model, tok, records, targets, Settings(method="feature_ablation", batch_size=args.batch_size),
                     show_progress=True, prompts=prompts, add_special_tokens=not chat)
    secs = time.perf_counter() - t0
    print(f"feature_ablation: {len(rows)} examples in {secs:.0f} s ({len(rows) / secs:.2f} ex/s)", flush=True)
    del model
    fa = str(out / "feature_ablation.parquet")
    io.write_parquet(pd.DataFrame(rows, columns=schemas.ATTRIBUTIONS.names), fa, schemas.ATTRIBUTIONS,
                     {"model": model_dir, "seconds": round(secs, 2)})

    human_path = base / "data" / "human_rationales.parquet"
    human = (io.read_parquet(str(human_path), schemas.HUMAN_RATIONALES).set_index("id")["rationale"]
             if human_path.exists() else None)
    table = []
    for k in args.k:
        stages.rationales(fa, str(out / f"feature_ablation_k{k}.parquet"), k)
        sources = {"feature_ablation": str(out / f"feature_ablation_k{k}.parquet"),
                   "saliency": str(references["saliency", k]), "random": str(references["random", k])}
        faith = stages.faithfulness(model_dir, predictions, fa, sources, k, str(out / f"faithfulness_k{k}.parquet"),
                                    {"n": args.n, "batch_size": args.batch_size, "threads": args.threads,
                                     "device": "cpu"})
        for source, path in sources.items():
            f = faith[faith["source"] == source]
            row = {"k": k, "source": source, "n": len(f), "comprehensiveness": f["comprehensiveness"].mean(),
                   "sufficiency": f["sufficiency"].mean()}
            if human is not None:
                chosen = io.read_parquet(path, schemas.RATIONALES).set_index("id")["words"]
                scores = pd.DataFrame([agreement(list(chosen[i]), human[i]) for i in f["id"] if i in human.index],
                                      columns=["precision", "recall", "f1"])
                row.update(scores.mean().to_dict())
            table.append(row)
    df = pd.DataFrame(table).round(4)
    tables = Path(args.results) / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    df.to_csv(tables / "ablation_vs_saliency.csv", index=False)
    note = (f"\n\n{args.dataset}: the first {len(rows)} training examples the run attributed; feature ablation "
            f"{secs:.0f} s on {args.threads} threads. Faithfulness as the workflow's faithfulness table; "
            "precision / recall / F1 against people's rationales as its plausibility table.\n")
    (tables / "ablation_vs_saliency.md").write_text(df.to_markdown(index=False) + note)
    print(df.to_markdown(index=False))


if __name__ == "__main__":
    main()
