from akd.rationales import answer_overlap, answer_words, masked_rows, random_rows


def _row(ex_id, words, scores):
    return {"id": ex_id, "words": words, "scores": scores}


def test_answer_words_match_numbers_by_value():
    assert answer_words("( 12.0 - 4.0 )") == {"12.0", "4.0"}
    assert answer_words("wooded area") == {"wooded", "area"}


def test_masked_control_never_contains_answer_words_and_keeps_k():
    rows = [_row("a", ["Eva", "had", "12", "marbles", "sold", "4"], [1.0, 0.1, 9.0, 0.5, 3.0, 8.0])]
    out = masked_rows(rows, {"a": "( 12.0 - 4.0 )"}, 2)[0]
    assert out["words"] == ["Eva", "sold"]  # 12 and 4 are the answer's numbers; the next best fill in
    assert out["positions"] == [0, 4]


def test_random_control_is_seeded_distinct_and_in_input_order():
    rows = [_row(f"e{i}", ["the", "dog", "barks", ".", "loud", "dog"], [0.0] * 6) for i in range(30)]
    a, b = random_rows(rows, 2, seed=0), random_rows(rows, 2, seed=0)
    assert a == b and random_rows(rows, 2, seed=1) != a
    for r in a:
        assert r["positions"] == sorted(r["positions"]) and len(set(w.lower() for w in r["words"])) == 2
        assert "." not in r["words"]
    assert len({tuple(r["positions"]) for r in a}) > 3  # examples get different draws


def test_answer_overlap_counts():
    rows = [_row("a", ["wooded", "area", "zoo", "beaver"], [4.0, 1.0, 3.0, 2.0]),
            _row("b", ["zoo", "beaver", "wooded"], [3.0, 2.0, 1.0])]
    labels = {"a": "wooded area", "b": "wooded area"}
    k1, k2 = answer_overlap(rows, labels, [1, 2])
    assert k1["examples_with_answer_word"] == 0.5 and k1["topk_words_in_answer"] == 0.5
    assert k2["examples_with_answer_word"] == 0.5 and k2["topk_words_in_answer"] == 0.25


def test_topk_similarity_is_one_against_itself(tiny_model, tmp_path):
    import pandas as pd

    from akd import io, schemas
    from akd.attribution import Settings, attribute
    from akd.sources.synthetic import generate
    from akd.analyses import topk_similarity

    model, tok = tiny_model
    df = pd.DataFrame(generate("nli", 6, 0, "test"))
    preds = ["entailment"] * 6
    rows = attribute(model, tok, df.to_dict("records"), preds, Settings(template="dss", prefix="predict: "),
                     show_progress=False)
    same = tmp_path / "same.parquet"
    io.write_parquet(pd.DataFrame(rows), same, schemas.ATTRIBUTIONS)
    sim = {"method": "saliency", "k": 3, "n": 6}
    teacher = io.read_parquet(same, schemas.ATTRIBUTIONS)
    assert topk_similarity(model, tok, df, preds, teacher, "predict: ", sim)["topk_jaccard"] == 1.0
    for r in rows:
        r["scores"] = [-s for s in r["scores"]]  # the opposite ranking
    other = tmp_path / "other.parquet"
    io.write_parquet(pd.DataFrame(rows), other, schemas.ATTRIBUTIONS)
    teacher = io.read_parquet(other, schemas.ATTRIBUTIONS)
    assert topk_similarity(model, tok, df, preds, teacher, "predict: ", sim)["topk_jaccard"] < 0.5


def test_answer_overlap_baselines_draw_from_their_pools():
    mc = {"id": "1", "words": ["which", "is", "a", "fruit", "apple", "hammer"], "scores": [1.0] * 6,
          "word_field": ["question"] * 4 + ["choice0", "choice1"]}
    both = answer_overlap([mc], {"1": "apple"}, [2], baseline="random choice words")[0]
    assert both["examples_with_answer_word"] == 1.0 and both["topk_words_in_answer"] == 0.5  # apple, hammer
    math = {"id": "2", "words": ["Ann", "had", "5", "apples", "and", "found", "3"], "scores": [1.0] * 7,
            "word_field": ["question"] * 7}
    nums = answer_overlap([math], {"2": "( 5.0 + 3.0 )"}, [2], baseline="random numbers")[0]
    assert nums["topk_words_in_answer"] == 1.0  # the two numbers, both in the equation by value
    words = [answer_overlap([math], {"2": "( 5.0 + 3.0 )"}, [1], baseline="random words", seed=s)[0]
             for s in range(40)]
    share = sum(w["examples_with_answer_word"] for w in words) / len(words)
    assert 0.1 < share < 0.6  # 2 of 7 words: drawn at random, not by score
