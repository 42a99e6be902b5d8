"""Glue for the workflow's scripts: logs to the rule's log file, threads from the rule."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

GPU_LOCKS = Path(".snakemake") / "akd-gpu-locks"


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
        with gpu_for_job(int(snakemake.resources.get("gpu", 0) or 0)):
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


def visible_gpus() -> list[str]:
    """The GPUs this process may use: CUDA_VISIBLE_DEVICES when set, else what nvidia-smi lists."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip() and d.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


@contextmanager
def gpu_for_job(wanted: int, lock_dir: Path = GPU_LOCKS, poll: float = 2.0, devices: list[str] | None = None):
    """Give a job its own GPU(s) when several are visible (a local multi-GPU machine).

    A job with ``gpu: 0`` sees none.  A job with ``gpu: n`` takes the first n free devices, each
    held by an exclusive lock file until it ends (so parallel jobs never share a device; Snakemake's
    ``--resources gpu=N`` keeps at most N such jobs running), and sees only those.  Under SLURM the
    allocation already shows one device per job, and nothing changes.
    """
    devices = visible_gpus() if devices is None else devices
    if wanted <= 0 or not devices:
        if devices:
            os.environ["CUDA_VISIBLE_DEVICES"] = ""
        yield []
        return
    if len(devices) <= wanted:
        yield devices
        return
    lock_dir.mkdir(parents=True, exist_ok=True)
    held: list = []
    try:
        while len(held) < wanted:
            for dev in devices:
                if len(held) == wanted or any(d == dev for d, _ in held):
                    continue
                handle = open(lock_dir / f"gpu{dev}.lock", "w")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.close()
                    continue
                held.append((dev, handle))
            if len(held) < wanted:
                time.sleep(poll)
        mine = [d for d, _ in held]
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(mine)
        logging.info("GPU(s) for this job: %s (of %s)", ",".join(mine), ",".join(devices))
        yield mine
    finally:
        for _, handle in held:
            handle.close()  # closing releases the lock
