"""What the example scripts read from a workflow run's results: its teacher and the training
examples it attributed (the teacher's own prompts and answers), with an error naming what is
missing when the run has not made it."""

from __future__ import annotations

from pathlib import Path

from akd import io, schemas
from akd.prepare import read_examples
from akd.teacher import attribution_inputs


def need(path: Path, what: str) -> Path:
    if not path.exists():
        raise SystemExit(f"error: {path} is missing ({what}); run the workflow's config first, "
                         f"or check --results, --dataset and --teacher")
    return path


def teacher_run(results: str, dataset: str, teacher: str, model: str | None, n: int) -> dict:
    """The run's teacher folder (``model``, else the fine-tuned teacher, else the built model), its
    training predictions' path, whether it answered in a chat template, and the first ``n``
    attributable training examples with their continuations and prompts."""
    base = Path(results) / dataset
    tdir = base / "teacher" / teacher
    if model is None:
        found = [p for p in (tdir / "model", base / "models" / teacher) if p.exists()]
        model = str(found[0] if found else need(tdir / "model", "the teacher's model"))
    predictions = need(tdir / "predictions" / "train.parquet", "the teacher's answers on train")
    preds = io.read_parquet(str(predictions), schemas.PREDICTIONS)
    chat = bool((io.parquet_metadata(str(predictions)).get("info") or {}).get("chat", False))
    examples = read_examples(str(need(base / "data" / "train.parquet", "the training examples")))
    records, targets, prompts, _ = attribution_inputs(examples, preds, "prediction")
    return {"base": base, "teacher_dir": tdir, "model": model, "predictions": str(predictions), "chat": chat,
            "records": records[:n], "targets": targets[:n], "prompts": prompts[:n]}
