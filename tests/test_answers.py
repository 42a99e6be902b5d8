"""Generated answers read into the label space, in the forms real models write them."""

import pytest

from akd.answers import parse_answer

CHOICES = ["ignore", "enforce", "authoritarian", "yell at", "avoid"]


@pytest.mark.parametrize("text, want", [
    ("(d)", "yell at"),  # SmolLM2's letter alone
    ("(d) yell at", "yell at"),  # letter with the text
    ("d) yell at", "yell at"),
    ("D. yell at", "yell at"),
    ("d", "yell at"),
    ("The answer is (b).", "enforce"),
    ("Answer: enforce", "enforce"),
    ("The answer is:\n\n(e) avoid", "avoid"),
    ("yell at", "yell at"),  # the choice's text
    ("They would probably yell at him.", "yell at"),  # inside a sentence
    ("(c) authoritarian\n\nExplanation: ...", "authoritarian"),
    ("a dog barks", None),  # an article is not the letter (a), and no choice is named
    ("none of these", None),
    ("", None),
    ("   ", None),
])
def test_multiple_choice_forms(text, want):
    assert parse_answer("mc", text, CHOICES) == want


@pytest.mark.parametrize("text, want", [
    ("entailment", "entailment"),
    ("Entailment.", "entailment"),
    ("The premise entails the hypothesis.", "entailment"),
    ("True", "entailment"),
    ("Yes, it follows.", "entailment"),
    ("neutral", "neutral"),
    ("Neither", "neutral"),
    ("It is not possible to tell.", "neutral"),
    ("It cannot be determined from the premise.", "neutral"),
    ("contradiction", "contradiction"),
    ("False", "contradiction"),
    ("No, the hypothesis contradicts the premise.", "contradiction"),
    ("The answer is neutral.", "neutral"),
    ("The premise does not entail the hypothesis.", None),  # neutral or contradiction: undecided
    ("I like turtles", None),
    ("", None),
])
def test_nli_forms(text, want):
    assert parse_answer("nli", text) == want


@pytest.mark.parametrize("text, want", [
    ("( 84.0 / 2.0 )", "( 84.0 / 2.0 )"),  # DSS's label form
    ("10 + 45 = 55", "10 + 45"),  # an equation followed by its result: the equation
    ("10 + 45 = 56", "10 + 45"),  # ... even when the result is miscalculated
    ("The answer is (84 / 2).", "(84 / 2)"),
    ("x = 45 + 10", "45 + 10"),
    ("12 * 3 = 36, 36 - 5 = 31", "36 - 5"),  # steps: the last one holds the final value
    ("3 x 4 = 12", "3 * 4"),
    ("$1,200 - 300 = 900", "1200 - 300"),
    ("55", "55"),
    ("The answer is 7.", "7"),
    ("Total = 31", "31"),
    ("There are 5 apples and 3 pears", None),  # numbers, but no equation and no answer
    ("I do not know", None),
    ("", None),
])
def test_math_forms(text, want):
    assert parse_answer("math", text) == want


def test_parsed_equations_are_scored_by_value():
    from akd.tasks import is_correct

    assert is_correct("math", parse_answer("math", "10 + 45 = 56"), "( 45.0 + 10.0 )")
    assert not is_correct("math", parse_answer("math", "10 - 45 = 55"), "( 45.0 + 10.0 )")
