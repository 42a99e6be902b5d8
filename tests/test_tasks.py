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
    mc = render("mc", {"question": "Q?", **{f"choice{i}": c for i, c in enumerate("abcde")}}, "dss")
    assert mc.text == "Q?\nAnswer Choices:\n(a) a\n(b) b\n(c) c\n(d) d\n(e) e"
    nli = render("nli", {"premise": "P.", "hypothesis": "H."}, "dss")
    assert nli.text == "P. </s> H."
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
