localrules:
    rationales,
    control_rationales,
    attribution_html,
    answer_overlap,


rule rationales:
    """Top-k words of each example, in input order."""
    input:
        f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/attributions/{{method}}/{{split}}.parquet",
    output:
        f"{RESULTS}/{{dataset}}/rationales/{TEACHER}/{{method}}/k{{k}}/{{split}}.parquet",
    params:
        k=lambda w: int(w.k),
        **RATIONALE_FLAGS,
    conda:
        "../../envs/akd.yaml"
    priority: TEACHER_PRIORITY
    log:
        f"{RESULTS}/logs/{{dataset}}/rationales/{TEACHER}/{{method}}/k{{k}}/{{split}}.log",
    script:
        "../scripts/rationales.py"


rule attribution_html:
    """A sample of examples with words shaded by score and the top-k marked, for the report."""
    input:
        examples=f"{RESULTS}/{{dataset}}/data/{{split}}.parquet",
        attributions=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/attributions/{{method}}/{{split}}.parquet",
    output:
        report(
            f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/attributions/{{method}}/{{split}}.html",
            caption="../report/attributions.rst",
            category="Attributions",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "method": "{method}", "split": "{split}"},
        ),
    params:
        k=int(config["rationales"].get("highlight_k", 5)),
        **RATIONALE_FLAGS,
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/{{dataset}}/teacher/{TEACHER}/attribution_html_{{method}}_{{split}}.log",
    script:
        "../scripts/attribution_html.py"


rule control_rationales:
    """Controls: k random words of the same input, or the top-k without any gold-answer word."""
    input:
        attributions=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/attributions/{CONTROL_METHOD}/{{split}}.parquet",
        examples=f"{RESULTS}/{{dataset}}/data/{{split}}.parquet",
    output:
        f"{RESULTS}/{{dataset}}/rationales/{TEACHER}/{{control}}/k{{k}}/{{split}}.parquet",
    params:
        k=lambda w: int(w.k),
        seed=CONTROL_SEED,
        **RATIONALE_FLAGS,
    conda:
        "../../envs/akd.yaml"
    priority: TEACHER_PRIORITY
    log:
        f"{RESULTS}/logs/{{dataset}}/rationales/{TEACHER}/{{control}}/k{{k}}/{{split}}.log",
    script:
        "../scripts/control_rationales.py"


rule answer_overlap:
    """How often the teacher's top-k words are part of the gold answer, per dataset, method and k,
    beside random baselines."""
    input:
        attributions=paths(overlap_items(), "attributions"),
        examples=paths(overlap_items(), "examples"),
    output:
        csv=f"{RESULTS}/tables/answer_overlap.csv",
        md=f"{RESULTS}/tables/answer_overlap.md",
        html=report(f"{RESULTS}/tables/answer_overlap.html", caption="../report/answer_overlap.rst", category="Analyses"),
    params:
        analyses=keys(overlap_items(), "dataset", "method"),
        ks=KS,
        seed=CONTROL_SEED,
        **RATIONALE_FLAGS,
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/answer_overlap.log",
    script:
        "../scripts/answer_overlap.py"
