# How good the rationales are, beside k random words of the same input: faithfulness of the top-k
# words to the teacher (ERASER; on when `analyses.faithfulness_examples` > 0) and their agreement
# with people's rationales where the data has them (on with `analyses.plausibility: true`).

localrules:
    faithfulness_table,
    human_rationales,
    plausibility_table,


rule faithfulness:
    """Comprehensiveness and sufficiency of each analysed method's top-k words and of k random
    words, on the same examples (their full prompts scored once)."""
    input:
        model=teacher_input,
        predictions=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/predictions/train.parquet",
        attributions=expand(f"{RESULTS}/{{{{dataset}}}}/teacher/{TEACHER}/attributions/{{method}}/train.parquet",
                            method=ANALYSED_METHODS),
        top=expand(f"{RESULTS}/{{{{dataset}}}}/rationales/{TEACHER}/{{method}}/k{{{{k}}}}/train.parquet",
                   method=ANALYSED_METHODS),
        random=f"{RESULTS}/{{dataset}}/rationales/{TEACHER}/random/k{{k}}/train.parquet",
    output:
        f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/faithfulness/k{{k}}.parquet",
    params:
        model=lambda w: teacher_dir(w.dataset),
        k=lambda w: int(w.k),
        sources=[*ANALYSED_METHODS, "random"],
        words=[*ANALYSED_METHODS, CONTROL_METHOD],  # the attributions each source's positions index
        settings=lambda w: faithfulness_settings(w.dataset),
    threads: threads_of("teacher")
    resources:
        **resources_of("teacher"),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/{{dataset}}/teacher/{TEACHER}/faithfulness_k{{k}}.log",
    script:
        "../scripts/faithfulness.py"


rule faithfulness_table:
    """Per dataset, method, k and source: mean comprehensiveness and sufficiency."""
    input:
        faithfulness=paths(faithfulness_items(), "faithfulness"),
    output:
        csv=f"{RESULTS}/tables/faithfulness.csv",
        md=f"{RESULTS}/tables/faithfulness.md",
        html=report(f"{RESULTS}/tables/faithfulness.html", caption="../report/faithfulness.rst", category="Analyses"),
    params:
        analyses=keys(faithfulness_items(), "dataset", "k"),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/faithfulness_table.log",
    script:
        "../scripts/faithfulness_table.py"


rule human_rationales:
    """People's rationales of the training examples, where the source has them (CoS-E, e-SNLI)."""
    input:
        prepare_inputs,
    output:
        f"{RESULTS}/{{dataset}}/data/human_rationales.parquet",
    params:
        dataset=lambda w: dataset_settings(w.dataset),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/{{dataset}}/human_rationales.log",
    script:
        "../scripts/human_rationales.py"


rule plausibility_table:
    """Per dataset, method, k and source: precision, recall and F1 of the words against people's."""
    input:
        top=paths(plausibility_items(), "top"),
        random=paths(plausibility_items(), "random"),
        human=paths(plausibility_items(), "human"),
        attributions=paths(plausibility_items(), "attributions"),
    output:
        csv=f"{RESULTS}/tables/plausibility.csv",
        md=f"{RESULTS}/tables/plausibility.md",
        html=report(f"{RESULTS}/tables/plausibility.html", caption="../report/plausibility.rst", category="Analyses"),
    params:
        analyses=keys(plausibility_items(), "dataset", "method", "k"),
        seed=CONTROL_SEED,
        **RATIONALE_FLAGS,
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/plausibility_table.log",
    script:
        "../scripts/plausibility_table.py"
