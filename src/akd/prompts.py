"""The teacher's prompts and candidate answers (torch-free).

A prompt is built from the example's own text (its fields), an instruction per task family, optional
k-shot demonstrations drawn from the training split, and, for an instruction-tuned model, the
tokenizer's chat template.  Only the example's own text is recorded as spans of the final prompt:
instruction, demonstrations and chat markup never compete in the attribution.

Two question formulations, as lm-evaluation-harness and lighteval evaluate models:

- ``choices``: the choices are listed in the prompt (the paper's form; choice words can become
  rationale words); a multiple-choice answer is the choice's text or its letter;
- ``cloze``: the question alone, each choice scored as its continuation (what small models answer
  best); NLI as lm-evaluation-harness's ANLI task asks it: "{premise}\\nQuestion: {hypothesis} True,
  False, or Neither?\\nAnswer:", answered True / Neither / False.

Classification answers are ranked over the label space (``rank``); math answers are generated
(``generate``) and parsed by :mod:`akd.answers`.  The continuation that is scored is exactly the
text that follows the prompt: a space after ``Answer:`` for a decoder-only model without chat, the
bare answer after a chat template's assistant turn or as an encoder-decoder's target.
"""

from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass, field
from typing import Sequence

from .errors import AkdError
from .tasks import CHOICE_LETTERS, NLI_LABELS, Rendered, _join, fields_dict, render

FORMATS = ("choices", "cloze")
ANSWER_MODES = ("rank", "generate")
NORMALISATIONS = ("sum", "tokens", "chars")
CHAT_MODES = ("auto", "on", "off")
#: NLI in the cloze form answers as lm-evaluation-harness's ANLI task does.
NLI_CLOZE = {"entailment": "True", "neutral": "Neither", "contradiction": "False"}
INSTRUCT_NAME = re.compile(r"instruct|chat|-it\b|[-_]it[-_.]|sft|dpo", re.IGNORECASE)


class PromptError(AkdError, ValueError):
    pass


@dataclass(frozen=True)
class PromptSettings:
    template: str = "prompt"  # prompt (instruction per task family) | dss (the student's input as is)
    format: str = "choices"  # choices | cloze
    answer: str | None = None  # rank | generate; None: rank for nli and mc, generate for math
    choice_answer: str = "text"  # mc in the choices form: the choice's text | its letter "(c)"
    normalise: str = "sum"  # rank by summed log-prob | per token | per character of the continuation
    chat: bool = False  # resolved by ``use_chat``
    shots: int = 0
    seed: int = 0

    def __post_init__(self):
        for name, value, allowed in (("template", self.template, ("prompt", "dss")),
                                     ("format", self.format, FORMATS),
                                     ("choice_answer", self.choice_answer, ("text", "letter")),
                                     ("normalise", self.normalise, NORMALISATIONS)):
            if value not in allowed:
                raise PromptError(f"teacher.{name} must be one of {allowed}, got {value!r}")
        if self.answer is not None and self.answer not in ANSWER_MODES:
            raise PromptError(f"teacher.answer must be one of {ANSWER_MODES}, got {self.answer!r}")

    @classmethod
    def from_dict(cls, d: dict, chat: bool = False) -> "PromptSettings":
        return cls(template=d.get("template", "prompt"), format=d.get("format", "choices"),
                   answer=d.get("answer"), choice_answer=d.get("choice_answer", "text"),
                   normalise=d.get("normalise", "sum"), chat=chat, shots=int(d.get("shots", 0) or 0),
                   seed=int(d.get("shot_seed", 0) or 0))

    def mode(self, task: str) -> str:
        return answer_mode(task, self.answer)


def answer_mode(task: str, answer: str | None) -> str:
    if answer is None:
        return "generate" if task == "math" else "rank"
    if answer == "rank" and task == "math":
        raise PromptError("teacher.answer: rank needs a label space (nli or mc); math answers are generated")
    return answer


def use_chat(setting: str | bool | None, tokenizer, model_name: str = "") -> bool:
    """Whether prompts go through the tokenizer's chat template.

    ``on``: always (an error when the tokenizer has none); ``off``: never; ``auto``: when the
    tokenizer has a chat template and the model's name (spec, folder or GGUF file) says it is
    instruction-tuned (instruct, chat, -it, sft, dpo), since base models often ship a template too.
    """
    setting = {True: "on", False: "off", None: "auto"}.get(setting, setting)  # type: ignore[arg-type]
    if setting not in CHAT_MODES:
        raise PromptError(f"teacher.chat must be one of {CHAT_MODES}, got {setting!r}")
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if setting == "off":
        return False
    if setting == "on":
        if not has_template:
            raise PromptError("teacher.chat is on, but the teacher's tokenizer has no chat template")
        return True
    return has_template and bool(INSTRUCT_NAME.search(model_name or ""))


@dataclass(frozen=True)
class Answer:
    """One candidate answer: its label-space text and the text the teacher says (scored)."""

    label: str
    said: str


@dataclass
class TeacherPrompt:
    text: str
    spans: tuple[tuple[str, int, int], ...]
    candidates: list[Answer] = field(default_factory=list)  # empty when the answer is generated
    gold: str = ""  # the gold label as the teacher would say it
    chat: bool = False
    decoder_only: bool = False

    def continuation(self, said: str) -> str:
        """The exact text that follows the prompt for an answer ``said`` (what is scored)."""
        return continuation(said, self.decoder_only, self.chat)

    def rendered(self) -> Rendered:
        return Rendered(self.text, self.spans)


def continuation(said: str, decoder_only: bool, chat: bool) -> str:
    said = said.strip()
    return " " + said if decoder_only and not chat else said


