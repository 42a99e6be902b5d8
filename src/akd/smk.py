"""Glue for the workflow's scripts: logs to the rule's log file, threads from the rule."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def job(snakemake):
    """Send logging, warnings and progress bars (stderr) of the job to its log file."""
    log_path = Path(snakemake.log[0]) if snakemake.log else None
    handle = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(log_path, "w", buffering=1)
        sys.stderr = handle
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s",
                        force=True)
    try:
        from .models import offline_env, set_threads

        set_threads(snakemake.threads)
        if _all_local(snakemake):
            offline_env()
        yield
    except Exception:
        logging.exception("job failed")
        raise
    finally:
        if handle is not None:
            sys.stderr = sys.__stderr__
            handle.close()


def _all_local(snakemake) -> bool:
    """True when no model of this job comes from the hub (then the hub is never contacted)."""
    settings = getattr(snakemake.params, "settings", None) or {}
    model = getattr(snakemake.params, "model", None) or (settings.get("model") if isinstance(settings, dict) else None)
    return model is None or str(model).startswith("tiny:") or Path(str(model)).is_dir()


def settings(snakemake) -> dict:
    return dict(snakemake.params.settings, threads=snakemake.threads)
