"""The teacher's chain of thought (akd.cot): the few-shot prompt, and its outputs read back in
PaLM's style, in the looser style of a small instruct model, and without an answer."""

from akd.cot import Demo, answer_sentence, cot_prompt, demos_from_rows, parse_cot

CHOICES = ["park", "coloring book", "garden center", "math problem", "gravity"]


def test_palm_style_outputs_parse_as_the_dss_source_parses_them():
    out = ("The question describes a subtraction. So the answer is (d) math problem.\n\n"
           "Q: Where would you find a fox?\nA: ...")
    assert parse_cot("mc", out, CHOICES) == ("The question describes a subtraction.", "math problem")
    assert parse_cot("nli", "A man cannot sleep and run. So the answer is contradiction.\n\nPremise: x",
                     []) == ("A man cannot sleep and run.", "contradiction")
    assert parse_cot("math", "He had 84 and shared them by 2. The answer is (84 / 2).\n\nQ: next",
                     []) == ("He had 84 and shared them by 2.", "(84 / 2)")


def test_smollm2_style_outputs_parse_too():
    # no "So", the choice's text without its letter, the answer on its own line, bold markup
    out = "Three apples fall off a tree, which is arithmetic.\nThe answer is math problem."
    assert parse_cot("mc", out, CHOICES) == ("Three apples fall off a tree, which is arithmetic.", "math problem")
    out = "Apples fall because of **gravity**.\n\nAnswer: (e)"
    assert parse_cot("mc", out, CHOICES) == ("Apples fall because of **gravity**.", "gravity")
    rationale, answer = parse_cot("nli", "The premise does not say where he is. The answer is neutral", [])
    assert (rationale, answer) == ("The premise does not say where he is.", "neutral")
    assert parse_cot("math", "She has 5 + 3 apples, so the answer is 5 + 3 = 8.", [])[1] == "5 + 3"


def test_an_answer_alone_has_no_rationale():
    assert parse_cot("nli", "entailment", []) == ("", "entailment")
    assert parse_cot("nli", "The premise is about a dog.\nneutral", []) == ("The premise is about a dog.", "neutral")


def test_outputs_without_an_answer_are_unparsed():
    assert parse_cot("mc", "I am not sure what the question means.", CHOICES)[1] is None
    assert parse_cot("nli", "", [])[1] is None
    assert parse_cot("mc", "So the answer is (z) a spaceship.", CHOICES)[1] is None


def test_the_prompt_shows_demonstrations_then_asks():
    demos = [(Demo("Q1?\nAnswer Choices:\n(a) x\n(b) y", "Because y.", "y"), ["x", "y"])]
    prompt = cot_prompt("mc", "Q2?\nAnswer Choices:\n(a) u\n(b) v", demos)
    assert prompt == ("Q: Q1?\nAnswer Choices:\n(a) x\n(b) y\nA: Because y. So the answer is (b) y.\n\n"
                      "Q: Q2?\nAnswer Choices:\n(a) u\n(b) v\nA:")
    # a demonstration's answer sentence reads back to its answer
    assert parse_cot("mc", "Because y. " + answer_sentence("mc", "y", ["x", "y"]), ["x", "y"]) == ("Because y.", "y")
    assert answer_sentence("math", "( 1 + 2 )") == "The answer is ( 1 + 2 )."


def test_demonstrations_are_seeded_correct_palm_rows_never_the_example():
    rows = [{"id": str(i), "task": "mc", "input": f"q{i}", "label": "a", "choices": ["a", "b"], "llm_rationale": f"r{i}",
             "llm_label": "a" if i % 2 else "b"} for i in range(10)]
    picked = demos_from_rows(rows, 3, seed=1, exclude="1")
    assert len(picked) == 3 and all(d.answer == "a" and d.input != "q1" for d, _ in picked)
    assert picked == demos_from_rows(rows, 3, seed=1, exclude="1") != demos_from_rows(rows, 3, seed=2, exclude="1")


