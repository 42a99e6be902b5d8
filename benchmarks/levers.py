"""One training lever, on and off, step by step in one process: is it worth keeping?

The student, rows and batches of ``benchmarks/profile_training.py`` (t5-small shape, random
weights, CQA with PaLM's rationales, both tasks). After ``--warmup-steps`` steps of each setting,
every batch is trained twice in a row, once each way (which goes first alternates), so both
settings see the same batches at the same moment of the host's drift; the figure is the ratio of
their summed step times, and the median of the per-batch ratios beside it.

Levers: ``shared-encoder`` (a T5 micro-batch's label and rationale rows in one encoder pass,
``akd.training.step_gradients(shared_encoder=...)``).

    python benchmarks/levers.py shared-encoder --steps 10 --json benchmarks/results/lever-shared-encoder.json
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import command_line, report  # noqa: E402

import akd.training as T  # noqa: E402
from profile_training import setup  # noqa: E402


def main() -> None:
    ap = command_line(__doc__, model="t5-small", steps=10, warmup_steps=2, batch_size=16, n=2000)
    ap.add_argument("lever", choices=["shared-encoder"])
    args = ap.parse_args()
    model, tok, cfg, opt, batches = setup(args.model, args.batch_size, args.n, args.dss_root, args.threads)

    def step(batch, on: bool) -> float:
        t0 = time.perf_counter()
        T.step_gradients(model, tok, batch, cfg, True, cfg.batch_size, T.PREFIX_LABEL, shared_encoder=on)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return time.perf_counter() - t0

    for b in batches[: args.warmup_steps]:
        step(b, True), step(b, False)
    times = {True: [], False: []}
    for i, b in enumerate(batches[args.warmup_steps: args.warmup_steps + args.steps]):
        for on in ((True, False) if i % 2 == 0 else (False, True)):
            times[on].append(step(b, on))
    on, off = sum(times[True]), sum(times[False])
    per_batch = statistics.median(f / n for n, f in zip(times[True], times[False]))
    print(f"{args.lever}: on {on / len(times[True]):.3f} s a step, off {off / len(times[False]):.3f} s; "
          f"off / on {off / on:.3f}x (median per batch {per_batch:.3f}x), {len(times[True])} batches of {args.batch_size}")
    report({"lever": args.lever, "model": args.model, "batch_size": args.batch_size, "threads": args.threads,
            "on_s": times[True], "off_s": times[False], "off_over_on": off / on, "median_per_batch": per_batch},
           args.json, echo=False)


if __name__ == "__main__":
    main()
