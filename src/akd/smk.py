"""Glue for the workflow's scripts: logs to the rule's log file, threads from the rule."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import AkdError

GPU_LOCKS = Path(".snakemake") / "akd-gpu-locks"


def config_checked(check, *args) -> None:
    """Run a config check while Snakemake reads the workflow; a config error ends the run with its
    message alone (which names the key), not a traceback."""
    try:
        check(*args)
    except AkdError as e:
        print(f"Error in the config: {e}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None


def notify(notices) -> None:
    """Print the config's notices (what a valid config leaves out) while Snakemake plans."""
    for notice in notices:
        print(f"Note on the config: {notice}", file=sys.stderr, flush=True)


SCHEDULER_CHATTER = ("Select jobs to execute...", "Execute ")


def quiet_scheduler(quiet) -> None:
    """On a quiet terminal (Snakemake's ``--quiet`` holding ``rules``, as the workflow profile sets
    it), drop the scheduler's "Select jobs to execute..." and "Execute N jobs..." lines: two of the
    five lines every job prints then, none of them naming the job (each job's "Finished jobid: N
    (Rule: X)" line and the step counts stay). ``--quiet host`` brings them back with the job blocks."""
    if "RULES" not in {getattr(q, "name", str(q)).upper() for q in (quiet or ())}:
        return

    def keep(record: logging.LogRecord) -> bool:
        message = record.getMessage() if isinstance(record.msg, str) else ""
        return not (message == SCHEDULER_CHATTER[0] or (message.startswith(SCHEDULER_CHATTER[1]) and message.endswith(" jobs...")))

    logging.getLogger("snakemake.logging").addFilter(keep)


def checkout_first(src: str) -> None:
    """Put a checkout's ``src`` first on PYTHONPATH, so that every job this Snakemake starts imports
    that checkout's akd, whichever copy is installed."""
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != src]
    os.environ["PYTHONPATH"] = os.pathsep.join([src, *rest])


@contextmanager
def job(snakemake):
    """Run a job's body with its logging, warnings and progress bars (stderr) in its log file.

    A failure writes the traceback to the log and one message to the terminal (stderr): what went
    wrong, in which rule, and where the traceback is; the job then exits with status 1.
    """
    log_path = Path(snakemake.log[0]) if snakemake.log else None
    handle = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(log_path, "w", buffering=1)
        sys.stderr = handle
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s",
                        force=True)
    logging.info("akd %s", Path(__file__).resolve().parent)  # which copy of the package this job runs
    from .progress import show_on_terminal

    show_on_terminal(sys.__stderr__, job_label(snakemake.rule, dict(snakemake.wildcards.items())))
    failure = None
    try:
        from .models import offline_env, set_threads

        set_threads(snakemake.threads)
        if not fetches_from_hub(snakemake):
            offline_env()  # unless the user set HF_HUB_OFFLINE: their choice stands either way
        with gpu_for_job(int(snakemake.resources.get("gpu", 0) or 0)):
            yield
    except Exception as e:
        logging.exception("job failed")
        failure = e
    finally:
        show_on_terminal(None, None)
        if handle is not None:
            sys.stderr = sys.__stderr__
            handle.close()
    if failure is not None:
        if log_path is None:
            raise failure
        print(failure_message(snakemake.rule, dict(snakemake.wildcards.items()), failure, log_path),
              file=sys.stderr, flush=True)
        sys.exit(1)


def job_label(rule: str, wildcards: dict) -> str:
    """``rule (key=value, ...)``: how the terminal names a job."""
    what = ", ".join(f"{k}={v}" for k, v in wildcards.items())
    return f"{rule} ({what})" if what else rule


def failure_message(rule: str, wildcards: dict, error: BaseException, log_path: Path) -> str:
    """The terminal's account of a failed job: rule, wildcards, the message, the log with the traceback."""
    # the user's errors are their message; any other exception is a fault of the code: its type too
    message = str(error) if isinstance(error, AkdError) else f"{type(error).__name__}: {error}"
    return f"Error in rule {job_label(rule, wildcards)}: {message}\n  (traceback in {log_path})"


def fetches_from_hub(snakemake) -> list[str]:
    """What a job may fetch from the Hugging Face hub, by its params: its model when that is a hub
    name (not a ``tiny:`` preset or a folder), its dataset when the source is ``hub``.  A job that
    fetches nothing runs offline (:func:`akd.models.offline_env`); one that does may download what
    the local cache lacks."""
    params = snakemake.params
    settings = getattr(params, "settings", None) or {}
    model = getattr(params, "model", None) or (settings.get("model") if isinstance(settings, dict) else None)
    dataset = getattr(params, "dataset", None)
    out = []
    if model is not None and not str(model).startswith("tiny:") and not Path(str(model)).is_dir():
        out.append(f"model {model}")
    if isinstance(dataset, dict) and dataset.get("source") == "hub":
        out.append(f"dataset {dataset.get('name')}")
    return out


def settings(snakemake) -> dict:
    return dict(snakemake.params.settings, threads=snakemake.threads)


def outside_params(snakemake, *keys):
    """A config value a job reads from the config rather than from its params, so that changing it
    reruns nothing (Snakemake reruns a job when its params change).  Only for values that change no
    result: how often training state is saved (``save_every``), and ``rationales.k``, which
    ``input_stats`` checks against the data but does not use.  ``None`` when a key is absent."""
    node = snakemake.config
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def with_paths(items: list[dict], **paths: list[str]) -> list[dict]:
    """Items of a rule's params (keys only, short in the report) with their paths put back from the
    job's named inputs, in the same order: ``with_paths(params.items, metrics=input.metrics)``."""
    for name, values in paths.items():
        if len(values) != len(items):
            raise ValueError(f"{len(values)} {name} inputs for {len(items)} items")
    return [dict(it, **{name: values[i] for name, values in paths.items()}) for i, it in enumerate(items)]


def with_save_every(settings: dict, save_every) -> dict:
    """``settings`` with ``train.save_every`` put back (see :func:`outside_params`)."""
    if save_every is None:
        return settings
    return dict(settings, train=dict(settings["train"], save_every=int(save_every)))


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

    A job with ``gpu: 0`` sees none.  A job with ``gpu: n`` takes n free devices at once, each held
    by an exclusive lock file (per host) until it ends, so parallel jobs never share a device (they
    wait for one; Snakemake's ``--resources gpu=N`` keeps at most N such jobs running), and sees
    only those.  Inside a SLURM job nothing changes: the allocation already decides.
    """
    if os.environ.get("SLURM_JOB_ID") and devices is None:
        yield visible_gpus()  # the scheduler chose the devices (--gpus or --gres): leave them as they are
        return
    devices = visible_gpus() if devices is None else devices
    if wanted <= 0 or not devices:
        if devices:
            os.environ["CUDA_VISIBLE_DEVICES"] = ""
        yield []
        return
    wanted = min(wanted, len(devices))
    lock_dir.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    held: list = []
    try:
        while True:  # all the devices a job needs at once, or none (no job holds some while waiting)
            for dev in devices:
                if len(held) == wanted:
                    break
                handle = open(lock_dir / f"{host}-gpu{dev}.lock", "w")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.close()
                    continue
                held.append((dev, handle))
            if len(held) == wanted:
                break
            for _, handle in held:
                handle.close()
            held = []
            time.sleep(poll)
        mine = [d for d, _ in held]
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(mine)
        logging.info("GPU(s) for this job: %s (of %s)", ",".join(mine), ",".join(devices))
        yield mine
    finally:
        for _, handle in held:
            handle.close()  # closing releases the lock
