"""An HTML page that shows a sample of examples with their words shaded by attribution score."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from .rationales import top_k
from .words import eligible


def _shade(score: float, top: bool, eligible: bool = True) -> str:
    if not eligible:  # never a rationale word (punctuation, or a stop word when those are excluded)
        return "color:#999;"
    alpha = 0.08 + 0.82 * max(0.0, min(1.0, score))
    border = "border-bottom:2px solid #b00;font-weight:600;" if top else ""
    return f"background:rgba(255,140,0,{alpha:.2f});{border}"


def example_html(fields: list[dict], row: dict, k: int, exclude_punctuation: bool = True,
                 exclude_stopwords: bool = False) -> str:
    """The example's fields, each word that may become a rationale word shaded by its score (scaled
    to the range of those words), the top k underlined; the others in grey."""
    words, scores = list(row["words"]), np.asarray(row["scores"], dtype=float)
    ok = np.array([eligible(w, exclude_punctuation, exclude_stopwords) for w in words], dtype=bool)
    lo = float(scores[ok].min()) if ok.any() else 0.0
    hi = float(scores[ok].max()) if ok.any() else 1.0
    scaled = (scores - lo) / (hi - lo) if hi > lo else np.zeros_like(scores)
    chosen = set(top_k(words, scores.tolist(), k, exclude_punctuation, exclude_stopwords))
    parts = []
    for f in fields:
        name, text = f["name"], f["text"]
        spans = [(s, e, j) for j, (fld, s, e) in enumerate(zip(row["word_field"], row["word_start"], row["word_end"]))
                 if fld == name]
        out, pos = [], 0
        for s, e, j in spans:
            out.append(html.escape(text[pos:s]))
            title = f"{scores[j]:.4g}"
            style = _shade(scaled[j], j in chosen, bool(ok[j]))
            out.append(f'<span style="{style}" title="{title}">{html.escape(text[s:e])}</span>')
            pos = e
        out.append(html.escape(text[pos:]))
        parts.append(f'<div><span class="f">{html.escape(name)}</span> {"".join(out)}</div>')
    return "".join(parts)


def attribution_page(examples: pd.DataFrame, attributions: pd.DataFrame, k: int, title: str, n: int = 25,
                     seed: int = 0, ks: tuple[int, ...] = (), exclude_punctuation: bool = True,
                     exclude_stopwords: bool = False) -> str:
    """A sample of ``n`` examples, words shaded by score, the top ``k`` underlined; ``ks``: the k the
    students are trained on (said on the page, so the underlined words are not taken for them)."""
    ex = examples.set_index("id")
    sample = attributions.sample(n=min(n, len(attributions)), random_state=seed) if len(attributions) else attributions
    blocks = []
    for row in sample.to_dict("records"):
        e = ex.loc[row["id"]]
        blocks.append(
            f'<div class="ex"><div class="meta">{html.escape(row["id"])} · gold <b>{html.escape(e["label"])}</b> · '
            f'teacher answer <b>{html.escape(row["target"])}</b> (log-prob {row["target_logprob"]:.3g})</div>'
            f'{example_html(list(e["fields"]), row, k, exclude_punctuation, exclude_stopwords)}</div>'
        )
    trained = (f" (the students are trained on the top k for k = {', '.join(map(str, ks))})" if ks else
               " (the top rationales.highlight_k words; the students are trained on the top k of rationales.k, "
               "which may differ)")
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.6}"
        ".ex{border:1px solid #ddd;padding:.6em;margin:.8em 0;border-radius:4px}"
        ".meta{color:#555;font-size:.85em}.f{color:#888;font-size:.8em;text-transform:uppercase;margin-right:.4em}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body><h2>{html.escape(title)}</h2>"
        f"<p>{len(sample)} random examples. Each word that may become a rationale word is shaded by its "
        f"attribution score (scaled to the example's range; hover for the value); words that never can "
        f"(punctuation{', stop words' if exclude_stopwords else ''}) are grey. The top {k} words are underlined in "
        f"red{trained}. Template text is not shown: it never competes.</p>{''.join(blocks)}</body></html>"
    )
