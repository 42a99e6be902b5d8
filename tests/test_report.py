"""What the report shows: tables as HTML tables, accuracy-vs-k with whole-number k, the accuracy
plots on one y range for every dataset with the spread over seeds drawn, attribution
pages that grey the words that can never be chosen and show saturated log-probabilities."""

import pandas as pd

from akd.report import accuracy_note, accuracy_table, accuracy_vs_data, accuracy_vs_k, html_page, wide_table
from akd.visual import attribution_page

TABLE = pd.DataFrame({"dataset": ["cqa", "cqa", "cqa"], "variant": ["llm", "standard", "saliency-k3"],
                      "mean": [61.0, 55.5, 58.25], "std": [1.0, 0.5, 2.0], "seeds": [3, 3, 3], "teacher": [70.0] * 3})


def test_the_accuracy_table_is_an_html_table_in_report_order():
    wide = wide_table(TABLE)
    assert list(wide.columns) == ["dataset", "teacher", "standard", "saliency-k3", "llm"]
    page = html_page("Accuracy", [("Students' test accuracy (%)", wide)], "mean ± std")
    assert "<table" in page and "<caption>Students&#x27; test accuracy (%)</caption>" in page
    assert "<th>saliency-k3</th>" in page and "<td>58.25 ± 2.00</td>" in page


def test_ranked_students_show_their_generated_accuracy_beside():
    per_run = pd.DataFrame({"dataset": ["cqa"] * 4, "variant": ["standard", "standard", "llm", "llm"], "seed": [0, 1, 0, 1],
                            "accuracy": [24.0, 26.0, 30.0, 30.0], "generated_accuracy": [1.0, 3.0, 0.0, 2.0]})
    table = accuracy_table(per_run, {"cqa": 40.0})
    wide = wide_table(table)
    assert list(wide["dataset"]) == ["cqa", "cqa (generated)"]
    assert list(wide.iloc[0][["teacher", "standard", "llm"]]) == ["40.00", "25.00 ± 1.41", "30.00 ± 0.00"]
    assert list(wide.iloc[1][["teacher", "standard", "llm"]]) == ["", "2.00 ± 1.41", "1.00 ± 1.41"]
    assert "by rank" in accuracy_note(table)
    # runs that generated their answers keep one row per dataset and the plain note
    plain = accuracy_table(per_run.drop(columns="generated_accuracy"), {"cqa": 40.0})
    assert len(wide_table(plain)) == 1 and "rank" not in accuracy_note(plain)


def test_accuracy_vs_k_ticks_are_the_ks(tmp_path, monkeypatch):
    import matplotlib.axes

    ticks = []
    real = matplotlib.axes.Axes.set_xticks
    monkeypatch.setattr(matplotlib.axes.Axes, "set_xticks", lambda self, t, *a, **k: (ticks.append(list(t)), real(self, t, *a, **k))[1])
    per_run = pd.DataFrame({"dataset": ["d"] * 4, "variant": ["saliency-k1", "saliency-k3", "random-k1", "standard"],
                            "seed": [0] * 4, "accuracy": [50.0, 55.0, 45.0, 40.0]})
    accuracy_vs_k(per_run, str(tmp_path / "k.png"))
    assert ticks == [[1, 3]] and (tmp_path / "k.png").stat().st_size > 1000


def test_accuracy_vs_k_keeps_seqkd_and_smaller_data_runs_out_of_the_saliency_line(tmp_path, monkeypatch):
    import matplotlib.axes

    lines = {}
    real = matplotlib.axes.Axes.errorbar

    def spy(self, x, y, *a, label=None, **k):
        lines[label] = (list(x), list(y))
        return real(self, x, y, *a, label=label, **k)

    monkeypatch.setattr(matplotlib.axes.Axes, "errorbar", spy)
    per_run = pd.DataFrame({"dataset": ["d"] * 6,
                            "variant": ["saliency-k5", "seqkd-saliency-k5", "saliency-k5-data0.25", "random-k5", "standard",
                                        "kd-saliency-k5"],
                            "seed": [0] * 6, "accuracy": [50.0, 30.0, 10.0, 45.0, 40.0, 35.0]})
    accuracy_vs_k(per_run, str(tmp_path / "k.png"))
    assert lines == {"saliency": ([5], [50.0]), "seqkd-saliency": ([5], [30.0]), "random": ([5], [45.0]),
                     "kd-saliency": ([5], [35.0])}


