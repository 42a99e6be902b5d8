"""What the benchmarks here share: the common part of their command lines, the best-of-repeats
loop of alternating sides, and their figures written out.  (Import it after the script has put
``src/`` on the path; it imports nothing of the package.)"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Callable, Sequence

import torch

ROOT = Path(__file__).resolve().parents[1]


def command_line(doc: str, **options) -> argparse.ArgumentParser:
    """A parser for a benchmark: ``options`` (``batch_size=16`` or ``n=(600, "help")``: the option
    ``--batch-size``, its type that of its default), then ``--dss-root``, ``--threads`` and
    ``--json``.  Options of another kind are added to it by the script."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, value in options.items():
        default, text = value if isinstance(value, tuple) else (value, None)
        ap.add_argument("--" + name.replace("_", "-"), type=type(default), default=default, help=text)
    ap.add_argument("--dss-root", default=str(ROOT.parent / "shared/data/dss"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None, help="write the figures here too")
    return ap


def arguments(ap: argparse.ArgumentParser) -> argparse.Namespace:
    """The parsed command line, torch set to its ``--threads``."""
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    return args


def best_runs(run: Callable[[str, int], tuple[float, int]], sides: Sequence[str], steps: int, repeats: int,
              figures: dict, width: int = 5) -> dict[str, tuple[float, int]]:
    """Each side warmed up (3 steps), then ``repeats`` rounds of every side in turn; ``run(side,
    steps)`` gives (seconds, tokens).  Every run goes into ``figures["<side>_runs"]`` and the best
    run's tokens per second into ``figures["<side>_tok_per_s"]``; the best (seconds, tokens) of each
    side is returned."""
    for side in sides:
        run(side, 3)
    best: dict[str, tuple[float, int]] = {}
    for rep in range(repeats):
        for side in sides:
            secs, tokens = run(side, steps)
            print(f"{side:{width}s} run {rep + 1}: {tokens / secs:8.1f} tokens/s ({tokens} tokens, {secs:.1f} s)", flush=True)
            figures.setdefault(f"{side}_runs", []).append({"seconds": secs, "tokens": tokens})
            if side not in best or tokens / secs > best[side][1] / best[side][0]:
                best[side] = (secs, tokens)
    for side, (secs, tokens) in best.items():
        figures[f"{side}_tok_per_s"] = tokens / secs
    return best


def report(figures: dict, path: str | None, echo: bool = True) -> None:
    """The figures to ``path`` (JSON) when one is given, and to stdout on one line."""
    if path:
        Path(path).write_text(json.dumps(figures, indent=2))
    if echo:
        print(json.dumps(figures))
