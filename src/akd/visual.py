"""An HTML page that shows a sample of examples with their words shaded by attribution score."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from .rationales import top_k


def _shade(score: float, top: bool) -> str:
    alpha = 0.08 + 0.82 * max(0.0, min(1.0, score))
    border = "border-bottom:2px solid #b00;font-weight:600;" if top else ""
    return f"background:rgba(255,140,0,{alpha:.2f});{border}"


def example_html(fields: list[dict], row: dict, k: int, exclude_punctuation: bool = True) -> str:
    """The example's fields, each word shaded by its score scaled to the example's maximum."""
    words, scores = list(row["words"]), np.asarray(row["scores"], dtype=float)
    lo, hi = float(scores.min()) if len(scores) else 0.0, float(scores.max()) if len(scores) else 1.0
    scaled = (scores - lo) / (hi - lo) if hi > lo else np.zeros_like(scores)
    chosen = set(top_k(words, scores.tolist(), k, exclude_punctuation))
    parts = []
    for f in fields:
        name, text = f["name"], f["text"]
        spans = [(s, e, j) for j, (fld, s, e) in enumerate(zip(row["word_field"], row["word_start"], row["word_end"]))
                 if fld == name]
        out, pos = [], 0
        for s, e, j in spans:
            out.append(html.escape(text[pos:s]))
            title = f"{scores[j]:.4g}"
            out.append(f'<span style="{_shade(scaled[j], j in chosen)}" title="{title}">{html.escape(text[s:e])}</span>')
            pos = e
        out.append(html.escape(text[pos:]))
        parts.append(f'<div><span class="f">{html.escape(name)}</span> {"".join(out)}</div>')
    return "".join(parts)


def attribution_page(examples: pd.DataFrame, attributions: pd.DataFrame, k: int, title: str, n: int = 25,
                     seed: int = 0) -> str:
    ex = examples.set_index("id")
    sample = attributions.sample(n=min(n, len(attributions)), random_state=seed) if len(attributions) else attributions
    blocks = []
    for row in sample.to_dict("records"):
        e = ex.loc[row["id"]]
        blocks.append(
            f'<div class="ex"><div class="meta">{html.escape(row["id"])} · gold <b>{html.escape(e["label"])}</b> · '
            f'teacher answer <b>{html.escape(row["target"])}</b> (log-prob {row["target_logprob"]:.3f})</div>'
            f'{example_html(list(e["fields"]), row, k)}</div>'
        )
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.6}"
        ".ex{border:1px solid #ddd;padding:.6em;margin:.8em 0;border-radius:4px}"
        ".meta{color:#555;font-size:.85em}.f{color:#888;font-size:.8em;text-transform:uppercase;margin-right:.4em}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body><h2>{html.escape(title)}</h2>"
        f"<p>{len(sample)} random examples. Each word is shaded by its attribution score (scaled to the example's "
        f"range; hover for the value); the top-{k} words, the rationale, are underlined in red. Template text is "
        f"not shown: it never competes.</p>{''.join(blocks)}</body></html>"
    )
