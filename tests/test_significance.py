"""Paired bootstrap and McNemar's exact test on constructed predictions whose answer is known,
each checked against the textbook computation done here independently."""

import math

import numpy as np
import pytest

from akd.significance import compare, mcnemar_exact, paired_bootstrap


def _binomial_two_sided(b: int, c: int) -> float:
    """McNemar's exact test as a two-sided sign test: twice the smaller binomial tail, capped at 1."""
    n = b + c
    pmf = [math.comb(n, i) * 0.5 ** n for i in range(n + 1)]
    return min(1.0, 2 * min(sum(pmf[: min(b, c) + 1]), sum(pmf[max(b, c):])))


def test_identical_predictions_give_an_interval_of_exactly_zero():
    rng = np.random.default_rng(1)
    right = rng.random((3, 400)) < 0.6
    out = compare(right, right.copy())
    assert out["difference"] == out["ci_low"] == out["ci_high"] == 0.0
    assert not out["excludes_zero"] and out["mcnemar_p"] == [1.0, 1.0, 1.0]


def test_thirty_more_right_of_400_is_7_5_points_and_excludes_zero():
    base = np.zeros((3, 400), dtype=bool)
    base[:, :200] = True                      # the baseline is right on 200 examples
    variant = base.copy()
    variant[:, 200:230] = True                # the variant on the same 200 and 30 more
    out = compare(variant, base, n_boot=20_000)
    assert out["difference"] == pytest.approx(7.5)
    # the normal approximation of the same interval: 30 of 400 examples differ by 1, the rest by 0
    p = 30 / 400
    half = 1.959964 * math.sqrt(p * (1 - p) / 400) * 100
    assert out["ci_low"] == pytest.approx(7.5 - half, abs=0.6) and out["ci_high"] == pytest.approx(7.5 + half, abs=0.6)
    assert out["excludes_zero"] and out["ci_low"] > 4.0
    assert out["only_variant"] == [30, 30, 30] and out["only_baseline"] == [0, 0, 0]
    assert out["mcnemar_p"] == pytest.approx([2 * 0.5 ** 30] * 3)


@pytest.mark.parametrize("b, c", [(0, 0), (1, 0), (5, 5), (3, 12), (40, 25), (100, 70)])
def test_mcnemar_exact_is_the_two_sided_sign_test(b, c):
    assert mcnemar_exact(b, c) == pytest.approx(_binomial_two_sided(b, c) if b + c else 1.0, rel=1e-12)


def test_the_bootstrap_resamples_examples_with_the_seeds_paired():
    """Seed 0 gains 40 examples and seed 1 loses the same 40: pooled over seeds the difference is 0
    on every resample (the seeds share each resample), so the interval is exactly 0; resampled
    per seed independently it would not be."""
    base = np.zeros((2, 200), dtype=bool)
    variant = base.copy()
    variant[0, :40] = True
    base[1, :40] = True
    out = paired_bootstrap(variant, base)
    assert out["difference"] == out["ci_low"] == out["ci_high"] == 0.0


def test_a_coverage_check_on_simulated_variants():
    """Where the variant is truly 5 points better, the 95% interval covers 5 in most of 40 draws."""
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(40):
        base = rng.random((2, 300)) < 0.5
        flip = rng.random((2, 300)) < 0.10           # 10% of the wrong answers become right
        variant = base | flip
        truth = 100 * 0.5 * 0.10
        out = paired_bootstrap(variant, base, n_boot=2000, seed=int(rng.integers(1 << 30)))
        covered += out["ci_low"] <= truth <= out["ci_high"]
    assert covered >= 32


def test_shapes_must_match():
    with pytest.raises(ValueError, match="share one"):
        paired_bootstrap(np.ones((2, 5)), np.ones((3, 5)))


def _write_runs(tmp_path, correct_by_variant: dict) -> list[dict]:
    import pandas as pd

    from akd import io, schemas

    runs = []
    for variant, per_seed in correct_by_variant.items():
        for seed, correct in enumerate(per_seed):
            p = tmp_path / f"{variant}-{seed}.parquet"
            df = pd.DataFrame({"id": [f"q{i}" for i in range(len(correct))], "label": "a", "prediction": "b",
                               "correct": correct})
            io.write_parquet(df, p, schemas.EVAL_PREDICTIONS)
            runs.append({"dataset": "d", "variant": variant, "seed": seed, "predictions": str(p)})
    return runs


def test_the_accuracy_vs_standard_table_and_the_marker_in_the_accuracy_table(tmp_path):
    from akd import io, stages

    base = np.zeros(400, dtype=bool)
    base[:200] = True
    better = base.copy()
    better[200:230] = True
    data_base = base.copy()
    data_base[:10] = False
    runs = _write_runs(tmp_path, {"standard": [base, base], "saliency-k3": [better, better],
                                  "llm": [base, base], "standard-data0.5": [data_base, data_base],
                                  "llm-data0.5": [base, base]})
    tm = tmp_path / "teacher.json"
    io.write_json({"accuracy": 0.9}, tm)
    out = [str(tmp_path / f"vs.{e}") for e in ("csv", "md", "html")]
    table = stages.aggregate(runs, [{"dataset": "d", "metrics": str(tm)}], tmp_path / "a.csv", tmp_path / "a.md",
                             tmp_path / "a.png", significance_out=out)
    import pandas as pd

    sig = pd.read_csv(out[0]).set_index("variant")
    assert set(sig.index) == {"saliency-k3", "llm", "llm-data0.5"}  # each against standard at its share
    assert sig.loc["saliency-k3", "difference"] == 7.5 and bool(sig.loc["saliency-k3", "excludes_zero"])
    assert sig.loc["llm", "difference"] == 0.0 and sig.loc["llm", "ci_low"] == sig.loc["llm", "ci_high"] == 0.0
    assert sig.loc["llm-data0.5", "baseline"] == "standard-data0.5" and sig.loc["llm-data0.5", "difference"] == 2.5
    assert sig.loc["saliency-k3", "only_variant"] == "30 / 30" and sig.loc["saliency-k3", "seeds"] == "0 / 1"
    md = (tmp_path / "a.md").read_text()
    assert "57.50 ± 0.00 ↑" in md and "50.00 ± 0.00 |" in md  # the marker only where the interval excludes 0
    assert "paired bootstrap" in md and [None if pd.isna(x) else x for x in table["differs"]] == [None, 1, 0, None, 1]