def test_attribution_page_greys_punctuation_and_shows_tiny_log_probs():
    ex = pd.DataFrame([{"id": "1", "label": "yes", "fields": [{"name": "question", "text": "Is it red, really?"}]}])
    attr = pd.DataFrame([{"id": "1", "target": "yes", "target_logprob": -1.6e-06,
                          "words": ["Is", "it", "red", ",", "really", "?"], "scores": [0.1, 0.2, 0.9, 1.0, 0.3, 0.5],
                          "word_field": ["question"] * 6, "word_start": [0, 3, 6, 9, 11, 17],
                          "word_end": [2, 5, 9, 10, 17, 18]}])
    page = attribution_page(ex, attr, 2, "t")
    assert "log-prob -1.6e-06" in page
    assert '<span style="color:#999;" title="1">,</span>' in page  # the top score, but never a rationale word
    assert "border-bottom" in page.split(">red<")[0].rsplit("<span", 1)[1]  # red is in the top 2
    assert "which may differ" in page


def test_accuracy_vs_data_draws_one_line_per_variant(tmp_path, monkeypatch):
    import matplotlib.axes

    lines = []
    real = matplotlib.axes.Axes.errorbar
    monkeypatch.setattr(matplotlib.axes.Axes, "errorbar",
                        lambda self, x, y, *a, **kw: (lines.append((kw["label"], list(x), list(y))), real(self, x, y, *a, **kw))[1])
    table = pd.DataFrame({"dataset": ["cqa"] * 4, "variant": ["standard", "standard-data0.25", "llm", "llm-data0.25"],
                          "mean": [50.0, 40.0, 55.0, 42.0], "std": [1.0] * 4, "seeds": [3] * 4, "teacher": [70.0] * 4})
    accuracy_vs_data(table, str(tmp_path / "d.png"))
    assert (tmp_path / "d.png").stat().st_size > 0
    assert sorted(lines) == [("llm", [0.25, 1.0], [42.0, 55.0]), ("standard", [0.25, 1.0], [40.0, 50.0])]


def _runs(dataset, accuracies):
    """Per-run rows (one per seed) of a dataset: variant -> accuracies over seeds."""
    return pd.DataFrame([{"dataset": dataset, "variant": v, "seed": s, "accuracy": a}
                         for v, accs in accuracies.items() for s, a in enumerate(accs)])


def test_accuracy_vs_k_panels_share_one_y_range_and_draw_the_seed_spread(tmp_path):
    from matplotlib.container import ErrorbarContainer

    from akd.report import MIN_SPAN

    per_run = pd.concat([
        _runs("flat", {"saliency-k1": [50.0, 50.4], "saliency-k3": [50.6, 51.0], "standard": [49.0, 51.0]}),
        _runs("high", {"saliency-k1": [80.0, 84.0], "saliency-k3": [88.0, 90.0], "random-k1": [70.0, 72.0]})])
    fig = accuracy_vs_k(per_run, str(tmp_path / "k.png"))
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["flat", "high"]
    lims = {ax.get_ylim() for ax in panels}
    assert len(lims) == 1  # one y range for every panel
    (lo, hi), = lims
    g = per_run.groupby(["dataset", "variant"])["accuracy"]
    assert lo <= (g.mean() - g.std()).min() and hi >= (g.mean() + g.std()).max()
    # the spread over seeds: an error bar per family, as long as the std; a band around standard
    bars = {ax.get_title(): [c for c in ax.containers if isinstance(c, ErrorbarContainer)] for ax in panels}
    assert [len(bars["flat"]), len(bars["high"])] == [1, 2]
    seg = bars["flat"][0].lines[2][0].get_segments()[0]  # saliency at k=1: 50.2 ± 0.28
    assert abs((seg[1][1] - seg[0][1]) - 2 * g.std()[("flat", "saliency-k1")]) < 1e-6
    (band,) = panels[0].patches
    y0, y1 = sorted([band.get_y(), band.get_y() + band.get_height()])
    assert abs(y0 - (50.0 - g.std()[("flat", "standard")])) < 1e-6 and abs(y1 - (50.0 + g.std()[("flat", "standard")])) < 1e-6
    assert not panels[1].patches  # no standard student there: no reference
    assert any(line.get_linestyle() == "--" for line in panels[0].lines)

    # one dataset within a point: the range is still MIN_SPAN wide, not stretched over 0.6 points
    fig = accuracy_vs_k(_runs("flat", {"saliency-k1": [50.0], "saliency-k3": [50.6]}), str(tmp_path / "k1.png"))
    lo, hi = fig.axes[0].get_ylim()
    assert hi - lo >= MIN_SPAN and lo <= 50.0 and hi >= 50.6


def test_accuracy_vs_data_panels_share_one_y_range(tmp_path):
    table = pd.DataFrame({"dataset": ["a", "a", "b", "b"], "variant": ["standard", "standard-data0.5"] * 2,
                          "mean": [50.0, 50.5, 90.0, 80.0], "std": [0.5, 0.2, 1.0, 3.0], "seeds": [2] * 4,
                          "teacher": [70.0] * 4})
    fig = accuracy_vs_data(table, str(tmp_path / "d.png"))
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == 2 and len({ax.get_ylim() for ax in panels}) == 1
    lo, hi = panels[0].get_ylim()
    assert lo <= 49.5 and hi >= 91.0