def test_the_workflow_trains_a_student_on_the_teachers_chains_of_thought(tmp_path):
    """The tiny config with the cot variant: the teacher writes a chain of thought for every
    training example (in two shards on syn-math, merged), a cot student trains on those it could
    read back and reaches the accuracy table."""
    import pandas as pd
    import yaml

    from workflow_helpers import TINY, snakemake

    cfg = yaml.safe_load(TINY.read_text())
    cfg["attribution"]["methods"] = ["saliency"]
    cfg["student"]["variants"] = ["standard", "cot"]
    cfg["teacher"]["cot"] = {"shots": 2, "max_new_tokens": 12}
    path = tmp_path / "cot.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run = snakemake("--cores", "2", "--configfile", str(path), cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    logs = tmp_path / "results/logs"
    assert (logs / "syn-nli/teacher/teacher-nano/cot_train.log").exists()  # one job; two shards, merged:
    assert {p.name for p in (logs / "syn-math/teacher/teacher-nano").glob("*cot*")} == {
        "cot_train-0-of-2.log", "cot_train-1-of-2.log", "merge_cot_train.log"}
    for ds, n in (("syn-nli", 120), ("syn-math", 120)):
        cot = pd.read_parquet(tmp_path / f"results/{ds}/teacher/teacher-nano/cot/train.parquet")
        assert len(cot) == n and cot["prompt"].str.count("\nA:").eq(3).all()  # two demonstrations, then the example
        assert (cot["rationale"].eq("") | cot["parsed"]).all()
    table = pd.read_csv(tmp_path / "results/tables/accuracy.csv")
    assert set(table["variant"]) == {"standard", "cot"}


def test_cot_without_demonstrations_or_llm_rationales_is_a_config_error(tmp_path):
    import yaml

    from workflow_helpers import TINY, documented, snakemake

    cfg = yaml.safe_load(TINY.read_text())
    data = str(tmp_path / "t.jsonl")
    cfg["datasets"] = {"mine": {"source": "file", "task": "nli", "files": {"train": data, "valid": data, "test": data}}}
    (tmp_path / "t.jsonl").write_text('{"premise": "a", "hypothesis": "b", "label": 0}\n')
    cfg["student"]["variants"] = ["cot"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run = snakemake("-n", "--configfile", str(path), cwd=tmp_path)
    assert run.returncode != 0 and "teacher.cot.demos" in run.stdout + run.stderr
    documented("`cot` on data without rationales", run.stdout + run.stderr)


def test_a_letter_that_names_another_choice_than_the_stated_text_gives_the_text():
    # SmolLM2-135M, zero-shot, 3-shot CoT on real CQA: 3 of its first 4 answers put a wrong letter
    # before the choice its rationale argued for ("(c) math problem", where (c) is garden center)
    out = ("The answer must be something that is the opposite of being a park. Of the above choices, only math "
           "problem is the opposite of being a park. So the answer is (c) math problem.\n\nQ: The person ...")
    assert parse_cot("mc", out, CHOICES)[1] == "math problem"
    # a letter with its own choice's text, or with no text, still reads as the letter
    assert parse_cot("mc", "Fruit falls. So the answer is (e) gravity.", CHOICES)[1] == "gravity"
    assert parse_cot("mc", "Fruit falls. So the answer is (e).", CHOICES)[1] == "gravity"
    # text that is no choice leaves the letter in charge
    assert parse_cot("mc", "Fruit falls. So the answer is (e) falling fruit.", CHOICES)[1] == "gravity"
    assert parse_cot("mc", "So the answer is (e) park.", CHOICES[:3])[1] == "park"  # (e) of three choices


def test_a_file_dataset_s_own_rationales_demonstrate_without_config_demos(tmp_path):
    import json

    import yaml

    from akd.config import check
    from akd.cot import usable_rows
    from akd.sources.tabular import load_file
    from workflow_helpers import TINY

    path = tmp_path / "rows.jsonl"
    rows = [{"question": f"Where is thing {i}?", "choices": ["box", "shelf"], "label": "box",
             **({"rationale": "Things go in boxes."} if i % 2 else {})} for i in range(6)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    loaded = load_file(str(path), "mc", None)
    assert [r["id"] for r in usable_rows(loaded)] == ["rows-1", "rows-3", "rows-5"]  # the rows with a rationale
    assert all(r["llm_label"] is None for r in loaded[::2])
    cfg = yaml.safe_load(TINY.read_text())
    cfg["datasets"] = {"mine": {"source": "file", "task": "mc", "files": {"train": str(path), "valid": None,
                                                                          "test": str(path)}, "valid_size": 1}}
    cfg["student"]["variants"] = ["cot"]
    check(cfg)  # no teacher.cot.demos needed
