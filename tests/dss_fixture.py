"""Writes a small folder in the DSS release layout (real field names, PaLM-style outputs)."""

import json
from pathlib import Path

CQA = [
    {"id": f"cqa{i}", "question": f"A beaver number {i} gets its supplies from where?",
     "choices": ["british columbia", "body of water", "wooded area", "pay debts", "zoo"], "answer": "wooded area",
     "abstractive_explanation": "Beavers use wood.", "extractive_explanation": "supplies"}
    for i in range(6)
]
CQA_LLM = [
    "The answer must be where beavers get supplies. Only wooded areas have wood. So the answer is (c) wooded area."
    "\n\nQ: What is the best way to get rid of a bad smell?\nAnswer Choices:\n(a) air freshener\nA: So the answer is (a)"
] * 5 + ["I am not sure what to say here."]
SVAMP = [{"input": f"Luke scored {84 + i} points after playing 2 rounds.\nHow many points per round?",
          "label": f"( {84 + i}.0 / 2.0 )"} for i in range(6)]
SVAMP_LLM = ["He scored 84 points in 2 rounds. 84 / 2 = 42. The answer is (84 / 2).\n\nQ: There are 120 students."
             "\nA: The answer is (120 /"] * 6
NLI = [{"premise": f"Two women are embracing {i}.", "hypothesis": "The sisters are hugging.", "label": i % 3,
        "explanation_1": "e1", "explanation_2": "e2", "explanation_3": "e3"} for i in range(6)]
ESNLI_LLM = ["The to go packages are not necessarily from lunch.\nAnswer: neutral\n\nPremise: Two women.\n"
             "Hypothesis: x\nReasonings: blah\nAnswer: entailment"] * 6
ANLI = [{"uid": f"u{i}", "premise": f"Ernest Jones {i} is a jeweller.", "hypothesis": "It is in Europe.",
         "label": i % 3, "reason": "r"} for i in range(6)]
ANLI_LLM = ["The premise mentions London. So the answer is contradiction.\n\nPremise: The season.\nHypothesis: x\n"
            "Answer: So the answer is entailment."] * 6


def _jsonl(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def write_dss(root: Path) -> Path:
    """cqa/svamp: train+test; esnli: valid+test only (as offline); anli1: all three."""
    for name, rows, llm, splits in [
        ("cqa", CQA, CQA_LLM, ["train", "test"]),
        ("svamp", SVAMP, SVAMP_LLM, ["train", "test"]),
        ("esnli", NLI, ESNLI_LLM, ["valid", "test"]),
        ("anli1", ANLI, ANLI_LLM, ["train", "valid", "test"]),
    ]:
        for split in splits:
            _jsonl(root / name / f"{name}_{split}.json", rows)
            # outputs split over two files, as DSS does (numeric order: 0 then 1)
            (root / name / "llm").mkdir(parents=True, exist_ok=True)
            (root / name / "llm" / f"{split}_CoT_0.json").write_text(json.dumps(llm[:4]))
            (root / name / "llm" / f"{split}_CoT_1.json").write_text(json.dumps(llm[4:]))
    return root
