"""Install profiles/slurm where Snakemake finds profiles by name, so that `snakemake --profile slurm`
works from the checkout: ${XDG_CONFIG_HOME:-~/.config}/snakemake/slurm/config.yaml, with the SLURM
account and partition filled in.

    python3 profiles/install_slurm.py [--account A] [--partition P]

The account and partition come from the options, else from SLURM_ACCOUNT / SLURM_PARTITION, else
they are asked for on the terminal (`make slurm-profile` runs this). An existing profile there is
never overwritten: the script names it and exits with status 1.  Standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "slurm" / "config.yaml"
#: the template's placeholder lines, by the value that replaces their placeholder
PLACEHOLDERS = {"account": ("slurm_account", "ACCOUNT"), "partition": ("slurm_partition", "PARTITION")}
#: what a SLURM account or partition name (or a comma-separated list of partitions) looks like
NAME = re.compile(r"[A-Za-z0-9_.,+-]+")


class InstallError(Exception):
    pass


def profile_dir(env=os.environ) -> Path:
    """Where Snakemake looks for a profile called `slurm` (platformdirs' user config dir on Linux)."""
    base = env.get("XDG_CONFIG_HOME", "").strip() or os.path.expanduser("~/.config")
    return Path(base) / "snakemake" / "slurm"


def render(template: str, account: str, partition: str) -> str:
    """The template with its placeholders filled in (each placeholder line found exactly once)."""
    text = template
    for what, value in (("account", account), ("partition", partition)):
        if not NAME.fullmatch(value):
            raise InstallError(f"the SLURM {what} {value!r} is not a name (letters, digits, _ . , + - only)")
        key, placeholder = PLACEHOLDERS[what]
        line = re.compile(rf'^(\s*{key}:\s*)"{placeholder}".*$', re.M)
        text, n = line.subn(lambda m: f'{m.group(1)}"{value}"  # set by profiles/install_slurm.py', text)
        if n != 1:
            raise InstallError(f'{TEMPLATE} has {n} lines `{key}: "{placeholder}"` (one expected)')
    return f"# Installed from {TEMPLATE} by profiles/install_slurm.py (make slurm-profile).\n" + text


def ask(what: str, env_name: str, given: str | None, env=os.environ, stdin=sys.stdin) -> str:
    value = given or env.get(env_name, "").strip()
    if value:
        return value
    if not stdin.isatty():
        raise InstallError(f"no SLURM {what}: set {env_name} (make slurm-profile {env_name}=...) or "
                           f"pass --{what}")
    value = input(f"SLURM {what} ({env_name}): ").strip()
    if not value:
        raise InstallError(f"no SLURM {what} given")
    return value


def refuse_existing(dest: Path) -> None:
    if dest.exists() or dest.is_symlink():
        raise InstallError(f"a profile exists at {dest}: left as it is (edit it, or remove it and run "
                           "make slurm-profile again)")


def install(dest: Path, account: str, partition: str) -> Path:
    """Write the profile to ``dest``/config.yaml; ``dest`` must not exist (nothing is overwritten)."""
    refuse_existing(dest)
    text = render(TEMPLATE.read_text(), account, partition)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        dest.mkdir()  # fails if a profile appeared since the check: it is never replaced
    except FileExistsError:
        refuse_existing(dest)
        raise
    with open(dest / "config.yaml", "x") as f:
        f.write(text)
    return dest / "config.yaml"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--account", help="SLURM account (default: $SLURM_ACCOUNT, else asked for)")
    parser.add_argument("--partition", help="SLURM partition (default: $SLURM_PARTITION, else asked for)")
    args = parser.parse_args(argv)
    dest = profile_dir()
    try:
        refuse_existing(dest)  # before asking anything
        account = ask("account", "SLURM_ACCOUNT", args.account)
        partition = ask("partition", "SLURM_PARTITION", args.partition)
        path = install(dest, account, partition)
    except InstallError as e:
        print(f"make slurm-profile: {e}", file=sys.stderr)
        return 1
    print(f"installed {path} (account {account}, partition {partition}); run: snakemake --profile slurm ...")
    return 0


if __name__ == "__main__":
    sys.exit(main())
