import math

import pytest

from akd.tasks import UnsafeExpression, is_correct, normalise, render, safe_arithmetic


@pytest.mark.parametrize("style", ["dss", "prompt"])
def test_render_spans_locate_every_field(style):
    fields = {"question": "Where do beavers live?", "choice0": "zoo", "choice1": "wooded area"}
    r = render("mc", fields, style)
    assert {name for name, _, _ in r.spans} == set(fields)
    for name, a, b in r.spans:
        assert r.text[a:b] == fields[name]


def test_dss_renderings_match_dss():
    """As DSS's run.py builds them: CQA's f-string, NLI's tokenizer.eos_token.join([premise, hypothesis])
    (T5's EOS text, no spaces)."""
    question, c = "Q?", list("abcde")
    mc = render("mc", {"question": question, **{f"choice{i}": x for i, x in enumerate(c)}}, "dss")
    assert mc.text == f"{question}\nAnswer Choices:\n(a) {c[0]}\n(b) {c[1]}\n(c) {c[2]}\n(d) {c[3]}\n(e) {c[4]}"
    nli = render("nli", {"premise": "P.", "hypothesis": "H."}, "dss")
    assert nli.text == "</s>".join(["P.", "H."])
    assert render("math", {"question": "How many?"}, "dss").text == "How many?"


def test_safe_arithmetic_agrees_with_exact_arithmetic():
    assert safe_arithmetic("( 84.0 / 2.0 )") == 42.0
    assert safe_arithmetic("( ( 17.0 + 15.0 ) + 2.0 )") == 34.0
    assert safe_arithmetic("( 10.0 - ( 6.0 + 3.0 ) )") == 1.0
    assert safe_arithmetic("-3 * (2 + 1)") == -9.0


@pytest.mark.parametrize(
    "expr", ["__import__('os').system('true')", "x + 1", "(1).real", "2 ** 999999", "[1, 2]", "1 if 1 else 2", "1/0", ""]
)
def test_safe_arithmetic_rejects_code(expr):
    with pytest.raises(UnsafeExpression):
        safe_arithmetic(expr)


def test_is_correct_per_task():
    assert is_correct("math", "( 2.0 + 3.0 )", "( 3.0 + 2.0 )")
    assert not is_correct("math", "import os", "( 3.0 + 2.0 )")
    assert is_correct("nli", " Entailment.", "entailment")
    assert not is_correct("mc", "zoo", "wooded area")
    assert normalise("  Wooded   Area. ") == "wooded area"
    assert math.isclose(safe_arithmetic("7 / 2"), 3.5)


def test_dss_exact_match_is_dss_compute_text_acc_and_compute_equation_acc():
    """DSS's metrics written out (metrics.py): text, np.mean(np.array(preds) == np.array(labels));
    equations, the values compared with ==, an expression that does not evaluate never equal."""
    import numpy as np

    from akd.tasks import dss_correct, is_correct

    preds, labels = ["wooded area", "Wooded area", "wooded area.", "park"], ["wooded area"] * 3 + ["bridge"]
    want = np.array(preds) == np.array(labels)
    assert [dss_correct("mc", p, y) for p, y in zip(preds, labels)] == list(want) == [True, False, False, False]
    assert [is_correct("mc", p, y) for p, y in zip(preds, labels)] == [True, True, True, False]  # ours normalises

    def dss_eval(eq):  # DSS's eval_equation on the test's own fixed strings
        try:
            return eval(eq)  # noqa: S307
        except Exception:
            return np.nan

    eqs = [("( 84.0 / 2.0 )", "84 / 2"), ("0.1 + 0.2", "0.3"), ("( 3 +", "3"), ("10 - 4", "6.0")]
    assert [dss_correct("math", p, y) for p, y in eqs] == [bool(dss_eval(p) == dss_eval(y)) for p, y in eqs] \
        == [True, False, False, True]
    assert is_correct("math", "0.1 + 0.2", "0.3")  # ours: equal within 1e-6
