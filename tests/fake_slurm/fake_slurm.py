#!/usr/bin/env python3
"""A fake SLURM for tests: sbatch, squeue, sacct, scontrol, sacctmgr, srun, sinfo and scancel.

Called through links of those names. State lives in $FAKE_SLURM_DIR: `calls.jsonl` (every call
with its arguments), `jobs/<id>.json` (a submitted job: its arguments and name) and
`jobs/<id>.rc` (its exit status once it ended). `sbatch` runs the `--wrap` command (or the script
on stdin) in the background, as SLURM would on a node; `sacct` reports RUNNING until the command
ended, then COMPLETED or FAILED. Only the standard library is used.
"""

import fcntl
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

STATE = Path(os.environ.get("FAKE_SLURM_DIR", "/tmp/fake-slurm"))
JOBS = STATE / "jobs"


def record(tool: str, args: list[str]) -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / "calls.jsonl", "a") as f:
        f.write(json.dumps({"tool": tool, "args": args}) + "\n")


def option(args: list[str], *names: str) -> str | None:
    for i, a in enumerate(args):
        for n in names:
            if a == n and i + 1 < len(args):
                return args[i + 1]
            if n.startswith("--") and a.startswith(n + "="):
                return a[len(n) + 1:]
    return None


def next_id() -> int:
    JOBS.mkdir(parents=True, exist_ok=True)
    with open(STATE / "counter", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        n = int(f.read() or 1000) + 1
        f.seek(0)
        f.truncate()
        f.write(str(n))
    return n


def sbatch(args: list[str]) -> int:
    command = option(args, "--wrap")
    if command is None:  # the job script comes on stdin (`sbatch ... /dev/stdin`)
        command = sys.stdin.read()
    job = next_id()
    out = (option(args, "--output", "-o") or f"slurm-{job}.out").replace("%j", str(job))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    (JOBS / f"{job}.json").write_text(json.dumps({"id": job, "args": args, "name": option(args, "--job-name", "-J")}))
    env = dict(os.environ, SLURM_JOB_ID=str(job), SLURM_JOBID=str(job))
    cpus = option(args, "--cpus-per-task")
    if cpus:
        env["SLURM_CPUS_PER_TASK"] = cpus
    workdir = option(args, "-D", "--chdir")
    rc = JOBS / f"{job}.rc"
    script = f"{command}\necho $? > {rc}.tmp && mv {rc}.tmp {rc}\n"
    with open(out, "a") as log:
        proc = subprocess.Popen(["bash", "-c", script], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=workdir, env=env, start_new_session=True)
    (JOBS / f"{job}.pid").write_text(str(proc.pid))
    print(job)
    return 0


def state_of(job: int) -> str:
    rc = JOBS / f"{job}.rc"
    if rc.exists():
        return "COMPLETED" if rc.read_text().strip() == "0" else "FAILED"
    if (JOBS / f"{job}.cancelled").exists():
        return "CANCELLED"
    return "RUNNING"


def sacct(args: list[str]) -> int:
    fields = [f.split("%")[0] for f in (option(args, "--format", "-o") or "JobIdRaw,State").split(",")]
    name = option(args, "--name")
    sep = "|" if "--parsable2" in args or "-P" in args else "  "
    for f in sorted(JOBS.glob("*.json"), key=lambda p: int(p.stem)) if JOBS.exists() else []:
        info = json.loads(f.read_text())
        if name and info.get("name") != name:
            continue
        rc = JOBS / f"{info['id']}.rc"
        values = {"JobIdRaw": str(info["id"]), "JobId": str(info["id"]), "JobName": info.get("name") or "",
                  "State": state_of(info["id"]), "ExitCode": f"{rc.read_text().strip() if rc.exists() else 0}:0"}
        print(sep.join(values.get(k, "") for k in fields))
    return 0


def scancel(args: list[str]) -> int:
    for a in args:
        if a.isdigit() and (JOBS / f"{a}.pid").exists():
            (JOBS / f"{a}.cancelled").touch()
            try:
                os.killpg(int((JOBS / f"{a}.pid").read_text()), signal.SIGTERM)
            except ProcessLookupError:
                pass
    return 0


def srun(args: list[str]) -> int:
    """Run the command after srun's own options (inside a job, as the jobstep executor calls it)."""
    i = 0
    with_value = {"-n", "-N", "-c", "-J", "--jobid", "--ntasks", "--nodes", "--cpus-per-task", "--mem", "--gpus"}
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in with_value else 1
    rest = args[i:]
    if not rest:
        print("srun: no command", file=sys.stderr)
        return 2
    os.execvp(rest[0], rest)


def main() -> int:
    tool = Path(sys.argv[0]).name
    args = sys.argv[1:]
    record(tool, args)
    if tool == "sbatch":
        return sbatch(args)
    if tool == "sacct":
        return sacct(args)
    if tool == "scancel":
        return scancel(args)
    if tool == "srun":
        return srun(args)
    if tool == "sacctmgr":  # the accounts of the user: the profile's placeholder is one of them
        print(os.environ.get("FAKE_SLURM_ACCOUNT", "ACCOUNT"))
        return 0
    if tool == "scontrol":
        if args[:2] == ["show", "config"]:
            print("MinJobAge               = 300 sec\nMaxArraySize            = 1001\nSLURM_VERSION           = 24.05.0")
        return 0
    if tool in ("squeue", "sinfo"):
        return 0
    print(f"fake slurm: unknown tool {tool}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
