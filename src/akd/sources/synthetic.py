"""Synthetic tasks written by the project, one per task family, for the embedded default and tests.

In each, the label depends on a few input words hidden among distractor words, so a teacher that
has learnt the task puts its saliency on those words, and a rationale made of them is informative:

- ``nli``: the hypothesis carries one cue word whose class sets the label;
- ``mc``: the question names a category and exactly one choice belongs to it;
- ``math``: a quantity is gained or lost (the verb decides + or -), the label an equation in the
  DSS SVAMP style ``( 12.0 + 5.0 )``.

Each example also gets a template "LLM rationale", so the DSS variant can run offline too.
"""

from __future__ import annotations

import random

from .common import make_example, mc_fields

NOUNS = "fox dog cat bird horse farmer child teacher sailor baker girl boy robot pilot doctor".split()
ADJS = "red old tall small quiet happy green bright lazy young brave".split()
VERBS = "sleeps walks sings waits reads runs sits plays cooks paints".split()
PLACES = "barn park river garden kitchen school market bridge forest station".split()
CUES = {
    "entailment": "surely indeed certainly clearly truly definitely obviously undoubtedly".split(),
    "neutral": "maybe perhaps possibly probably likely presumably seemingly reportedly".split(),
    "contradiction": "never hardly nobody nothing nowhere neither barely scarcely".split(),
}
CATEGORIES = {
    "fruit": "apple banana cherry grape lemon mango peach plum".split(),
    "animal": "tiger zebra whale eagle rabbit wolf camel otter".split(),
    "tool": "hammer wrench saw drill chisel shovel pliers axe".split(),
    "vehicle": "truck bicycle train boat tractor scooter wagon canoe".split(),
    "instrument": "violin drum flute piano guitar trumpet harp cello".split(),
    "color": "purple orange silver violet crimson amber indigo teal".split(),
}
NAMES = "Anna Ben Carla Dan Eva Finn Gina Hugo Iris Jack Kim Leo".split()
ITEMS = "apples stamps marbles books coins shells pencils cards stickers cookies".split()
GAIN = "found bought received won picked collected".split()
LOSS = "lost gave ate sold broke dropped".split()


def _sentence(rng: random.Random) -> str:
    return f"the {rng.choice(ADJS)} {rng.choice(NOUNS)} {rng.choice(VERBS)} near the {rng.choice(PLACES)} ."


def _nli(rng: random.Random) -> tuple[dict, str, list, str]:
    label = rng.choice(list(CUES))
    cue = rng.choice(CUES[label])
    premise = " ".join(_sentence(rng) for _ in range(rng.randint(1, 2)))
    words = _sentence(rng).split()
    words.insert(rng.randint(1, len(words) - 1), cue)
    return {"premise": premise, "hypothesis": " ".join(words)}, label, [], f"The hypothesis says {cue} ."


def _mc(rng: random.Random) -> tuple[dict, str, list, str]:
    cat = rng.choice(list(CATEGORIES))
    answer = rng.choice(CATEGORIES[cat])
    others = [c for c in CATEGORIES if c != cat]
    choices = [answer] + [rng.choice(CATEGORIES[c]) for c in rng.sample(others, 4)]
    rng.shuffle(choices)
    question = f"{_sentence(rng)} which of these is a kind of {cat} ?"
    return mc_fields(question, choices), answer, choices, f"A {answer} is a kind of {cat} ."


def _math(rng: random.Random) -> tuple[dict, str, list, str]:
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    a, b = rng.randint(5, 20), rng.randint(1, 4)
    gain = rng.random() < 0.5
    verb = rng.choice(GAIN if gain else LOSS)
    text = (
        f"{name} had {a} {item} . {_sentence(rng)} then {name} {verb} {b} {item} . "
        f"how many {item} does {name} have now ?"
    )
    op = "+" if gain else "-"
    why = f"{name} {verb} {b} {item} , so we {'add' if gain else 'subtract'} ."
    return {"question": text}, f"( {a:.1f} {op} {b:.1f} )", [], why


GENERATORS = {"nli": _nli, "mc": _mc, "math": _math}


def generate(task: str, n: int, seed: int, split: str) -> list[dict]:
    """``n`` examples of ``task``; a given (seed, split) always gives the same examples."""
    if task not in GENERATORS:
        raise ValueError(f"synthetic task {task!r} unknown; expected one of {sorted(GENERATORS)}")
    rng = random.Random(f"{seed}-{task}-{split}")
    out = []
    for i in range(n):
        fields, label, choices, why = GENERATORS[task](rng)
        out.append(make_example(f"syn-{task}-{split}-{i}", task, fields, label, choices, why, label))
    return out
