"""benchmarks/common.py: the shared command line and the best-of-repeats loop the benchmarks report."""

import sys

import torch

from workflow_helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import common  # noqa: E402


def test_the_command_line_types_its_options_by_their_defaults(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["x", "--batch-size", "4", "--model", "t5-base", "--threads", "1"])
    threads = torch.get_num_threads()
    try:
        args = common.arguments(common.command_line("doc", model="t5-small", batch_size=16, n=(600, "questions")))
        assert (args.model, args.batch_size, args.n, args.json) == ("t5-base", 4, 600, None)
        assert args.dss_root.endswith("shared/data/dss") and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)


def test_best_runs_warms_each_side_up_then_alternates_and_keeps_each_sides_fastest():
    calls, speeds = [], {"a": iter([100, 300]), "b": iter([250, 200])}  # tokens per second, round by round

    def run(side, steps):
        calls.append((side, steps))
        return (1.0, 0) if steps == 3 else (2.0, 2 * next(speeds[side]))

    figures = {}
    best = common.best_runs(run, ("a", "b"), 30, 2, figures)
    assert calls == [("a", 3), ("b", 3), ("a", 30), ("b", 30), ("a", 30), ("b", 30)]
    assert best == {"a": (2.0, 600), "b": (2.0, 500)}
    assert figures["a_tok_per_s"] == 300 and figures["b_tok_per_s"] == 250
    assert [r["tokens"] for r in figures["b_runs"]] == [500, 400]
