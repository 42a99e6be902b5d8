"""Paired significance of a variant's test accuracy against a baseline's on the same examples.

Both are scored on the same test examples with the same seeds, so the comparison is paired:

- a **paired bootstrap** interval of the accuracy difference pooled over seeds: the test examples
  are resampled with replacement (one resample for every seed, so the seeds stay paired), and the
  statistic is the mean over seeds of the per-seed accuracy difference (Efron and Tibshirani 1993;
  Koehn 2004's paired bootstrap for MT, over examples);
- **McNemar's exact test** per seed: under the null the examples only one of the two gets right
  are equally likely to favour either, so the discordant count follows Binomial(b + c, 1/2); the
  two-sided p-value is min(1, 2 P(X <= min(b, c))) (McNemar 1947; the exact form of Edwards 1948).

numpy only: no torch, so planning and the tables' tests stay light.
"""

from __future__ import annotations

import math

import numpy as np


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts: ``b`` examples only the variant
    gets right, ``c`` only the baseline."""
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0 ** n
    return min(1.0, 2.0 * tail)


def paired_bootstrap(variant: np.ndarray, baseline: np.ndarray, n_boot: int = 10_000, seed: int = 0,
                     level: float = 0.95) -> dict:
    """``variant``, ``baseline``: right (1) / wrong (0) per seed and test example, shape (seeds, n),
    the same examples in the same order. Returns the pooled difference in accuracy points (mean
    over seeds of variant minus baseline, x 100) and its percentile interval."""
    v, b = np.asarray(variant, dtype=np.float64), np.asarray(baseline, dtype=np.float64)
    if v.shape != b.shape or v.ndim != 2 or v.shape[1] == 0:
        raise ValueError(f"paired correctness must share one (seeds, examples) shape; got {v.shape} and {b.shape}")
    per_example = (v - b).mean(axis=0)  # the difference of one example, averaged over the seeds
    n = per_example.shape[0]
    rng = np.random.default_rng(seed)
    stats = np.empty(n_boot)
    for start in range(0, n_boot, 1000):  # bounded memory: 1000 resamples of n indices at a time
        idx = rng.integers(0, n, size=(min(1000, n_boot - start), n))
        stats[start:start + idx.shape[0]] = per_example[idx].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return {"difference": 100.0 * float(per_example.mean()), "ci_low": 100.0 * float(low),
            "ci_high": 100.0 * float(high)}


def compare(variant: np.ndarray, baseline: np.ndarray, n_boot: int = 10_000, seed: int = 0) -> dict:
    """The bootstrap interval and, per seed, the discordant counts and McNemar's exact p-value."""
    v, b = np.asarray(variant, dtype=bool), np.asarray(baseline, dtype=bool)
    out = paired_bootstrap(v, b, n_boot=n_boot, seed=seed)
    wins = (v & ~b).sum(axis=1)
    losses = (~v & b).sum(axis=1)
    out["excludes_zero"] = bool(out["ci_low"] > 0 or out["ci_high"] < 0)
    out["only_variant"] = [int(x) for x in wins]
    out["only_baseline"] = [int(x) for x in losses]
    out["mcnemar_p"] = [mcnemar_exact(int(w), int(l)) for w, l in zip(wins, losses)]
    return out