# --------------------------------------------------------------------------------- the body

def _choices(fields: dict[str, str]) -> list[str]:
    return [fields[k] for k in sorted((k for k in fields if k.startswith("choice")), key=lambda k: int(k[6:]))]


def _body(task: str, fields: dict[str, str], s: PromptSettings, eos: str) -> tuple[str, Rendered, str, list[Answer]]:
    """(instruction, body with spans, answer cue, candidate answers) of one example."""
    if s.template == "dss":
        body = render(task, fields, "dss", eos)
        return "", body, "", _candidates(task, fields, s)
    if task == "nli":
        p, h = fields["premise"], fields["hypothesis"]
        if s.format == "cloze":
            body = _join([("premise", p), (None, "\nQuestion: "), ("hypothesis", h), (None, " True, False, or Neither?")])
            return "", body, "\nAnswer:", _candidates(task, fields, s)
        body = _join([(None, "Premise: "), ("premise", p), (None, "\nHypothesis: "), ("hypothesis", h)])
        return ("Does the premise entail the hypothesis? Answer with one word: entailment, neutral or contradiction.",
                body, "\nAnswer:", _candidates(task, fields, s))
    if task == "mc":
        pieces: list[tuple[str | None, str]] = [(None, "Question: "), ("question", fields["question"])]
        if s.format == "cloze":
            return "", _join(pieces), "\nAnswer:", _candidates(task, fields, s)
        pieces.append((None, "\nAnswer Choices:"))
        for i, c in enumerate(_choices(fields)):
            pieces += [(None, f"\n({CHOICE_LETTERS[i]}) "), (f"choice{i}", c)]
        what = "the letter of" if s.choice_answer == "letter" else "the text of"
        return f"Answer the question with {what} one of the answer choices.", _join(pieces), "\nAnswer:", \
            _candidates(task, fields, s)
    if task == "math":
        body = _join([(None, "Question: "), ("question", fields["question"])])
        return ("Write an equation that answers the question, using the numbers in the question and + - * /. "
                "Give only the equation.", body, "\nEquation:", [])
    raise PromptError(f"unknown task {task!r}")


def _candidates(task: str, fields: dict[str, str], s: PromptSettings) -> list[Answer]:
    if task == "nli":
        if s.format == "cloze" and s.template == "prompt":
            return [Answer(lab, NLI_CLOZE[lab]) for lab in NLI_LABELS]
        return [Answer(lab, lab) for lab in NLI_LABELS]
    if task == "mc":
        choices = _choices(fields)
        if s.choice_answer == "letter" and s.format == "choices" and s.template == "prompt":
            return [Answer(c, f"({CHOICE_LETTERS[i]})") for i, c in enumerate(choices)]
        return [Answer(c, c) for c in choices]
    return []


def said_for(answers: Sequence[Answer], label: str) -> str:
    """How the teacher would say ``label`` (its candidate's text; the label itself when generated)."""
    for a in answers:
        if a.label == label:
            return a.said
    return label


# ------------------------------------------------------------------------------- assembling

def demonstrations(example_id: str, pool: Sequence[dict], shots: int, seed: int) -> list[dict]:
    """``shots`` training examples for one example, seeded by the example's id, never itself."""
    if shots <= 0:
        return []
    others = [e for e in pool if e["id"] != example_id]
    if len(others) < shots:
        raise PromptError(f"teacher.shots is {shots}, but the training split has only {len(others)} other examples")
    rng = random.Random(zlib.crc32(f"{seed}:{example_id}".encode()))
    return rng.sample(list(others), shots)


def build_prompt(example: dict, s: PromptSettings, tokenizer=None, decoder_only: bool = False,
                 pool: Sequence[dict] = ()) -> TeacherPrompt:
    """The teacher's prompt for one example (``example``: a row of the examples table)."""
    eos = (getattr(tokenizer, "eos_token", None) or "</s>") if tokenizer is not None else "</s>"
    task, fields = example["task"], fields_dict(example["fields"])
    instruction, body, cue, candidates = _body(task, fields, s, eos)
    demos = []
    for d in demonstrations(example["id"], pool, s.shots, s.seed):
        _, dbody, _, dcands = _body(d["task"], fields_dict(d["fields"]), s, eos)
        demos.append((dbody.text, said_for(dcands, d["label"])))
    gold = said_for(candidates, example["label"])
    if s.chat:
        if tokenizer is None:
            raise PromptError("a chat prompt needs the tokenizer")
        head = instruction + "\n\n" if instruction else ""
        messages: list[dict] = []
        for text, said in demos:
            messages += [{"role": "user", "content": head + text}, {"role": "assistant", "content": said}]
            head = ""
        content = head + body.text
        messages.append({"role": "user", "content": content})
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        at = text.rfind(content)
        if at < 0:
            raise PromptError("the chat template changed the example's text; set teacher.chat: off")
        offset = at + len(head)
    else:
        head = instruction + "\n\n" if instruction else ""
        for dtext, said in demos:
            head += f"{dtext}{cue} {said}\n\n" if cue else f"{dtext}\n{said}\n\n"
        text = head + body.text + cue
        offset = len(head)
    spans = tuple((f, a + offset, b + offset) for f, a, b in body.spans)
    return TeacherPrompt(text, spans, candidates, gold, s.chat, decoder_only)


def chance_level(task: str, n_choices: Sequence[int] = ()) -> float:
    """Accuracy of guessing uniformly in the label space (0 for math, which has none)."""
    if task == "nli":
        return 1.0 / len(NLI_LABELS)
    if task == "mc":
        return float(sum(1.0 / n for n in n_choices) / len(n_choices)) if len(n_choices) else 0.0
    return 0.0
